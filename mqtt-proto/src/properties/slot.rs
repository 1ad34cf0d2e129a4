//! How each property value type is read (borrowed form) and written (owned form). The value's
//! rules that depend on the property (non-zero, 0 or 1) are checked from its identifier.

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};

use crate::bytestr::ByteStr;
use crate::error::{DecodeError, EncodeError};
use crate::header::QoS;
use crate::storage::{Borrowed, FromRaw, IntoOwned, Owned, SeqRef};
use crate::varint;
use crate::wire::{self, bad, PResult};

use super::id;

/// A User Property: a UTF-8 string pair; the same key may appear more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProperty<S: crate::Storage = Owned> {
    /// Key.
    pub key: S::Str,
    /// Value.
    pub value: S::Str,
}

impl UserProperty<Owned> {
    /// A property from anything string-like.
    pub fn new(key: impl Into<ByteStr>, value: impl Into<ByteStr>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl<'a> IntoOwned for UserProperty<Borrowed<'a>> {
    type Owned = UserProperty<Owned>;
    fn into_owned(self, frame: &Bytes) -> UserProperty<Owned> {
        UserProperty {
            key: self.key.into_owned(frame),
            value: self.value.into_owned(frame),
        }
    }
}

/// Skips to the next property `wanted` in a validated block and returns its value bytes.
fn next_with_id<'a>(raw: &mut &'a [u8], wanted: u8) -> Option<&'a [u8]> {
    while !raw.is_empty() {
        let (rest, pid) = wire::varint(raw).ok()?;
        let (rest, value) = skip_value(pid as u8, rest)?;
        *raw = rest;
        if pid as u8 == wanted {
            return Some(value);
        }
    }
    None
}

/// Splits the value of property `pid` off `input`: `(rest, value bytes)`.
fn skip_value(pid: u8, input: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = match pid {
        id::USER_PROPERTY => {
            let (r, _) = wire::binary(input).ok()?;
            let (r, _) = wire::binary(r).ok()?;
            input.len() - r.len()
        }
        id::SUBSCRIPTION_IDENTIFIER => varint::parse_streaming(input).ok()??.1,
        _ => match id::width(pid)? {
            id::Width::Fixed(n) => n,
            id::Width::Prefixed => {
                2 + usize::from(u16::from_be_bytes([*input.first()?, *input.get(1)?]))
            }
        },
    };
    (len <= input.len()).then(|| (&input[len..], &input[..len]))
}

impl<'a> FromRaw<'a> for UserProperty<Borrowed<'a>> {
    fn next_from(raw: &mut &'a [u8]) -> Option<Self> {
        let value = next_with_id(raw, id::USER_PROPERTY)?;
        let (r, key) = wire::string(value).ok()?;
        let (_, value) = wire::string(r).ok()?;
        Some(Self { key, value })
    }
}

impl<'a> FromRaw<'a> for u32 {
    /// Subscription Identifiers inside a property block.
    fn next_from(raw: &mut &'a [u8]) -> Option<Self> {
        let value = next_with_id(raw, id::SUBSCRIPTION_IDENTIFIER)?;
        varint::parse_streaming(value).ok()?.map(|(v, _)| v)
    }
}

/// A borrowed property field, filled while a block is decoded.
pub(crate) trait Slot<'a> {
    /// Reads the value of property `pid` from `input`. `block` is the whole property block
    /// (lists keep it and re-read it lazily).
    fn decode(&mut self, pid: u8, input: &'a [u8], block: &'a [u8]) -> PResult<'a, ()>;
}

fn once<T>(slot: Option<&T>, pid: u8) -> Result<(), nom::Err<wire::Fail>> {
    if slot.is_some() {
        return Err(nom::Err::Failure(
            DecodeError::DuplicateProperty(pid).into(),
        ));
    }
    Ok(())
}

fn invalid<'a, T>(pid: u8, value: u32) -> PResult<'a, T> {
    bad(DecodeError::InvalidPropertyValue { id: pid, value })
}

impl<'a> Slot<'a> for Option<bool> {
    fn decode(&mut self, pid: u8, input: &'a [u8], _: &'a [u8]) -> PResult<'a, ()> {
        once(self.as_ref(), pid)?;
        let (rest, v) = wire::u8(input)?;
        if v > 1 {
            return invalid(pid, v.into());
        }
        *self = Some(v == 1);
        Ok((rest, ()))
    }
}

