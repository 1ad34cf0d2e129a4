//! One set of packet types, two ways to hold their data.
//!
//! Every packet struct is generic over a [`Storage`]: [`Borrowed`] holds `&str` / `&[u8]` views
//! into the input (no allocation at all, lists are lazy [`SeqRef`] views), [`Owned`] holds
//! [`ByteStr`] / [`Bytes`] slices of the received frame (zero copy, `'static`) and `Vec` lists.
//! The decoder always parses the borrowed form; the owned form is derived from it with
//! [`IntoOwned`], so both share one parser.

use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use bytes::Bytes;

use crate::boxed::Boxed;
use crate::bytestr::ByteStr;
use crate::topic_strings::{TopicFilter, TopicName};

/// How a packet holds its strings, binary data and lists.
pub trait Storage: Clone + fmt::Debug + PartialEq + Eq {
    /// A UTF-8 string.
    type Str: Clone + fmt::Debug + PartialEq + Eq + AsRef<str>;
    /// A topic name, checked (by the decoder, or when a [`TopicName`] is built).
    type Topic: Clone + fmt::Debug + PartialEq + Eq + AsRef<str>;
    /// A topic filter, checked (by the decoder, or when a [`TopicFilter`] is built).
    type Filter: Clone + fmt::Debug + PartialEq + Eq + AsRef<str>;
    /// Binary data.
    type Bin: Clone + fmt::Debug + PartialEq + Eq + AsRef<[u8]>;
    /// A list of `T`.
    type Seq<T: Clone + fmt::Debug + PartialEq + Eq>: Clone + fmt::Debug + PartialEq + Eq + Default;
    /// A part most packets lack (PUBLISH, CONNECT and will properties): in the borrowed form a
    /// [`LazyRef<T>`] (the validated raw bytes, read when asked for: the view stays small), in
    /// the owned form a [`Boxed<T>`] (a pointer, null when absent).
    type Rare<T: Clone + fmt::Debug + PartialEq + Eq + Default>: Clone
        + fmt::Debug
        + PartialEq
        + Eq
        + Default;
}

/// Views into the decoder's input, with lifetime `'a`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Borrowed<'a>(PhantomData<&'a [u8]>);

/// Self-contained values that share the received frame's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owned;

impl<'a> Storage for Borrowed<'a> {
    type Str = &'a str;
    type Topic = &'a str;
    type Filter = &'a str;
    type Bin = &'a [u8];
    type Seq<T: Clone + fmt::Debug + PartialEq + Eq> = SeqRef<'a, T>;
    type Rare<T: Clone + fmt::Debug + PartialEq + Eq + Default> = LazyRef<'a, T>;
}

impl Storage for Owned {
    type Str = ByteStr;
    type Topic = TopicName;
    type Filter = TopicFilter;
    type Bin = Bytes;
    type Seq<T: Clone + fmt::Debug + PartialEq + Eq> = Vec<T>;
    type Rare<T: Clone + fmt::Debug + PartialEq + Eq + Default> = Boxed<T>;
}

/// An item that can be read back from a validated raw region (see [`SeqRef`]).
pub trait FromRaw<'a>: Sized {
    /// Reads the next item, advancing `raw`; `None` at the end.
    fn next_from(raw: &mut &'a [u8]) -> Option<Self>;

    /// Moves `raw` past the next item without reading it; `false` at the end. The default
    /// reads it; items with a length prefix skip by the length alone.
    fn skip(raw: &mut &'a [u8]) -> bool {
        Self::next_from(raw).is_some()
    }
}

/// A lazily decoded list: the raw bytes of a list that the decoder has already validated.
/// Iterating it allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SeqRef<'a, T> {
    raw: &'a [u8],
    item: PhantomData<fn() -> T>,
}

impl<'a, T> SeqRef<'a, T> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Self {
            raw,
            item: PhantomData,
        }
    }

    /// The raw, validated bytes of the list.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }
}

impl<'a, T: FromRaw<'a>> SeqRef<'a, T> {
    /// The items, decoded as they are visited.
    pub fn iter(&self) -> SeqIter<'a, T> {
        SeqIter {
            raw: self.raw,
            item: PhantomData,
        }
    }

    /// Number of items (walks the list, skipping over each item without decoding it).
    pub fn len(&self) -> usize {
        let mut raw = self.raw;
        let mut n = 0;
        while T::skip(&mut raw) {
            n += 1;
        }
        n
    }

    /// True when the list has no item.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl<T> fmt::Debug for SeqRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeqRef").field("raw", &self.raw).finish()
    }
}

