//! Text from wire bytes. Almost every MQTT string (topics above all) is ASCII: that is
//! recognised a word at a time and taken as it is; anything else goes through
//! `core::str::from_utf8`, which also rejects encoded surrogates and overlong forms
//! [MQTT-1.5.4-1].
//!
//! This module holds two of the crate's `unsafe` blocks (the same conversion in two checks),
//! for a measured reason: building the `&str` of a seven-byte topic through `from_utf8` cost 98
//! of the 451 instructions of a whole borrowed PUBLISH decode (callgrind, `benches` `profile
//! decode_ref`), and safe Rust has no other way from checked ASCII bytes to `&str`
//! (`<[u8]>::as_ascii` is unstable).

use core::str::Utf8Error;

/// `bytes` as text, or why they are not UTF-8.
#[inline]
pub(crate) fn text(bytes: &[u8]) -> Result<&str, Utf8Error> {
    if is_ascii(bytes) {
        #[allow(unsafe_code)]
        // SAFETY: a byte below 0x80 is a whole UTF-8 sequence (one scalar value) by itself, so
        // bytes that are all ASCII are valid UTF-8, which is all `from_utf8_unchecked` needs.
        return Ok(unsafe { core::str::from_utf8_unchecked(bytes) });
    }
    core::str::from_utf8(bytes)
}

/// `bytes` as text when they are ASCII without U+0000 — what nearly every MQTT string is — in
/// one pass over the words (`None` for anything else, which [`text`] and a U+0000 check then
/// decide): the string check of [`crate::wire::check_utf8`] without a second pass for U+0000.
#[inline]
pub(crate) fn plain_ascii(bytes: &[u8]) -> Option<&str> {
    use crate::topic::{short_word, word, ONES};
    let n = bytes.len();
    let (mut high, mut zero) = (0u64, 0u64);
    let mut scan = |word: u64| {
        high |= word;
        // The high bit of a byte that is 0 (exact for "is there one" among ASCII bytes).
        zero |= word.wrapping_sub(ONES) & !word;
    };
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        scan(word(chunk));
        at += 8;
    }
    if at < n {
        // The rest as one word, without a byte loop (as `topic::has_nul` reads it): the last
        // eight bytes, some read twice, or a string shorter than that as one word.
        scan(if n >= 8 {
            word(&bytes[n - 8..])
        } else {
            short_word(bytes)
        });
    }
    if (high | zero) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    #[allow(unsafe_code)]
    // SAFETY: as in `text`: every byte is below 0x80, a whole UTF-8 sequence by itself.
    Some(unsafe { core::str::from_utf8_unchecked(bytes) })
}

/// True when every byte is below 0x80: eight bytes at a time, without an early exit (strings
/// are short and nearly always ASCII; `<[u8]>::is_ascii` tests a short string byte by byte).
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let mut high = 0u64;
    for chunk in &mut chunks {
        high |= crate::topic::word(chunk);
    }
    let tail = chunks.remainder().iter().fold(0u8, |acc, &b| acc | b);
    high & 0x8080_8080_8080_8080 == 0 && tail < 0x80
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use super::{plain_ascii, text};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Same text or same error as the standard check, on any bytes (mostly ASCII, with
        /// multi-byte, broken and surrogate sequences mixed in).
        #[test]
        fn agrees_with_from_utf8(parts in proptest::collection::vec(prop_oneof![
            4 => proptest::collection::vec(0u8..0x80, 0..20),
            1 => proptest::collection::vec(any::<u8>(), 0..6),
            1 => Just(alloc::vec![0xC3, 0xA9]),
            1 => Just(alloc::vec![0xED, 0xA0, 0x80]),
            1 => Just(alloc::vec![0xC0, 0x80]),
        ], 0..6)) {
            let bytes: Vec<u8> = parts.concat();
            prop_assert_eq!(text(&bytes), core::str::from_utf8(&bytes));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Text exactly for ASCII strings without U+0000.
        #[test]
        fn plain_ascii_is_ascii_without_nul(bytes in proptest::collection::vec(prop_oneof![
            8 => 1u8..0x80,
            1 => Just(0u8),
            1 => 0x80u8..=0xFF,
        ], 0..40)) {
            let expected = (bytes.is_ascii() && !bytes.contains(&0))
                .then(|| core::str::from_utf8(&bytes).ok())
                .flatten();
            prop_assert_eq!(plain_ascii(&bytes), expected);
        }
    }

    #[test]
    fn every_length_around_the_word_size() {
        for len in 0..40 {
            let ascii: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert_eq!(text(&ascii), core::str::from_utf8(&ascii));
            assert_eq!(plain_ascii(&ascii).map(str::as_bytes), Some(&ascii[..]));
            for at in 0..len {
                let mut high = ascii.clone();
                high[at] = 0x80;
                assert!(text(&high).is_err(), "{len} {at}");
                assert_eq!(plain_ascii(&high), None, "{len} {at}");
                high[at] = 0;
                assert_eq!(plain_ascii(&high), None, "{len} {at}");
            }
        }
    }
}