impl<'a> Slot<'a> for Option<QoS> {
    /// Maximum QoS: 0 or 1 only.
    fn decode(&mut self, pid: u8, input: &'a [u8], _: &'a [u8]) -> PResult<'a, ()> {
        once(self.as_ref(), pid)?;
        let (rest, v) = wire::u8(input)?;
        *self = Some(match v {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            _ => return invalid(pid, v.into()),
        });
        Ok((rest, ()))
    }
}

impl<'a> Slot<'a> for Option<u16> {
    fn decode(&mut self, pid: u8, input: &'a [u8], _: &'a [u8]) -> PResult<'a, ()> {
        once(self.as_ref(), pid)?;
        let (rest, v) = wire::u16(input)?;
        if v == 0 && id::must_be_non_zero(pid) {
            return invalid(pid, 0);
        }
        *self = Some(v);
        Ok((rest, ()))
    }
}

impl<'a> Slot<'a> for Option<u32> {
    fn decode(&mut self, pid: u8, input: &'a [u8], _: &'a [u8]) -> PResult<'a, ()> {
        once(self.as_ref(), pid)?;
        let (rest, v) = if pid == id::SUBSCRIPTION_IDENTIFIER {
            wire::varint(input)?
        } else {
            wire::u32(input)?
        };
        if v == 0 && id::must_be_non_zero(pid) {
            return invalid(pid, 0);
        }
        *self = Some(v);
        Ok((rest, ()))
    }
}

impl<'a> Slot<'a> for Option<&'a str> {
    fn decode(&mut self, pid: u8, input: &'a [u8], _: &'a [u8]) -> PResult<'a, ()> {
        once(self.as_ref(), pid)?;
        let (rest, v) = wire::string(input)?;
        *self = Some(v);
        Ok((rest, ()))
    }
}

impl<'a> Slot<'a> for Option<&'a [u8]> {
    fn decode(&mut self, pid: u8, input: &'a [u8], _: &'a [u8]) -> PResult<'a, ()> {
        once(self.as_ref(), pid)?;
        let (rest, v) = wire::binary(input)?;
        *self = Some(v);
        Ok((rest, ()))
    }
}

impl<'a> Slot<'a> for SeqRef<'a, u32> {
    /// Subscription Identifiers in PUBLISH: may repeat, each 1..=268 435 455.
    fn decode(&mut self, pid: u8, input: &'a [u8], block: &'a [u8]) -> PResult<'a, ()> {
        let (rest, v) = wire::varint(input)?;
        if v == 0 {
            return invalid(pid, 0);
        }
        *self = SeqRef::new(block);
        Ok((rest, ()))
    }
}

impl<'a> Slot<'a> for SeqRef<'a, UserProperty<Borrowed<'a>>> {
    fn decode(&mut self, _: u8, input: &'a [u8], block: &'a [u8]) -> PResult<'a, ()> {
        let (rest, _) = wire::string(input)?;
        let (rest, _) = wire::string(rest)?;
        *self = SeqRef::new(block);
        Ok((rest, ()))
    }
}

/// An owned property field, written while a block is encoded.
pub(crate) trait OwnedSlot {
    /// Bytes this field takes (identifiers included), after checking the sender's rules.
    fn wire_len(&self, pid: u8) -> Result<usize, EncodeError>;
    /// Writes the field; `wire_len` was checked first.
    fn put(&self, pid: u8, buf: &mut impl BufMut);
}

fn check_non_zero(pid: u8, v: u32) -> Result<(), EncodeError> {
    if v == 0 && id::must_be_non_zero(pid) {
        return Err(EncodeError::InvalidPropertyValue { id: pid, value: 0 });
    }
    Ok(())
}

impl OwnedSlot for Option<bool> {
    fn wire_len(&self, _: u8) -> Result<usize, EncodeError> {
        Ok(self.map_or(0, |_| 2))
    }
    fn put(&self, pid: u8, buf: &mut impl BufMut) {
        if let Some(v) = self {
            buf.put_u8(pid);
            buf.put_u8(u8::from(*v));
        }
    }
}

