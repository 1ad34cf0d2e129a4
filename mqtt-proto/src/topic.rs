//! Topic names and topic filters (MQTT 4.7): validation and matching.
//!
//! ```
//! use mqtt_proto::topic::matches;
//! assert!(matches("sensors/+/temp", "sensors/kitchen/temp"));
//! assert!(matches("sensors/#", "sensors"));
//! assert!(!matches("#", "$SYS/uptime")); // [MQTT-4.7.2-1]
//! ```

use crate::error::DecodeError;

const SHARE_PREFIX: &str = "$share/";

/// Checks a topic name used in PUBLISH: non-empty and without wildcards [MQTT-3.3.2-2].
/// (MQTT 5 allows an empty name with a topic alias; callers check that case.)
pub fn validate_name(name: &str) -> Result<(), DecodeError> {
    if name.is_empty() {
        return Err(DecodeError::EmptyTopicName);
    }
    scan_name(name.as_bytes())
}

/// One pass over a topic name's bytes: no wildcard [MQTT-3.3.2-2] and no U+0000
/// [MQTT-4.7.3-2]. Emptiness is checked by the caller (MQTT 5 allows it with an alias).
#[inline]
pub(crate) fn scan_name(name: &[u8]) -> Result<(), DecodeError> {
    scan_name_within(name, name.len())
}

/// [`scan_name`] of `bytes[..len]`, for a name followed by more readable bytes (a packet
/// body): the last partial word is then read whole, its bytes past `len` ignored.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
pub(crate) fn scan_name_within(bytes: &[u8], len: usize) -> Result<(), DecodeError> {
    match first_special(bytes, 0, len) {
        None => Ok(()),
        Some(i) if bytes[i] == 0 => Err(DecodeError::NullCharacter),
        Some(_) => Err(DecodeError::WildcardInTopicName),
    }
}

pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;
/// 'a' in every byte: stands in for bytes a scan must not report.
pub(crate) const FILLER: u64 = 0x6161_6161_6161_6161;

/// Non-zero when one of the eight bytes of `word` equals `byte` (exact: no false positive for
/// the question "is there one").
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
pub(crate) fn zero_byte_bits(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// A byte with a rule of its own in names and filters: `+`, `#`, U+0000.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
fn is_special(b: u8) -> bool {
    matches!(b, b'+' | b'#' | 0)
}

/// True when `bytes` holds a NUL (U+0000), eight bytes at a time (short strings are the rule,
/// where `memchr`'s set-up costs more than the search).
/// Always inlined, measured with callgrind: left to `#[inline]`, LLVM kept it out of line in
/// the MQTT 5 PUBLISH encoder once the owned decoder changed (353 -> 386 instructions).
#[allow(clippy::inline_always)] // measured with callgrind
#[inline(always)]
pub(crate) fn has_nul(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        if zero_byte_bits(word(chunk), 0) != 0 {
            return true;
        }
    }
    if chunks.remainder().is_empty() {
        return false;
    }
    let n = bytes.len();
    let tail = if n >= 8 {
        // The last eight bytes: rescanning some is harmless for a yes/no answer.
        bytes.get(n - 8..).map_or(0, word)
    } else {
        short_word(bytes)
    };
    zero_byte_bits(tail, 0) != 0
}

/// Eight bytes as one little-endian word.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
pub(crate) fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

/// Bits set at the `+`, `#` and NUL bytes of `word`; the lowest set bit is always a real one
/// (a false positive can only sit above a true match of the same byte value).
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
fn special_bits(word: u64) -> u64 {
    // `+` (0x2B), `#` (0x23) and NUL are all below 0x2C, which letters, digits, `/`, `-` and
    // `.` are not: one range test (exact about whether any byte is below) skips the three
    // byte tests for almost every word of a real topic.
    if below_bits(word) == 0 {
        return 0;
    }
    zero_byte_bits(word, b'+') | zero_byte_bits(word, b'#') | zero_byte_bits(word, 0)
}

