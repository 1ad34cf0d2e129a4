//! Writers of whole frames straight into a `BytesMut`'s spare room, with one reservation and
//! one bounds check a frame: the plain encoders' (PUBLISH, SUBSCRIBE, CONNECT) and the general
//! ones' [`Room`].

use core::mem::MaybeUninit;

use bytes::{BufMut, BytesMut};

use crate::varint;

/// Appends exactly `total` bytes, written by `put`, straight into `buf`'s spare room: the
/// writes are plain stores into a slice instead of one out-of-line `BytesMut` call each
/// (measured: a 64 B PUBLISH 28 → 24 ns, SUBSCRIBE-10 216 → 175 ns, MQTT 5 PUBLISH 53 → 48 ns).
/// `put` writes through [`Room`], which only moves past what it writes; writing more than
/// `total` panics there (the sizes were computed first: a mismatch is a bug of ours). What it
/// wrote is kept.
#[inline]
pub(crate) fn put_in_place(buf: &mut BytesMut, total: usize, put: impl FnOnce(&mut Room<'_>)) {
    let written: Result<(), core::convert::Infallible> = try_put_in_place(buf, total, |room| {
        put(room);
        Ok(())
    });
    let Ok(()) = written;
}

/// [`put_in_place`] for a writer that may fail half-way (an encoder that checks as it
/// writes): on an error nothing is appended.
#[inline]
pub(crate) fn try_put_in_place<E>(
    buf: &mut BytesMut,
    total: usize,
    put: impl FnOnce(&mut Room<'_>) -> Result<(), E>,
) -> Result<(), E> {
    buf.reserve(total);
    let len = buf.len();
    let mut room = Room(&mut buf.spare_capacity_mut()[..total]);
    put(&mut room)?;
    let written = total - room.0.len();
    debug_assert_eq!(written, total, "encoded size differs from the computed one");
    #[allow(unsafe_code)]
    // SAFETY: `room` started as the first `total` bytes of the spare capacity and moved its
    // start only through `BufMut` writes, past exactly the bytes written (its slice is
    // private to this module), so the `written` bytes after `len` are initialized, and they
    // are within the capacity: what `set_len` requires.
    unsafe {
        buf.set_len(len + written);
    }
    Ok(())
}

/// Appends one frame made of five parts — `head` (its first `head_len` bytes), `topic`, `mid`
/// (its first `mid_len` bytes), `extra_len` bytes written by `extra` (PUBLISH
/// properties) and `payload`, the common PUBLISH — with one reservation and
/// straight-line writes through a [`Frame`]: the two short parts are stored as whole words
/// into room reserved past the frame, the next part written over their unused bytes; the
/// two others are copies (callgrind, a 64 B PUBLISH through `Packet::encode`: 293 → 259
/// instructions with the `#[inline]` there). The parts are written at offsets computed from
/// their lengths and checked once against the room, not one bounds check per write, and the
/// topic and payload by [`copy_exact`], without a `memcpy` call up to 64 bytes (callgrind,
/// the 64 B PUBLISH: 161 → 144 instructions, criterion 12.4 → 7.6 ns; MQTT 5 with three
/// properties 433 → 421). Returns the frame's length, or `None` (nothing appended) if
/// `extra` wrote another number of bytes than `extra_len`. It does not go through
/// [`try_put_frame`]: measured, the nested closure cost an MQTT 5 PUBLISH encode 476 → 540
/// instructions. The topic is a [`TopicName`](crate::TopicName), checked when it was built:
/// it is copied, not scanned (callgrind, the 64 B PUBLISH: 185 → 167 instructions against
/// checking each word as it is copied).
#[allow(clippy::inline_always)] // measured with callgrind: 326 instructions when not inlined
#[inline(always)]
pub(crate) fn put_parts<const M: usize>(
    buf: &mut BytesMut,
    (head, head_len): ([u8; 8], usize),
    topic: &[u8],
    (mid, mid_len): ([u8; M], usize),
    (extra_len, extra): (usize, impl FramePart),
    payload: &[u8],
) -> Option<usize> {
    const { assert!(M <= FRAME_SLACK) };
    // Where each part starts. No sum below can wrap (the offsets rely on it): the three long
    // parts are each under a quarter of the address space (real ones are far shorter), the
    // others at most eight bytes.
    if (topic.len() | extra_len | payload.len()) > usize::MAX >> 2 {
        return None;
    }
    let topic_at = head_len.min(8);
    let mid_at = topic_at + topic.len();
    let extra_at = mid_at + mid_len.min(M);
    let payload_at = extra_at + extra_len;
    let total = payload_at + payload.len();
    let room_len = total + FRAME_SLACK;
    buf.reserve(room_len);
    let len = buf.len();
    let room = buf.spare_capacity_mut();
    // The one bounds check of the frame (true after `reserve`): every write below ends
    // within `room[..total + FRAME_SLACK]`.
    if room.len() < room_len {
        return None;
    }
    let base = room.as_mut_ptr();
    #[allow(unsafe_code)]
    // SAFETY: each write stays within `room[..total + FRAME_SLACK]`, checked above: the head
    // word ends at 8 ≤ `total + FRAME_SLACK`; the topic fills `topic_at..mid_at` and the
    // middle word `mid_at..mid_at + M`, with `mid_at ≤ total` and `M ≤ FRAME_SLACK`; the
    // payload fills `payload_at..total`. The slices made here do not outlive their copy, and
    // none overlaps another live reference: `room` is not used until the last of them is
    // dead.
    unsafe {
        base.cast::<[MaybeUninit<u8>; 8]>()
            .write_unaligned(head.map(MaybeUninit::new));
        copy_exact(
            core::slice::from_raw_parts_mut(base.add(topic_at), topic.len()),
            topic,
        );
        base.add(mid_at)
            .cast::<[MaybeUninit<u8>; M]>()
            .write_unaligned(mid.map(MaybeUninit::new));
    }
    let mut frame = Frame {
        room: room.get_mut(extra_at..)?,
        at: 0,
    };
    extra.put(&mut frame);
    if frame.at != extra_len {
        // Not the size announced (a bug): nothing appended, the general encoder writes it.
        return None;
    }
    #[allow(unsafe_code)]
    // SAFETY: `payload_at..total` is within `room` (checked above), and no other reference
    // into `room` is live (`frame` is dead).
    unsafe {
        copy_exact(
            core::slice::from_raw_parts_mut(room.as_mut_ptr().add(payload_at), payload.len()),
            payload,
        );
    }
    #[allow(unsafe_code)]
    // SAFETY: `room[..total]` is initialized — `..topic_at` by the head word, `topic_at..
    // mid_at` by the topic's copy, `mid_at..extra_at` by the middle word, `extra_at..
    // payload_at` by `frame` (whose writes initialize every byte before its `at`, here
    // `extra_len`; its fields are private to this module) and `payload_at..total` by the
    // payload's copy (`copy_exact` writes every byte of its `dst`) — and `room` is the spare
    // capacity after `len`: what `set_len` requires.
    unsafe {
        buf.set_len(len + total);
    }
    Some(total)
}

/// Appends a frame whose remaining length takes one or two bytes (a frame under 16 KiB: most
/// PUBLISHes without properties) when `buf` already has the room: `first`, the remaining
/// length, the topic with its length, the first `mid_len` bytes of `mid`, the payload. `None`
/// (nothing appended) for a longer frame, one over `max_size`, or a buffer without the room
/// (the caller's general path reserves it: a reservation here would be a call, and with it a
/// stack frame, on the path that needs none). Safe code: with every part under 16 KiB the
/// compiler proves the slices within the one room check (no bounds check is left in the
/// inlined code); only `set_len` is `unsafe`.
#[allow(clippy::inline_always)] // measured with callgrind (see `Publish::encode_short`)
#[inline(always)]
pub(crate) fn put_short(
    buf: &mut BytesMut,
    first: u8,
    topic: &[u8],
    (mid, mid_len): ([u8; 4], usize),
    payload: &[u8],
    max_size: Option<u32>,
) -> Option<usize> {
    const SHORT: usize = 1 << 14;
    let (t, p) = (topic.len(), payload.len());
    // Each part under 16 KiB: no sum below can wrap.
    if (t | p | mid_len) >= SHORT {
        return None;
    }
    let body = 2 + t + mid_len.min(4) + p;
    if body >= SHORT {
        return None;
    }
    // First byte and remaining length (`n` bytes, 2 or 3), then the topic length.
    let (header, n) = varint::header_word(first, body as u32);
    let head = header | u64::from((t as u16).swap_bytes()) << (8 * n.min(3));
    let topic_at = n.min(3) + 2;
    // `body + n` as the sum of its parts: so written, the compiler proves the slices below
    // within the room check (as `body + n`, callgrind: the empty PUBLISH 96 -> 98).
    let total = topic_at + t + mid_len.min(4) + p;
    if max_size.is_some_and(|max| total > max as usize) {
        return None;
    }
    let len = buf.len();
    let room = buf.spare_capacity_mut();
    // The head and middle words are written whole: up to eight bytes past `total`.
    if room.len() < total + 8 {
        return None;
    }
    room[..8].copy_from_slice(&head.to_le_bytes().map(MaybeUninit::new));
    let mid_at = topic_at + t;
    copy_exact(&mut room[topic_at..mid_at], topic);
    room[mid_at..mid_at + 4].copy_from_slice(&mid.map(MaybeUninit::new));
    copy_exact(&mut room[mid_at + mid_len.min(4)..total], payload);
    #[allow(unsafe_code)]
    // SAFETY: `room[..total]` is initialized — `..topic_at` by the head word, `topic_at..
    // mid_at` by the topic's copy, the `mid_len` bytes after it by the middle word and the
    // rest by the payload's copy (`copy_exact` writes every byte of its `dst`) — and `room` is
    // the spare capacity after `len`: what `set_len` requires.
    unsafe {
        buf.set_len(len + total);
    }
    Some(total)
}

/// Appends a frame of `total` bytes written by `write` through a [`Frame`] (word stores and
/// short copies), with one reservation; when `write` fails, nothing is appended. As with
/// [`put_parts`], a write past the reserved room panics. Returns the frame's length.
#[inline]
pub(crate) fn try_put_frame<E>(
    buf: &mut BytesMut,
    total: usize,
    write: impl FnOnce(&mut Frame<'_>) -> Result<(), E>,
) -> Result<usize, E> {
    buf.reserve(total + FRAME_SLACK);
    let len = buf.len();
    let mut frame = Frame {
        room: buf.spare_capacity_mut(),
        at: 0,
    };
    write(&mut frame)?;
    let at = frame.at;
    debug_assert_eq!(at, total, "encoded size differs from the computed one");
    #[allow(unsafe_code)]
    // SAFETY: as in `put_parts`: `Frame`'s writes initialized `room[..at]`, the spare
    // capacity after `len`.
    unsafe {
        buf.set_len(len + at);
    }
    Ok(at)
}

/// What a plain PUBLISH frame holds between its middle word and its payload (its MQTT 5
/// properties), written through a [`Frame`] by [`put_parts`]. A trait, not a closure, so that
/// the writer is inlined where the frame is and the frame's cursor stays in a register (see
/// `publish_properties::put_plain`).
pub(crate) trait FramePart {
    /// Writes the part.
    fn put(self, frame: &mut Frame<'_>);
}

/// No part: a PUBLISH without properties.
impl FramePart for () {
    #[allow(clippy::inline_always)] // nothing to write: nothing to call
    #[inline(always)]
    fn put(self, _: &mut Frame<'_>) {}
}

/// Room past a frame for [`Frame::store`]'s whole words.
const FRAME_SLACK: usize = 8;

/// Uninitialized room written front to back (see [`put_parts`]): every byte before `at` has
/// been written (its fields are private to this module, whose methods keep that true).
pub(crate) struct Frame<'a> {
    room: &'a mut [MaybeUninit<u8>],
    at: usize,
}

impl Frame<'_> {
    /// Stores all of `word` (at most [`FRAME_SLACK`] bytes) and moves past its first `used`.
    #[allow(clippy::inline_always)] // measured with callgrind (see `put_parts`)
    #[inline(always)]
    pub(crate) fn store<const N: usize>(&mut self, word: [u8; N], used: usize) {
        const { assert!(N <= FRAME_SLACK) };
        let at = self.at;
        self.room[at..at + N].copy_from_slice(&word.map(MaybeUninit::new));
        self.at = at + used.min(N);
    }

    /// A length-prefixed field (its length checked by the caller: at most 65,535 bytes), as
    /// [`put_prefixed`](super::put_prefixed) writes it into a `BufMut`.
    #[allow(clippy::inline_always)] // measured with callgrind (see `put_parts`)
    #[inline(always)]
    pub(crate) fn prefixed(&mut self, value: &[u8]) {
        self.store((value.len() as u16).to_be_bytes(), 2);
        self.copy(value);
    }

    /// A length-prefixed field followed by one byte (a SUBSCRIBE filter and its options),
    /// its length checked by the caller (at most 65,535 bytes): one bounds check for the
    /// entry, then stores the compiler can see are inside it (callgrind, a SUBSCRIBE of ten
    /// 23-byte filters: 795 -> 687 instructions against [`Self::prefixed`], its `memcpy` call
    /// and a store).
    #[allow(clippy::inline_always)] // measured with callgrind (see `Subscribe::encode_plain`)
    #[inline(always)]
    pub(crate) fn entry(&mut self, field: &[u8], last: u8) {
        let (at, n) = (self.at, field.len());
        let entry = &mut self.room[at..at + n + 3];
        entry[..2].copy_from_slice(&(n as u16).to_be_bytes().map(MaybeUninit::new));
        copy_exact(&mut entry[2..n + 2], field);
        entry[n + 2] = MaybeUninit::new(last);
        self.at = at + n + 3;
    }

    /// Copies a string field (a property value, a CONNECT string) with [`copy_exact`]:
    /// without a `memcpy` call up to 64 bytes, into exactly its own room (callgrind, against
    /// the word stores into slack room this replaced: MQTT 5 PUBLISH 421 -> 415, CONNECT 263 ->
    /// 257 instructions).
    #[allow(clippy::inline_always)] // measured with callgrind (see `put_parts`)
    #[inline(always)]
    pub(crate) fn copy(&mut self, src: &[u8]) {
        let at = self.at;
        copy_exact(&mut self.room[at..at + src.len()], src);
        self.at = at + src.len();
    }

    /// Copies `src` a word at a time, the last word being its last eight bytes (over some
    /// already written), and hands each word with its offset in `src` to `each` as it goes: a
    /// check of the string fused with its copy, one load per word. Meant for strings of eight
    /// bytes or more; a shorter one is one word, its bytes in order and 'a' above them. The
    /// first error of `each` ends the copy; the frame is then to be dropped unwritten (as
    /// [`try_put_frame`] does).
    #[allow(clippy::inline_always)] // measured with callgrind (see `Subscribe::encode_plain`)
    #[inline(always)]
    pub(crate) fn copy_words<E>(
        &mut self,
        src: &[u8],
        mut each: impl FnMut(usize, u64) -> Result<(), E>,
    ) -> Result<(), E> {
        let (start, n) = (self.at, src.len());
        if n < 8 {
            // 'a' above the string's bytes, which a check passes over.
            let word = short_word(src);
            self.store(word.to_le_bytes(), n);
            return each(0, word | (crate::topic::FILLER & !((1u64 << (8 * n)) - 1)));
        }
        let dst = &mut self.room[start..start + n];
        // The first word, the whole words after it, then the last eight bytes (over some
        // already written) unless the first word was all of it.
        let last = n - 8;
        let mut at = 0;
        loop {
            let word = load::<8>(src, at);
            dst[at..at + 8].copy_from_slice(&word.map(MaybeUninit::new));
            each(at, u64::from_le_bytes(word))?;
            if at == last {
                break;
            }
            at = (at + 8).min(last);
        }
        // Every byte up to `start + n` written: the words cover `src` without a gap.
        self.at = start + n;
        Ok(())
    }

    /// [`Frame::prefixed`] for a UTF-8 string already known valid but not yet checked for
    /// U+0000 (MQTT 1.5.4): the check runs on the words as they are copied; `Err` (the frame
    /// to be dropped) when the string holds one.
    #[allow(clippy::inline_always)] // measured with callgrind (see `Connect::encode_plain`)
    #[inline(always)]
    pub(crate) fn prefixed_text(&mut self, text: &[u8]) -> Result<(), HasNul> {
        self.store((text.len() as u16).to_be_bytes(), 2);
        self.copy_words(text, |_, word| {
            if crate::topic::zero_byte_bits(word, 0) == 0 {
                Ok(())
            } else {
                Err(HasNul)
            }
        })
    }
}

/// A string of at most a word as one word, its bytes in string order and zeros above them:
/// two overlapping four-byte loads (four to eight bytes) or the first, middle and last bytes
/// (one to three), no byte loop and no `memcpy` call.
#[allow(clippy::inline_always)] // measured with callgrind (see `put_parts`)
#[inline(always)]
fn short_word(src: &[u8]) -> u64 {
    let n = src.len();
    debug_assert!(n <= 8, "short_word of a string longer than a word");
    if n >= 4 {
        u64::from(u32::from_le_bytes(load::<4>(src, 0)))
            | u64::from(u32::from_le_bytes(load::<4>(src, n - 4))) << (8 * (n - 4))
    } else if let Some(&first) = src.first() {
        u64::from(first)
            | u64::from(src[n / 2]) << (8 * (n / 2))
            | u64::from(src[n - 1]) << (8 * (n - 1))
    } else {
        0
    }
}

/// A string to be written holds U+0000: the plain encoders decline it (the general ones then
/// report [`EncodeError::NullCharacter`](crate::EncodeError::NullCharacter)).
pub(crate) struct HasNul;

/// Fills `dst` with the first `dst.len()` bytes of `src` (which has at least as many: the
/// loads are bounds-checked) without a `memcpy` call up to 64 bytes: loads and stores that
/// overlap in the middle — four of 16 bytes, or two of 16, 8, 4 or 1 byte(s) (and the middle
/// byte for three); `copy_nonoverlapping` beyond. Every byte of `dst` is written.
#[allow(clippy::inline_always)] // measured with callgrind (see `Frame::entry`)
#[inline(always)]
fn copy_exact(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    let n = dst.len();
    // Classes by size, in a tree of at most three tests (two for 17 to 32 bytes, a
    // SUBSCRIBE's filters as a rule).
    if n > 16 {
        if n <= 32 {
            dst[..16].copy_from_slice(&load::<16>(src, 0).map(MaybeUninit::new));
            dst[n - 16..].copy_from_slice(&load::<16>(src, n - 16).map(MaybeUninit::new));
        } else if n <= 64 {
            dst[..16].copy_from_slice(&load::<16>(src, 0).map(MaybeUninit::new));
            dst[16..32].copy_from_slice(&load::<16>(src, 16).map(MaybeUninit::new));
            dst[n - 32..n - 16].copy_from_slice(&load::<16>(src, n - 32).map(MaybeUninit::new));
            dst[n - 16..].copy_from_slice(&load::<16>(src, n - 16).map(MaybeUninit::new));
        } else {
            let src = &src[..n];
            #[allow(unsafe_code)]
            // SAFETY: `dst` and `src` are both `n` bytes long, and they do not overlap: `dst`
            // is a buffer's spare room borrowed mutably, `src` a shared slice.
            unsafe {
                core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), n);
            }
        }
    } else if n > 3 {
        if n > 8 {
            dst[..8].copy_from_slice(&load::<8>(src, 0).map(MaybeUninit::new));
            dst[n - 8..].copy_from_slice(&load::<8>(src, n - 8).map(MaybeUninit::new));
        } else {
            dst[..4].copy_from_slice(&load::<4>(src, 0).map(MaybeUninit::new));
            dst[n - 4..].copy_from_slice(&load::<4>(src, n - 4).map(MaybeUninit::new));
        }
    } else if n > 0 {
        dst[0] = MaybeUninit::new(src[0]);
        dst[n / 2] = MaybeUninit::new(src[n / 2]);
        dst[n - 1] = MaybeUninit::new(src[n - 1]);
    }
}

/// The `N` bytes of `src` from `from`.
#[allow(clippy::inline_always)] // measured with callgrind (see `put_parts`)
#[inline(always)]
fn load<const N: usize>(src: &[u8], from: usize) -> [u8; N] {
    let mut word = [0u8; N];
    word.copy_from_slice(&src[from..from + N]);
    word
}

/// Uninitialized room that can only be written, front to back (see [`put_in_place`]).
pub(crate) struct Room<'a>(&'a mut [core::mem::MaybeUninit<u8>]);

#[allow(unsafe_code)]
// SAFETY: every method forwards to the `BufMut` of `&mut [MaybeUninit<u8>]` (from `bytes`),
// which upholds the trait's contract; nothing else touches the slice.
unsafe impl BufMut for Room<'_> {
    #[inline]
    fn remaining_mut(&self) -> usize {
        self.0.remaining_mut()
    }

    #[inline]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller's promise (the `cnt` bytes were written) is passed on unchanged.
        unsafe { self.0.advance_mut(cnt) }
    }

    #[inline]
    fn chunk_mut(&mut self) -> &mut bytes::buf::UninitSlice {
        self.0.chunk_mut()
    }

    #[inline]
    fn put_slice(&mut self, src: &[u8]) {
        self.0.put_slice(src);
    }
}