impl OwnedSlot for Option<QoS> {
    fn wire_len(&self, pid: u8) -> Result<usize, EncodeError> {
        match self {
            Some(QoS::ExactlyOnce) => Err(EncodeError::InvalidPropertyValue { id: pid, value: 2 }),
            Some(_) => Ok(2),
            None => Ok(0),
        }
    }
    fn put(&self, pid: u8, buf: &mut impl BufMut) {
        if let Some(v) = self {
            buf.put_u8(pid);
            buf.put_u8(*v as u8);
        }
    }
}

impl OwnedSlot for Option<u16> {
    fn wire_len(&self, pid: u8) -> Result<usize, EncodeError> {
        let Some(v) = self else { return Ok(0) };
        check_non_zero(pid, u32::from(*v))?;
        Ok(3)
    }
    fn put(&self, pid: u8, buf: &mut impl BufMut) {
        if let Some(v) = self {
            buf.put_u8(pid);
            buf.put_u16(*v);
        }
    }
}

impl OwnedSlot for Option<u32> {
    fn wire_len(&self, pid: u8) -> Result<usize, EncodeError> {
        let Some(v) = self else { return Ok(0) };
        check_non_zero(pid, *v)?;
        if pid == id::SUBSCRIPTION_IDENTIFIER {
            sub_id_len(*v)
        } else {
            Ok(5)
        }
    }
    fn put(&self, pid: u8, buf: &mut impl BufMut) {
        if let Some(v) = self {
            buf.put_u8(pid);
            if pid == id::SUBSCRIPTION_IDENTIFIER {
                varint::put(buf, *v);
            } else {
                buf.put_u32(*v);
            }
        }
    }
}

fn sub_id_len(v: u32) -> Result<usize, EncodeError> {
    if v == 0 || v > varint::MAX {
        return Err(EncodeError::InvalidPropertyValue {
            id: id::SUBSCRIPTION_IDENTIFIER,
            value: v,
        });
    }
    Ok(1 + varint::encoded_len(v))
}

impl OwnedSlot for Option<ByteStr> {
    fn wire_len(&self, _: u8) -> Result<usize, EncodeError> {
        self.as_ref()
            .map_or(Ok(0), |s| Ok(1 + wire::string_len(s.as_bytes())?))
    }
    fn put(&self, pid: u8, buf: &mut impl BufMut) {
        if let Some(v) = self {
            buf.put_u8(pid);
            wire::put_prefixed(buf, v.as_bytes());
        }
    }
}

impl OwnedSlot for Option<Bytes> {
    fn wire_len(&self, _: u8) -> Result<usize, EncodeError> {
        self.as_ref()
            .map_or(Ok(0), |b| Ok(1 + wire::binary_len(b)?))
    }
    fn put(&self, pid: u8, buf: &mut impl BufMut) {
        if let Some(v) = self {
            buf.put_u8(pid);
            wire::put_prefixed(buf, v);
        }
    }
}

// The lists are inlined up to their emptiness test (usually empty: a call each cost more than
// the test, measured with callgrind on an MQTT 5 PUBLISH encode).
impl OwnedSlot for Vec<u32> {
    #[inline]
    fn wire_len(&self, _: u8) -> Result<usize, EncodeError> {
        if self.is_empty() {
            return Ok(0);
        }
        self.iter().map(|v| sub_id_len(*v)).sum()
    }
    #[inline]
    fn put(&self, pid: u8, buf: &mut impl BufMut) {
        for v in self {
            buf.put_u8(pid);
            varint::put(buf, *v);
        }
    }
}

impl OwnedSlot for Vec<UserProperty<Owned>> {
    #[inline]
    fn wire_len(&self, _: u8) -> Result<usize, EncodeError> {
        if self.is_empty() {
            return Ok(0);
        }
        user_properties_len(self)
    }
    #[inline]
    fn put(&self, pid: u8, buf: &mut impl BufMut) {
        if !self.is_empty() {
            put_user_properties(self, pid, buf);
        }
    }
}

fn user_properties_len(list: &[UserProperty<Owned>]) -> Result<usize, EncodeError> {
    list.iter()
        .map(|p| {
            Ok(1 + wire::string_len(p.key.as_bytes())? + wire::string_len(p.value.as_bytes())?)
        })
        .sum()
}

fn put_user_properties(list: &[UserProperty<Owned>], pid: u8, buf: &mut impl BufMut) {
    for p in list {
        buf.put_u8(pid);
        wire::put_prefixed(buf, p.key.as_bytes());
        wire::put_prefixed(buf, p.value.as_bytes());
    }
}