/// Bits set at every byte of `word` below 0x2C (the range of `+`, `#` and NUL) and maybe at
/// some bytes above such a byte (a borrow), none elsewhere: zero exactly when no byte is
/// below 0x2C. Cheaper than [`special_bits`] where each bit's byte is looked at anyway.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
fn below_bits(word: u64) -> u64 {
    const BELOW: u64 = ONES * 0x2C;
    word.wrapping_sub(BELOW) & !word & HIGHS
}

/// The index in a word of the byte its lowest set bit belongs to.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
fn first_byte(bits: u64) -> usize {
    (bits.trailing_zeros() / 8) as usize
}

/// Index of the first `+`, `#` or NUL in `bytes[from..end]`, eight bytes at a time. Bytes of
/// `bytes` past `end` may be read (never reported): a short tail is then one word too; at the
/// end of `bytes` the tail is the last word, its bytes before `from + scanned` ignored.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
fn first_special(bytes: &[u8], from: usize, end: usize) -> Option<usize> {
    let mut at = from;
    while at + 8 <= end {
        let bits = special_bits(word(bytes.get(at..at + 8)?));
        if bits != 0 {
            return Some(at + first_byte(bits));
        }
        at += 8;
    }
    let tail = end.checked_sub(at).filter(|&n| n > 0)?;
    let (base, w) = if let Some(chunk) = bytes.get(at..at + 8) {
        // The bytes past `end` become a harmless 'a' before the test.
        let keep = (1u64 << (8 * tail)) - 1;
        (at, (word(chunk) & keep) | (FILLER & !keep))
    } else if end >= 8 {
        // The last eight bytes up to `end`; the ones before `at` (already scanned, or before
        // `from`) become 'a'.
        let base = end - 8;
        let skip = (1u64 << (8 * (8 - tail))) - 1;
        (
            base,
            (word(bytes.get(base..end)?) & !skip) | (FILLER & skip),
        )
    } else {
        // Fewer than eight bytes in all: overlapping loads instead of a byte loop.
        return short_special(bytes.get(at..end)?).map(|i| at + i);
    };
    let bits = special_bits(w);
    (bits != 0).then(|| base + first_byte(bits))
}

/// Index of the first `+`, `#` or NUL in `short` (1 to 7 bytes: the whole string is shorter
/// than a word), from its [`short_word`].
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
fn short_special(short: &[u8]) -> Option<usize> {
    let n = short.len();
    let bits = special_bits(short_word(short));
    let k = first_byte(bits);
    if n >= 4 {
        // Bytes 0-3 are indexes 0-3, bytes 4-7 are indexes n - 4 to n - 1.
        return (bits != 0).then(|| if k < 4 { k } else { n + k - 8 });
    }
    // Bytes 0, 1, 2 are indexes 0, n / 2, n - 1: for n <= 3, every byte in order.
    (bits != 0).then(|| [0, n / 2, n.saturating_sub(1)][k.min(2)])
}

/// The bytes of a string shorter than a word as one word whose bytes stand in string order:
/// two overlapping four-byte loads (four to seven bytes) or the first, middle and last bytes
/// (one to three) and 'a' above them; 'a' in every byte for the empty string.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
pub(crate) fn short_word(short: &[u8]) -> u64 {
    let n = short.len();
    if n >= 4 {
        let (head, tail) = (short.get(..4), short.get(n - 4..));
        return u64::from(head.map_or(0, quad)) | (u64::from(tail.map_or(0, quad)) << 32);
    }
    match (short.first(), short.get(n / 2), short.last()) {
        (Some(&first), Some(&mid), Some(&last)) => {
            u64::from(first)
                | (u64::from(mid) << 8)
                | (u64::from(last) << 16)
                | (FILLER & !0xFF_FFFF)
        }
        _ => FILLER,
    }
}

/// Four bytes as one little-endian word.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
fn quad(chunk: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(chunk);
    u32::from_le_bytes(w)
}

