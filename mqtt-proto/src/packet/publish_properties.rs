//! PUBLISH property blocks by hand, for the fast PUBLISH paths: a reader over plain slices
//! for the decoder ([`super::fast`]), and a sizer and writer into a [`Frame`] for the encoder
//! (`Publish::encode_plain`). Each does what it can with the general property code's rules
//! and leaves everything else (every error among it) to that code; the tests compare them.

use crate::error::DecodeError;
use crate::header::PacketType;
use crate::properties::{id, PublishProperties};
use crate::storage::{Borrowed, SeqRef};
use crate::wire::{self, Frame};

use super::fast::{be_u16, TRUNCATED};

/// A PUBLISH property block by the general property parser, its failure as the decoder's.
#[allow(clippy::inline_always)] // measured with callgrind: a borrowed PUBLISH decode 335 -> 329
#[inline(always)]
pub(crate) fn general_properties(
    input: &[u8],
) -> Result<(&[u8], PublishProperties<Borrowed<'_>>), DecodeError> {
    match PublishProperties::parse(input, PacketType::Publish) {
        Ok(parsed) => Ok(parsed),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            Err(e.into_decode_error(PacketType::Publish))
        }
        Err(nom::Err::Incomplete(_)) => Err(TRUNCATED),
    }
}

/// The PUBLISH property block at the front of `input` and what follows it, read over plain
/// slices: the properties a PUBLISH may carry, each by its one-byte identifier, with the
/// general parser's rules (each at most once but Subscription Identifier and User Property;
/// Payload Format Indicator 0 or 1; Topic Alias and Subscription Identifier non-zero; strings
/// well-formed UTF-8 without U+0000). `None` for anything else — a broken rule, a property a
/// PUBLISH may not carry, a block shorter than its length — which the general parser then
/// decodes or refuses with its error (callgrind: an MQTT 5 owned decode with three properties,
/// see `benches` `profile decode_v5`).
#[inline]
pub(crate) fn publish_properties(input: &[u8]) -> Option<(&[u8], PublishProperties<Borrowed<'_>>)> {
    let (len, n) = crate::varint::parse_streaming(input).ok()??;
    let (block, rest) = input.get(n..)?.split_at_checked(len as usize)?;
    let mut props = PublishProperties::default();
    let mut cur = block;
    while let Some((&pid, tail)) = cur.split_first() {
        cur = match pid {
            id::PAYLOAD_FORMAT_INDICATOR => {
                let (&v, tail) = tail.split_first()?;
                if props.payload_format_indicator.is_some() || v > 1 {
                    return None;
                }
                props.payload_format_indicator = Some(v == 1);
                tail
            }
            id::MESSAGE_EXPIRY_INTERVAL => {
                let (v, tail) = tail.split_first_chunk::<4>()?;
                if props.message_expiry_interval.is_some() {
                    return None;
                }
                props.message_expiry_interval = Some(u32::from_be_bytes(*v));
                tail
            }
            id::CONTENT_TYPE => once_string(&mut props.content_type, tail)?,
            id::RESPONSE_TOPIC => once_string(&mut props.response_topic, tail)?,
            id::CORRELATION_DATA => {
                let (tail, data) = wire::prefixed(tail)?;
                if props.correlation_data.replace(data).is_some() {
                    return None;
                }
                tail
            }
            id::TOPIC_ALIAS => {
                let (alias, tail) = be_u16(tail)?;
                if alias == 0 || props.topic_alias.replace(alias).is_some() {
                    return None;
                }
                tail
            }
            id::SUBSCRIPTION_IDENTIFIER => {
                let (v, n) = crate::varint::parse_streaming(tail).ok()??;
                if v == 0 {
                    return None;
                }
                // Read again lazily from the block, as the general parser keeps them.
                props.subscription_identifiers = SeqRef::new(block);
                tail.get(n..)?
            }
            id::USER_PROPERTY => {
                let (tail, key) = wire::prefixed(tail)?;
                let (tail, value) = wire::prefixed(tail)?;
                wire::check_utf8(key).ok()?;
                wire::check_utf8(value).ok()?;
                props.user_properties = SeqRef::new(block);
                tail
            }
            _ => return None,
        };
    }
    Some((rest, props))
}

