//! Variable byte integers (MQTT 1.5.5): 1 to 4 bytes, 7 bits each, little end first.

use bytes::BufMut;

use crate::error::DecodeError;

/// Largest value a variable byte integer can hold (268 435 455).
pub const MAX: u32 = 268_435_455;

/// Parses a varint at the start of `input`, returning the value and the bytes it used.
/// `Ok(None)` when `input` ends before the last byte; an error as soon as a fifth byte would be
/// needed or the encoding is not minimal [MQTT-1.5.5-1].
#[inline]
pub(crate) fn parse_streaming(input: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    match input.first() {
        // One byte (a value under 128: most lengths and every property identifier).
        Some(&byte) if byte < 0x80 => Ok(Some((u32::from(byte), 1))),
        // Two and three bytes (a PUBLISH of up to 16 KiB, 2 MiB) without the loop: minimal, as
        // the last byte is not 0.
        _ => match *input {
            [low, high @ 0x01..=0x7f, ..] => {
                Ok(Some((u32::from(low & 0x7f) | u32::from(high) << 7, 2)))
            }
            [low, mid @ 0x80..=0xff, high @ 0x01..=0x7f, ..] => Ok(Some((
                u32::from(low & 0x7f) | u32::from(mid & 0x7f) << 7 | u32::from(high) << 14,
                3,
            ))),
            _ => parse_long(input),
        },
    }
}

/// [`parse_streaming`] of a varint that is not a single byte (or of empty input).
fn parse_long(input: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value: u32 = 0;
    for (i, &byte) in input.iter().enumerate() {
        if i == 4 {
            return Err(DecodeError::MalformedVarint);
        }
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A last byte of 0 after the first one means a shorter encoding existed.
            if i > 0 && byte == 0 {
                return Err(DecodeError::NonMinimalVarint);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if input.len() >= 4 {
        return Err(DecodeError::MalformedVarint);
    }
    Ok(None)
}

/// Number of bytes `value` takes on the wire.
pub(crate) fn encoded_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes `value` (at most [`MAX`]) at the start of `out` (4 bytes), returning its length.
#[inline]
pub(crate) fn write(out: &mut [u8], value: u32) -> usize {
    match (value, out.first_mut()) {
        (0..=127, Some(first)) => {
            *first = value as u8;
            1
        }
        _ => write_long(out, value),
    }
}

/// A fixed header — `first` then the bytes [`write`] writes for `value` (at most [`MAX`]) —
/// in stream order from the low byte of a word, and its length: for an encoder that stores a
/// header as one word.
#[allow(clippy::inline_always)] // measured with callgrind: a PUBLISH encode 237 -> 232
#[inline(always)]
pub(crate) fn header_word(first: u8, value: u32) -> (u64, usize) {
    if value < 0x80 {
        // A body under 128 bytes (small packets, the common case): no loop.
        return (u64::from(first) | u64::from(value) << 8, 2);
    }
    if value < 0x4000 {
        // Two length bytes (up to 16 KiB: a 1 KiB PUBLISH, a SUBSCRIBE of a few filters): no
        // loop either (callgrind, a SUBSCRIBE of ten filters: 687 -> 648 instructions).
        let low = u64::from(value & 0x7F | 0x80);
        return (u64::from(first) | low << 8 | u64::from(value >> 7) << 16, 3);
    }
    long_header_word(first, value)
}

/// [`header_word`] for a value of two bytes or more.
fn long_header_word(first: u8, value: u32) -> (u64, usize) {
    let (mut word, mut n, mut rest) = (u64::from(first), 1, u64::from(value));
    loop {
        let more = rest >= 0x80;
        word |= ((rest & 0x7F) | (u64::from(more) << 7)) << (8 * n);
        n += 1;
        rest >>= 7;
        if !more {
            return (word, n);
        }
    }
}

fn write_long(out: &mut [u8], mut value: u32) -> usize {
    let mut n = 0;
    for slot in out.iter_mut() {
        let mut byte = (value & 0x7f) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        *slot = byte;
        n += 1;
        if value == 0 {
            break;
        }
    }
    n
}

/// Writes `value` (which the caller checked is at most [`MAX`]).
pub(crate) fn put(buf: &mut impl BufMut, mut value: u32) {
    loop {
        let mut byte = (value & 0x7f) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if value == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn header_word_is_the_first_byte_and_what_write_writes() {
        for value in [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MAX] {
            let mut out = [0u8; 4];
            let n = write(&mut out, value);
            let (word, len) = header_word(0x32, value);
            assert_eq!(len, 1 + n, "{value}");
            let bytes = word.to_le_bytes();
            assert_eq!((bytes[0], &bytes[1..len]), (0x32, &out[..n]), "{value}");
            assert_eq!(word >> (8 * len), 0, "{value}");
        }
    }

    #[test]
    fn spec_table_boundaries_round_trip() {
        // MQTT 5 table 1-1: the edges of each length.
        for (value, bytes) in [
            (0u32, &[0x00][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xff, 0xff, 0x7f]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (MAX, &[0xff, 0xff, 0xff, 0x7f]),
        ] {
            let mut out = Vec::new();
            put(&mut out, value);
            assert_eq!(out, bytes);
            assert_eq!(encoded_len(value), bytes.len());
            assert_eq!(parse_streaming(bytes), Ok(Some((value, bytes.len()))));
        }
    }

    #[test]
    fn the_short_paths_agree_with_the_loop_on_every_prefix() {
        // Every first two bytes, alone and followed by what may end or continue a varint.
        for first in 0..=u8::MAX {
            for second in 0..=u8::MAX {
                for tail in [&[][..], &[0x00], &[0x01], &[0x7f], &[0x80], &[0x80, 0x01]] {
                    let mut input = vec![first, second];
                    input.extend_from_slice(tail);
                    assert_eq!(parse_streaming(&input), parse_long(&input), "{input:02x?}");
                }
            }
            assert_eq!(
                parse_streaming(&[first]),
                parse_long(&[first]),
                "{first:02x}"
            );
        }
        assert_eq!(parse_streaming(&[]), Ok(None));
    }

    #[test]
    fn incomplete_fifth_byte_and_non_minimal() {
        assert_eq!(parse_streaming(&[0x80, 0x80]), Ok(None));
        assert_eq!(
            parse_streaming(&[0x80, 0x80, 0x80, 0x80]),
            Err(DecodeError::MalformedVarint)
        );
        assert_eq!(
            parse_streaming(&[0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(DecodeError::MalformedVarint)
        );
        assert_eq!(
            parse_streaming(&[0x80, 0x00]),
            Err(DecodeError::NonMinimalVarint)
        );
        assert_eq!(
            parse_streaming(&[0xff, 0x80, 0x00]),
            Err(DecodeError::NonMinimalVarint)
        );
    }
}