/// Checks a topic filter: non-empty; `#` only as the whole last level; `+` only as a whole
/// level [MQTT-4.7.1-1], [MQTT-4.7.1-2]; a `$share/ShareName/filter` has a non-empty share name
/// without wildcards and a valid filter [MQTT-4.8.2-1], [MQTT-4.8.2-2].
pub fn validate_filter(filter: &str) -> Result<(), DecodeError> {
    check_filter(filter.as_bytes())
}

/// [`validate_filter`] on the bytes of a filter (no UTF-8 decoding needed).
#[allow(clippy::inline_always)] // measured with callgrind: SUBSCRIBE-10 encode 2,319 -> 2,196
#[inline(always)]
pub(crate) fn check_filter(filter: &[u8]) -> Result<(), DecodeError> {
    if filter.is_empty() {
        return Err(DecodeError::EmptyTopicFilter);
    }
    if let Some(shared) = filter.strip_prefix(SHARE_PREFIX.as_bytes()) {
        let slash = shared
            .iter()
            .position(|&b| b == b'/')
            .ok_or(DecodeError::InvalidSharedSubscription)?;
        let (group, inner) = (&shared[..slash], &shared[slash + 1..]);
        if has_nul(group) {
            // [MQTT-1.5.4-2]: the share name is part of the string too.
            return Err(DecodeError::NullCharacter);
        }
        if group.is_empty() || first_special(group, 0, group.len()).is_some() || inner.is_empty() {
            return Err(DecodeError::InvalidSharedSubscription);
        }
        return check_levels(inner);
    }
    check_levels(filter)
}

/// One pass: `+` only as a whole level, `#` only as the whole last level, no U+0000.
#[allow(clippy::inline_always)] // measured with callgrind: the call cost a fifth of the check
#[inline(always)]
fn check_levels(filter: &[u8]) -> Result<(), DecodeError> {
    let len = filter.len();
    if len < 8 {
        let mut from = 0;
        while let Some(i) = first_special(filter, from, len) {
            check_special(filter, i, filter[i])?;
            from = i + 1;
        }
        return Ok(());
    }
    // Every word once, every special byte of a word checked before the next word (no rescan
    // after a `+`, the common case in filters). The last word is the last eight bytes, those
    // already scanned masked.
    let mut at = 0;
    while at < len {
        let (base, w) = if let Some(chunk) = filter.get(at..at + 8) {
            (at, word(chunk))
        } else {
            let base = len - 8;
            let skip = (1u64 << (8 * (at - base))) - 1;
            let chunk = filter.get(base..).unwrap_or_default();
            (base, (word(chunk) & !skip) | (FILLER & skip))
        };
        check_filter_word(filter, base, w)?;
        at = base + 8;
    }
    Ok(())
}

/// The filter rules for the special bytes of `w`, the word of `filter` at `base` (bytes
/// already checked may be in it again, or replaced by 'a'): each `+`, `#` and U+0000 of the
/// word judged by [`check_special`], in order.
#[allow(clippy::inline_always)] // measured with callgrind: a call here costs more than the scan
#[inline(always)]
pub(crate) fn check_filter_word(filter: &[u8], base: usize, w: u64) -> Result<(), DecodeError> {
    let mut bits = below_bits(w);
    while bits != 0 {
        // A bit for every byte below 0x2C, and maybe more above: the byte itself decides.
        let i = base + first_byte(bits);
        if let Some(&b) = filter.get(i).filter(|&&b| is_special(b)) {
            check_special(filter, i, b)?;
        }
        bits &= bits - 1;
    }
    Ok(())
}