/// A string property that may appear once: stores it in `slot`, returns what follows it.
#[allow(clippy::inline_always)] // measured with callgrind (see `publish_properties`)
#[inline(always)]
fn once_string<'a>(slot: &mut Option<&'a str>, input: &'a [u8]) -> Option<&'a [u8]> {
    let (rest, raw) = wire::prefixed(input)?;
    if slot.replace(wire::check_utf8(raw).ok()?).is_some() {
        return None;
    }
    Some(rest)
}

/// The bytes of `props` (without their length) for the plain PUBLISH encoder, after the
/// general encoder's rules for them (Topic Alias non-zero; strings and binary data within
/// their two-byte length, strings without U+0000). `None` for a set with Subscription
/// Identifiers (a server's, rare) or a broken rule: the general encoder then decides.
pub(crate) fn plain_len(props: &PublishProperties) -> Option<usize> {
    if !props.subscription_identifiers.is_empty() || props.topic_alias == Some(0) {
        return None;
    }
    let mut len = 2 * usize::from(props.payload_format_indicator.is_some())
        + 5 * usize::from(props.message_expiry_interval.is_some())
        + 3 * usize::from(props.topic_alias.is_some());
    for s in [&props.response_topic, &props.content_type]
        .into_iter()
        .flatten()
    {
        len += 1 + wire::string_len(s.as_bytes()).ok()?;
    }
    if let Some(data) = &props.correlation_data {
        len += 1 + wire::binary_len(data).ok()?;
    }
    for p in &props.user_properties {
        len += 1
            + wire::string_len(p.key.as_bytes()).ok()?
            + wire::string_len(p.value.as_bytes()).ok()?;
    }
    Some(len)
}

/// Writes `props` (sized by [`plain_len`]) in the general encoder's order: each fixed-size
/// property as one word store, each string with its identifier and length as one.
pub(crate) fn put_plain(props: &PublishProperties, frame: &mut Frame<'_>) {
    if let Some(v) = props.payload_format_indicator {
        frame.store([id::PAYLOAD_FORMAT_INDICATOR, u8::from(v)], 2);
    }
    if let Some(v) = props.message_expiry_interval {
        let [a, b, c, d] = v.to_be_bytes();
        frame.store([id::MESSAGE_EXPIRY_INTERVAL, a, b, c, d], 5);
    }
    if let Some(v) = props.topic_alias {
        let [a, b] = v.to_be_bytes();
        frame.store([id::TOPIC_ALIAS, a, b], 3);
    }
    if let Some(s) = &props.response_topic {
        put_field(frame, id::RESPONSE_TOPIC, s.as_bytes());
    }
    if let Some(data) = &props.correlation_data {
        put_field(frame, id::CORRELATION_DATA, data);
    }
    if let Some(s) = &props.content_type {
        put_field(frame, id::CONTENT_TYPE, s.as_bytes());
    }
    for p in &props.user_properties {
        put_field(frame, id::USER_PROPERTY, p.key.as_bytes());
        frame.prefixed(p.value.as_bytes());
    }
}

/// A property identifier and a length-prefixed value (its length checked by [`plain_len`]).
#[allow(clippy::inline_always)] // measured with callgrind (see `put_plain`)
#[inline(always)]
fn put_field(frame: &mut Frame<'_>, pid: u8, value: &[u8]) {
    let [a, b] = (value.len() as u16).to_be_bytes();
    frame.store([pid, a, b], 3);
    frame.copy_short(value);
}

