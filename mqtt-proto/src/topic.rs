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
pub(crate) fn scan_name(name: &[u8]) -> Result<(), DecodeError> {
    for &b in name {
        match b {
            b'+' | b'#' => return Err(DecodeError::WildcardInTopicName),
            0 => return Err(DecodeError::NullCharacter),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a topic filter: non-empty; `#` only as the whole last level; `+` only as a whole
/// level [MQTT-4.7.1-1], [MQTT-4.7.1-2]; a `$share/ShareName/filter` has a non-empty share name
/// without wildcards and a valid filter [MQTT-4.8.2-1], [MQTT-4.8.2-2].
pub fn validate_filter(filter: &str) -> Result<(), DecodeError> {
    check_filter(filter.as_bytes())
}

/// [`validate_filter`] on the bytes of a filter (no UTF-8 decoding needed).
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
        if group.contains(&0) {
            // [MQTT-1.5.4-2]: the share name is part of the string too.
            return Err(DecodeError::NullCharacter);
        }
        if group.is_empty() || group.iter().any(|&b| b == b'+' || b == b'#') || inner.is_empty() {
            return Err(DecodeError::InvalidSharedSubscription);
        }
        return check_levels(inner);
    }
    check_levels(filter)
}

/// One pass: `+` only as a whole level, `#` only as the whole last level, no U+0000.
fn check_levels(filter: &[u8]) -> Result<(), DecodeError> {
    for (i, &b) in filter.iter().enumerate() {
        if matches!(b, b'+' | b'#' | 0) {
            check_special(filter, i, b)?;
        }
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