/// The rules for the special byte `b` at `i` (kept out of the loop over ordinary bytes).
fn check_special(filter: &[u8], i: usize, b: u8) -> Result<(), DecodeError> {
    let level_start = i == 0 || filter.get(i - 1) == Some(&b'/');
    let last = i + 1 == filter.len();
    let ok = match b {
        // [MQTT-4.7.1-2]
        b'+' => level_start && (last || filter.get(i + 1) == Some(&b'/')),
        // [MQTT-4.7.1-1]
        b'#' => level_start && last,
        // [MQTT-4.7.3-2]
        _ => return Err(DecodeError::NullCharacter),
    };
    if ok {
        Ok(())
    } else {
        Err(DecodeError::InvalidTopicFilter)
    }
}

/// True for a `$share/ShareName/filter` shared subscription filter.
pub fn is_shared(filter: &str) -> bool {
    filter.starts_with(SHARE_PREFIX)
}

pub(crate) fn is_shared_bytes(filter: &[u8]) -> bool {
    filter.starts_with(SHARE_PREFIX.as_bytes())
}

/// The filter a shared subscription matches with (`$share/g/a/+` → `a/+`); other filters are
/// returned unchanged.
pub fn strip_share(filter: &str) -> &str {
    filter
        .strip_prefix(SHARE_PREFIX)
        .and_then(|rest| rest.split_once('/'))
        .map_or(filter, |(_, inner)| inner)
}

