//! Primitive fields on the wire (MQTT 1.5): integers, strings, binary data, with `nom` readers
//! over a complete packet body and writers into any `BufMut`; the in-place frame writers of
//! the plain encoders are in [`in_place`].

use bytes::BufMut;
use nom::error::{ErrorKind, ParseError};

use crate::error::{DecodeError, EncodeError};
use crate::header::PacketType;
use crate::varint;

mod in_place;

pub(crate) use in_place::{
    put_in_place, put_parts, put_short, try_put_frame, try_put_in_place, Frame, FramePart, HasNul,
};

/// Failure inside a packet body. `Eof` is turned into [`DecodeError::Truncated`] by the packet
/// dispatcher, which knows the packet type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fail {
    Eof,
    Bad(DecodeError),
}

impl<I> ParseError<I> for Fail {
    fn from_error_kind(_: I, _: ErrorKind) -> Self {
        Fail::Eof
    }
    fn append(_: I, _: ErrorKind, other: Self) -> Self {
        other
    }
}

impl Fail {
    pub(crate) fn into_decode_error(self, packet: PacketType) -> DecodeError {
        match self {
            Fail::Eof => DecodeError::Truncated { packet },
            Fail::Bad(e) => e,
        }
    }
}

impl From<DecodeError> for Fail {
    fn from(e: DecodeError) -> Self {
        Fail::Bad(e)
    }
}

/// Result of a body parser.
pub(crate) type PResult<'a, T> = nom::IResult<&'a [u8], T, Fail>;

/// A rule broken inside a body.
pub(crate) fn bad<'a, T>(e: DecodeError) -> PResult<'a, T> {
    Err(nom::Err::Failure(Fail::Bad(e)))
}

/// `N` bytes off the front of `input`, or `Eof`.
#[inline]
fn bytes<const N: usize>(input: &[u8]) -> PResult<'_, [u8; N]> {
    match input.split_first_chunk::<N>() {
        Some((b, rest)) => Ok((rest, *b)),
        None => Err(nom::Err::Error(Fail::Eof)),
    }
}

#[inline]
pub(crate) fn u8(input: &[u8]) -> PResult<'_, u8> {
    bytes::<1>(input).map(|(rest, [b])| (rest, b))
}

#[inline]
pub(crate) fn u16(input: &[u8]) -> PResult<'_, u16> {
    bytes::<2>(input).map(|(rest, b)| (rest, u16::from_be_bytes(b)))
}

#[inline]
pub(crate) fn u32(input: &[u8]) -> PResult<'_, u32> {
    bytes::<4>(input).map(|(rest, b)| (rest, u32::from_be_bytes(b)))
}

/// A variable byte integer inside a body.
pub(crate) fn varint(input: &[u8]) -> PResult<'_, u32> {
    match varint::parse_streaming(input) {
        Ok(Some((v, n))) => Ok((&input[n..], v)),
        Ok(None) => Err(nom::Err::Error(Fail::Eof)),
        Err(e) => bad(e),
    }
}

/// Two-byte length followed by that many bytes (MQTT 1.5.6). Plain slices: `nom`'s
/// `length_data` cost about 45 instructions a field more (callgrind: a CONNECT with three such
/// fields decoded in 1,070 → 933); too few bytes is the same `Eof` (→ `Truncated`) as any other
/// short read.
#[inline]
pub(crate) fn binary(input: &[u8]) -> PResult<'_, &[u8]> {
    prefixed(input).ok_or(nom::Err::Error(Fail::Eof))
}

/// The length-prefixed field at the front of `input` and what follows it: `(rest, data)`,
/// `None` when `input` is shorter than the prefix says.
#[inline]
pub(crate) fn prefixed(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = input.split_first_chunk::<2>()?;
    let (data, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
    Some((rest, data))
}

/// A UTF-8 encoded string (MQTT 1.5.4): well-formed, no U+0000.
pub(crate) fn string(input: &[u8]) -> PResult<'_, &str> {
    let (rest, raw) = binary(input)?;
    match check_utf8(raw) {
        Ok(s) => Ok((rest, s)),
        Err(e) => bad(e),
    }
}

/// A string of a region the decoder has validated (a [`SeqRef`](crate::SeqRef)'s bytes): the
/// rules were checked when the packet was decoded, so only the `&str` is made here (for ASCII
/// a word-at-a-time check). `None` at the end of the region.
#[inline]
pub(crate) fn validated_string(input: &[u8]) -> Option<(&[u8], &str)> {
    let (rest, raw) = prefixed(input)?;
    Some((rest, crate::utf8::text(raw).ok()?))
}