#[cfg(test)]
pub(crate) mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    /// One property near every rule of a PUBLISH property block: each property a PUBLISH may
    /// carry, valid and not (0 where that is refused, 2 for a flag, strings with U+0000,
    /// non-ASCII or broken UTF-8, short values), properties it may not carry, an identifier
    /// past one byte or non-minimal, a truncated value.
    fn property() -> impl Strategy<Value = Vec<u8>> {
        let text = prop_oneof![
            Just(b"application/json".to_vec()),
            Just(b"a".to_vec()),
            Just(Vec::new()),
            Just(b"a\0b".to_vec()),
            Just(alloc::vec![0xC3, 0xA9]),
            Just(alloc::vec![0xC3]),
            Just(alloc::vec![0xED, 0xA0, 0x80]),
            vec(any::<u8>(), 0..12),
        ];
        let string = text.prop_map(|t| {
            let mut v = (t.len() as u16).to_be_bytes().to_vec();
            v.extend_from_slice(&t);
            v
        });
        let with_id = |pid: u8, value: Vec<u8>| {
            let mut v = alloc::vec![pid];
            v.extend_from_slice(&value);
            v
        };
        prop_oneof![
            (0u8..3).prop_map(move |v| with_id(0x01, alloc::vec![v])),
            any::<u32>().prop_map(move |v| with_id(0x02, v.to_be_bytes().to_vec())),
            string.clone().prop_map(move |v| with_id(0x03, v)),
            string.clone().prop_map(move |v| with_id(0x08, v)),
            string.clone().prop_map(move |v| with_id(0x09, v)),
            (0u16..3).prop_map(move |v| with_id(0x23, v.to_be_bytes().to_vec())),
            prop_oneof![
                Just(alloc::vec![0u8]),
                Just(alloc::vec![1u8]),
                Just(alloc::vec![0x80u8, 0x01]),
                Just(alloc::vec![0x80u8, 0x00]),
                Just(alloc::vec![0xFFu8, 0xFF, 0xFF, 0x7F]),
                Just(alloc::vec![0xFFu8, 0xFF, 0xFF, 0xFF, 0x01]),
            ]
            .prop_map(move |v| with_id(0x0B, v)),
            (string.clone(), string).prop_map(move |(k, v)| {
                let mut kv = k;
                kv.extend_from_slice(&v);
                with_id(0x26, kv)
            }),
            // Not for PUBLISH, undefined, an identifier in two bytes (non-minimal 1; 128).
            Just(alloc::vec![0x11u8, 0, 0, 0, 1]),
            Just(alloc::vec![0x7Fu8, 0]),
            Just(alloc::vec![0x81u8, 0x00, 1]),
            Just(alloc::vec![0x80u8, 0x01, 1]),
            // Truncated values.
            Just(alloc::vec![0x02u8, 0, 0]),
            Just(alloc::vec![0x03u8, 0, 5, b'a']),
            Just(alloc::vec![0x23u8, 0]),
        ]
    }

    /// A property block: its length (right, or off by a little; sometimes in a non-minimal
    /// two bytes) then up to four properties.
    pub(crate) fn property_block() -> impl Strategy<Value = Vec<u8>> {
        (vec(property(), 0..5), -2i32..3, any::<bool>()).prop_map(|(parts, off, wide)| {
            let body: Vec<u8> = parts.concat();
            let off = if off.abs() == 2 { 0 } else { off };
            let len = u32::try_from(body.len())
                .unwrap_or(0)
                .saturating_add_signed(off);
            let mut block = Vec::new();
            if wide && len < 128 {
                block.extend_from_slice(&[0x80 | len as u8, 0x00]);
            } else {
                let mut prefix = [0u8; 4];
                let n = crate::varint::write(&mut prefix, len);
                block.extend_from_slice(&prefix[..n]);
            }
            block.extend_from_slice(&body);
            block
        })
    }

    /// The property blocks an MQTT 5 application sends are read here, not by the general
    /// parser (which the agreement tests alone would not show).
    #[test]
    fn common_property_blocks_take_the_plain_reader() {
        let blocks: [&[u8]; 4] = [
            // Content Type, Message Expiry Interval, Payload Format Indicator.
            b"\x1a\x03\x00\x10application/json\x02\x00\x00\x00\x3c\x01\x01",
            // Topic Alias.
            b"\x03\x23\x00\x05",
            // Response Topic, Correlation Data, two User Properties, a Subscription Identifier.
            b"\x1b\x08\x00\x03a/b\x09\x00\x02\x01\x02\x26\x00\x01k\x00\x01v\x26\x00\x01k\x00\x01w\x0b\x07",
            // A block longer than 127 bytes (a two-byte length).
            &[&[0x83u8, 0x01, 0x03, 0x00, 0x80][..], &[b'x'; 128][..]].concat(),
        ];
        for block in blocks {
            let read = publish_properties(block);
            assert!(read.is_some(), "{block:02x?}");
            assert_eq!(read, general_properties(block).ok(), "{block:02x?}");
        }
    }
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The plain property reader reads a block only as the general parser does, and
        /// declines only blocks the general parser refuses.
        #[test]
        fn property_reader_agrees_with_the_general_parser(
            block in property_block(),
            after in vec(any::<u8>(), 0..3),
        ) {
            let mut input = block;
            input.extend_from_slice(&after);
            let general = general_properties(&input);
            match publish_properties(&input) {
                Some(read) => prop_assert_eq!(Ok(read), general, "{:02x?}", input),
                None => prop_assert!(general.is_err(), "declined a valid block {:02x?}", input),
            }
        }
    }
}