/// True when the topic name `topic` matches `filter`. A filter starting with a wildcard does
/// not match a topic starting with `$` [MQTT-4.7.2-1]; `a/#` also matches `a` [MQTT-4.7.1-2].
/// Shared subscription filters match by their inner filter.
pub fn matches(filter: &str, topic: &str) -> bool {
    let filter = strip_share(filter);
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) | (None, None) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_4_7_1_wildcard_placement() {
        for ok in [
            "#",
            "+",
            "a/#",
            "a/+/b",
            "+/+",
            "/",
            "a//b",
            "+/#",
            "$share/g/a/#",
            "sport/+",
        ] {
            assert_eq!(validate_filter(ok), Ok(()), "{ok}");
        }
        for bad in ["a/#/b", "a+", "a/b#", "#a", "+a/b", "a/+b"] {
            assert_eq!(
                validate_filter(bad),
                Err(DecodeError::InvalidTopicFilter),
                "{bad}"
            );
        }
        assert_eq!(validate_filter(""), Err(DecodeError::EmptyTopicFilter));
        for bad in [
            "$share/",
            "$share//a",
            "$share/g",
            "$share/g/",
            "$share/g+/a",
        ] {
            assert_eq!(
                validate_filter(bad),
                Err(DecodeError::InvalidSharedSubscription),
                "{bad}"
            );
        }
    }

    #[test]
    fn mqtt_4_7_matching_rules() {
        let cases = [
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/ranking",
                true,
            ),
            ("sport/#", "sport", true),
            ("sport/+", "sport", false),
            ("sport/+", "sport/", true),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
            ("#", "$SYS/x", false),
            ("+/monitor/Clients", "$SYS/monitor/Clients", false),
            ("$SYS/#", "$SYS/monitor/Clients", true),
            ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
            ("a/b", "a/b", true),
            ("a/b", "a/b/c", false),
            ("$share/g/a/+", "a/x", true),
        ];
        for (filter, topic, expected) in cases {
            assert_eq!(matches(filter, topic), expected, "{filter} vs {topic}");
        }
    }

    #[test]
    fn mqtt_3_3_2_2_names_reject_wildcards() {
        assert_eq!(validate_name("a/+"), Err(DecodeError::WildcardInTopicName));
        assert_eq!(validate_name("a/#"), Err(DecodeError::WildcardInTopicName));
        assert_eq!(validate_name(""), Err(DecodeError::EmptyTopicName));
        assert_eq!(validate_name("/"), Ok(()));
    }

    /// The word scan against a byte loop on strings dense with special bytes and their
    /// neighbours (where a word test's borrow could mark a byte wrongly), from every start.
    #[test]
    fn word_scan_agrees_with_a_byte_loop_on_dense_strings() {
        let alphabet = [b'a', b'+', b'#', 0, b'*', b'"', b',', b'$', 1, 0xff];
        for bytes in dense_strings(&alphabet, 0x2545_f491_4f6c_dd1d, 0..33, 200) {
            let len = bytes.len();
            for from in 0..=len {
                let expected = (from..len).find(|&i| is_special(bytes[i]));
                assert_eq!(
                    first_special(&bytes, from, len),
                    expected,
                    "{bytes:?} {from}"
                );
            }
        }
    }

    /// `per_len` pseudo-random strings (xorshift from `seed`) over `alphabet` for each length.
    fn dense_strings(
        alphabet: &[u8],
        mut seed: u64,
        lens: core::ops::Range<usize>,
        per_len: usize,
    ) -> impl Iterator<Item = alloc::vec::Vec<u8>> + '_ {
        lens.flat_map(move |len| core::iter::repeat_n(len, per_len))
            .map(move |len| {
                (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect()
            })
    }

    /// The level rules checked a word at a time against the same rules byte by byte, on
    /// strings dense with `/`, wildcards, NUL and their neighbours (several per word).
    #[test]
    fn filter_levels_agree_with_a_byte_loop() {
        let alphabet = [b'a', b'/', b'/', b'+', b'#', 0, b'*', b',', b'.', 0xff];
        for bytes in dense_strings(&alphabet, 0x9e37_79b9_7f4a_7c15, 1..40, 300) {
            let expected = (0..bytes.len())
                .filter(|&i| is_special(bytes[i]))
                .try_for_each(|i| check_special(&bytes, i, bytes[i]));
            assert_eq!(check_levels(&bytes), expected, "{bytes:?}");
        }
    }

    /// The word-at-a-time scan against a byte loop, at every position and length around the
    /// eight-byte chunks.
    #[test]
    fn word_scan_finds_the_first_special_byte_anywhere() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'+', b'#', 0] {
                    let mut bytes = alloc::vec![b'a'; len];
                    bytes[at] = special;
                    if at + 3 < len {
                        bytes[at + 3] = b'#';
                    }
                    assert_eq!(first_special(&bytes, 0, len), Some(at), "{len} {at}");
                    let next = first_special(&bytes, at + 1, len);
                    assert_eq!(next, (at + 3 < len).then_some(at + 3));
                    // Read within a longer buffer whose extra bytes are all special.
                    let mut longer = bytes.clone();
                    longer.extend_from_slice(&[0, b'+', b'#', 0, 0, 0, 0, 0]);
                    assert_eq!(first_special(&longer, 0, len), Some(at));
                    assert_eq!(first_special(&longer, at + 1, len), next);
                }
            }
            // Bytes one away from the special ones, and high bytes: never special.
            let plain: alloc::vec::Vec<u8> = (0..len)
                .map(|i| [b'*', b',', b'"', b'$', 1, 0xff, 0x80, 0xab][i % 8])
                .collect();
            assert_eq!(first_special(&plain, 0, len), None);
            assert!(!has_nul(&plain));
            for at in 0..len {
                let mut with_nul = plain.clone();
                with_nul[at] = 0;
                assert!(has_nul(&with_nul), "{len} {at}");
            }
            let mut longer = plain.clone();
            longer.extend_from_slice(&[0, b'+', b'#', 0, 0, 0, 0, 0]);
            assert_eq!(first_special(&longer, 0, len), None);
            assert_eq!(first_special(&longer, len, len), None);
        }
    }

    #[test]
    fn mqtt_1_5_4_2_no_null_in_any_part_of_a_filter() {
        // Found by the `encode` fuzz target: the share name was not checked, so the encoder
        // wrote a filter the decoder (rightly) refused.
        for bad in ["a/\0", "$share/g/\0", "$share/g\0/a", "$share/\0g/a/#"] {
            assert_eq!(
                validate_filter(bad),
                Err(DecodeError::NullCharacter),
                "{bad:?}"
            );
        }
    }
}