impl<T> Default for SeqRef<'_, T> {
    fn default() -> Self {
        Self::new(&[])
    }
}

/// A lazily read part of a borrowed packet: the raw bytes the decoder has already validated
/// (empty when the part is absent), read into a `T` by `get` when asked for (PUBLISH
/// and CONNECT properties: [`LazyRef::get`](LazyRef#method.get)). Two are equal when their
/// bytes are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LazyRef<'a, T>(SeqRef<'a, T>);

impl<'a, T> LazyRef<'a, T> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Self(SeqRef::new(raw))
    }

    /// The raw, validated bytes (empty when the part is absent).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0.as_bytes()
    }

    /// True when the part is absent (or empty).
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl<T> fmt::Debug for LazyRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyRef")
            .field("raw", &self.as_bytes())
            .finish()
    }
}

impl<T> Default for LazyRef<'_, T> {
    fn default() -> Self {
        Self(SeqRef::default())
    }
}

/// Iterator over a [`SeqRef`].
#[derive(Debug, Clone)]
pub struct SeqIter<'a, T> {
    raw: &'a [u8],
    item: PhantomData<fn() -> T>,
}

impl<'a, T: FromRaw<'a>> Iterator for SeqIter<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        T::next_from(&mut self.raw)
    }
}

impl<'a, T: FromRaw<'a>> IntoIterator for &SeqRef<'a, T> {
    type Item = T;
    type IntoIter = SeqIter<'a, T>;
    fn into_iter(self) -> SeqIter<'a, T> {
        self.iter()
    }
}

impl<'a, T: FromRaw<'a>> IntoIterator for SeqRef<'a, T> {
    type Item = T;
    type IntoIter = SeqIter<'a, T>;
    fn into_iter(self) -> SeqIter<'a, T> {
        self.iter()
    }
}

/// Conversion of a borrowed value into its owned form, sharing `frame`'s memory: `frame` must be
/// the buffer the borrowed value was decoded from.
pub trait IntoOwned {
    /// The owned form.
    type Owned;
    /// Converts, slicing `frame` where the value points into it (copying otherwise).
    fn into_owned(self, frame: &Bytes) -> Self::Owned;
}

/// The part of `frame` that `part` views, without copying; a copy if `part` lies elsewhere.
pub(crate) fn share(frame: &Bytes, part: &[u8]) -> Bytes {
    let start = (part.as_ptr() as usize).wrapping_sub(frame.as_ptr() as usize);
    match start.checked_add(part.len()) {
        Some(end) if start <= frame.len() && end <= frame.len() && !part.is_empty() => {
            frame.slice(start..end)
        }
        _ => Bytes::copy_from_slice(part),
    }
}

impl IntoOwned for &str {
    type Owned = ByteStr;
    fn into_owned(self, frame: &Bytes) -> ByteStr {
        ByteStr::from_utf8_bytes(share(frame, self.as_bytes()))
    }
}

impl IntoOwned for &[u8] {
    type Owned = Bytes;
    fn into_owned(self, frame: &Bytes) -> Bytes {
        share(frame, self)
    }
}

impl<T: IntoOwned> IntoOwned for Option<T> {
    type Owned = Option<T::Owned>;
    fn into_owned(self, frame: &Bytes) -> Self::Owned {
        self.map(|v| v.into_owned(frame))
    }
}

impl<'a, T: FromRaw<'a> + IntoOwned> SeqRef<'a, T> {
    /// The owned items of a non-empty list: counted first, for one allocation of the right
    /// size instead of a vector growing as it goes.
    fn owned_list(self, frame: &Bytes) -> Vec<T::Owned> {
        let mut owned = Vec::with_capacity(self.len());
        owned.extend(self.iter().map(|v| v.into_owned(frame)));
        owned
    }
}

impl<'a, T: FromRaw<'a> + IntoOwned> IntoOwned for SeqRef<'a, T> {
    type Owned = Vec<T::Owned>;
    #[inline]
    fn into_owned(self, frame: &Bytes) -> Self::Owned {
        if self.raw.is_empty() {
            return Vec::new();
        }
        self.owned_list(frame)
    }
}

macro_rules! owned_as_is {
    ($($t:ty),*) => {$(
        impl IntoOwned for $t {
            type Owned = $t;
            fn into_owned(self, _: &Bytes) -> $t {
                self
            }
        }
    )*};
}

owned_as_is!(
    bool,
    u8,
    u16,
    u32,
    crate::header::QoS,
    crate::reason::ReasonCode
);