/// Moves `raw` past a length-prefixed string and `extra` bytes after it; `false` at the end
/// of a (validated) region.
#[inline]
pub(crate) fn skip_prefixed(raw: &mut &[u8], extra: usize) -> bool {
    match prefixed(raw).and_then(|(rest, _)| rest.get(extra..)) {
        Some(rest) => {
            *raw = rest;
            true
        }
        None => false,
    }
}

/// Validates an MQTT string. Rust's UTF-8 check already rejects encoded surrogates
/// (U+D800..U+DFFF) and overlong forms [MQTT-1.5.4-1]; U+0000 is checked here [MQTT-1.5.4-2].
#[inline]
pub(crate) fn check_utf8(raw: &[u8]) -> Result<&str, DecodeError> {
    match crate::utf8::plain_ascii(raw) {
        Some(s) => Ok(s),
        None => check_text(raw),
    }
}

/// [`check_utf8`] of a string that is not plain ASCII (or is invalid).
#[inline(never)]
fn check_text(raw: &[u8]) -> Result<&str, DecodeError> {
    let s = crate::utf8::text(raw).map_err(|_| DecodeError::InvalidUtf8)?;
    if crate::topic::has_nul(raw) {
        return Err(DecodeError::NullCharacter);
    }
    Ok(s)
}

/// A packet identifier, which may not be 0 [MQTT-2.2.1-3].
pub(crate) fn packet_id(packet: PacketType) -> impl Fn(&[u8]) -> PResult<'_, u16> {
    move |input| {
        let (rest, id) = u16(input)?;
        if id == 0 {
            return bad(DecodeError::ZeroPacketId { packet });
        }
        Ok((rest, id))
    }
}

/// Wire length of a string, checking the sender's rules first.
pub(crate) fn string_len(s: &[u8]) -> Result<usize, EncodeError> {
    if s.len() > usize::from(u16::MAX) {
        return Err(EncodeError::StringTooLong(s.len()));
    }
    if crate::topic::has_nul(s) {
        return Err(EncodeError::NullCharacter);
    }
    Ok(2 + s.len())
}

/// Length of a string already scanned for U+0000 (topic names, filters).
pub(crate) fn scanned_string_len(s: &[u8]) -> Result<usize, EncodeError> {
    if s.len() > usize::from(u16::MAX) {
        return Err(EncodeError::StringTooLong(s.len()));
    }
    Ok(2 + s.len())
}

/// Wire length of binary data.
pub(crate) fn binary_len(b: &[u8]) -> Result<usize, EncodeError> {
    if b.len() > usize::from(u16::MAX) {
        return Err(EncodeError::BinaryTooLong(b.len()));
    }
    Ok(2 + b.len())
}

/// Writes a length-prefixed field whose length was checked by [`string_len`] / [`binary_len`].
pub(crate) fn put_prefixed(buf: &mut impl BufMut, b: &[u8]) {
    buf.put_u16(b.len() as u16);
    buf.put_slice(b);
}

/// Turns a rule broken inside a body into a parser failure (for use with `?`).
pub(crate) fn fail(e: DecodeError) -> nom::Err<Fail> {
    nom::Err::Failure(Fail::Bad(e))
}

/// A reason code byte that must be one `packet` may carry (MQTT 5).
pub(crate) fn reason_code(
    packet: PacketType,
) -> impl Fn(&[u8]) -> PResult<'_, crate::reason::ReasonCode> {
    move |input| {
        let (rest, code) = u8(input)?;
        match crate::reason::ReasonCode::from_u8(code).filter(|c| c.is_valid_for(packet)) {
            Some(c) => Ok((rest, c)),
            None => bad(DecodeError::InvalidReasonCode { packet, code }),
        }
    }
}

/// Size of a whole packet whose body (remaining length) is `body` bytes.
pub(crate) fn total_len(body: usize) -> Result<usize, EncodeError> {
    match u32::try_from(body) {
        Ok(len) if len <= varint::MAX => Ok(1 + varint::encoded_len(len) + body),
        _ => Err(EncodeError::PacketTooLarge(body)),
    }
}

/// Writes a fixed header; `body` was checked by [`total_len`].
pub(crate) fn put_header(buf: &mut impl BufMut, first_byte: u8, body: usize) {
    buf.put_u8(first_byte);
    varint::put(buf, body as u32);
}
