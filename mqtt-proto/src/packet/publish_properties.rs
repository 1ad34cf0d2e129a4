//! PUBLISH property blocks by hand, for the fast PUBLISH paths: a reader over plain slices
//! for the decoder ([`super::fast`]), and a sizer and writer into a [`Frame`] for the encoder
//! (`Publish::encode_plain`). Each does what it can with the general property code's rules
//! and leaves everything else (every error among it) to that code; the tests compare them.

use alloc::boxed::Box;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::bytestr::ByteStr;
use crate::error::DecodeError;
use crate::header::PacketType;
use crate::properties::{id, PublishProperties, UserProperty};
use crate::storage::{Borrowed, IntoOwned, Owned, SeqRef, Storage};
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

/// The properties of a PUBLISH property block the decoder has validated: by [`read_into`],
/// or by the general parser for the blocks it declines. (Validated, the block cannot fail
/// here; an empty set would stand for a failure.)
pub(crate) fn read_block(block: &[u8]) -> PublishProperties<Borrowed<'_>> {
    let mut props = PublishProperties::default();
    if read_into::<Borrowed<'_>>(block, (), &mut props).is_some() {
        return props;
    }
    general_properties(block)
        .map(|(_, p)| p)
        .unwrap_or_default()
}

/// [`read_into`] for the owned decoder: the values are slices of `frame` (which `input` lies
/// within), read straight into the boxed set the owned PUBLISH keeps rather than into a
/// borrowed set converted field by field (callgrind, `profile decode_v5`: 1,134 -> 975
/// instructions).
#[inline]
pub(crate) fn owned_publish_properties<'a>(
    input: &'a [u8],
    frame: &'a Bytes,
) -> Option<(&'a [u8], Box<PublishProperties<Owned>>)> {
    let mut props = Box::<PublishProperties<Owned>>::default();
    let rest = read_into::<Owned>(input, frame, &mut props)?;
    Some((rest, props))
}

/// How [`read_into`] keeps what it reads: as views into the block (borrowed) or as slices of
/// the received frame (owned).
pub(crate) trait Keep<'a>: Storage {
    /// What owned values are cut from: nothing (borrowed) or the frame.
    type Frame: Copy;
    /// A string read from the block.
    fn text(frame: Self::Frame, s: &'a str) -> Self::Str;
    /// Binary data read from the block.
    fn bin(frame: Self::Frame, b: &'a [u8]) -> Self::Bin;
    /// Records Subscription Identifier `v`, read from `block`.
    fn sub_id(frame: Self::Frame, ids: &mut Self::Seq<u32>, block: &'a [u8], v: u32);
    /// Records a User Property read from `block`.
    fn user_property(
        frame: Self::Frame,
        list: &mut Self::Seq<UserProperty<Self>>,
        block: &'a [u8],
        pair: (&'a str, &'a str),
    );
}

impl<'a> Keep<'a> for Borrowed<'a> {
    type Frame = ();
    fn text((): (), s: &'a str) -> &'a str {
        s
    }
    fn bin((): (), b: &'a [u8]) -> &'a [u8] {
        b
    }
    fn sub_id((): (), ids: &mut SeqRef<'a, u32>, block: &'a [u8], _: u32) {
        // Read again lazily from the block, as the general parser keeps them.
        *ids = SeqRef::new(block);
    }
    fn user_property(
        (): (),
        list: &mut SeqRef<'a, UserProperty<Self>>,
        block: &'a [u8],
        _: (&'a str, &'a str),
    ) {
        *list = SeqRef::new(block);
    }
}

impl<'a> Keep<'a> for Owned {
    type Frame = &'a Bytes;
    fn text(frame: &'a Bytes, s: &'a str) -> ByteStr {
        s.into_owned(frame)
    }
    fn bin(frame: &'a Bytes, b: &'a [u8]) -> Bytes {
        b.into_owned(frame)
    }
    fn sub_id(_: &'a Bytes, ids: &mut Vec<u32>, _: &'a [u8], v: u32) {
        ids.push(v);
    }
    fn user_property(
        frame: &'a Bytes,
        list: &mut Vec<UserProperty>,
        _: &'a [u8],
        (key, value): (&'a str, &'a str),
    ) {
        list.push(UserProperty {
            key: Self::text(frame, key),
            value: Self::text(frame, value),
        });
    }
}

/// Reads the PUBLISH property block at the front of `input` into `props` (an empty set) over
/// plain slices and returns what follows the block: the properties a PUBLISH may carry, each
/// by its one-byte identifier, with the general parser's rules (each at most once but
/// Subscription Identifier and User Property; Payload Format Indicator 0 or 1; Topic Alias and
/// Subscription Identifier non-zero; strings well-formed UTF-8 without U+0000). `None` for
/// anything else — a broken rule, a property a PUBLISH may not carry, a block shorter than its
/// length — which the general parser then decodes or refuses with its error; `props` is then
/// partly filled. The borrowed decoder reads into its result in place (callgrind, `profile
/// decode_ref_v5`: 549 -> 495 instructions against a set returned by value).
#[inline]
pub(crate) fn read_into<'a, S: Keep<'a>>(
    input: &'a [u8],
    frame: S::Frame,
    props: &mut PublishProperties<S>,
) -> Option<&'a [u8]> {
    let (len, n) = crate::varint::parse_streaming(input).ok()??;
    let (block, rest) = input.get(n..)?.split_at_checked(len as usize)?;
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
            id::CONTENT_TYPE => once_string::<S>(frame, &mut props.content_type, tail)?,
            id::RESPONSE_TOPIC => once_string::<S>(frame, &mut props.response_topic, tail)?,
            id::CORRELATION_DATA => {
                let (tail, data) = wire::prefixed(tail)?;
                if props.correlation_data.is_some() {
                    return None;
                }
                props.correlation_data = Some(S::bin(frame, data));
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
                S::sub_id(frame, &mut props.subscription_identifiers, block, v);
                tail.get(n..)?
            }
            id::USER_PROPERTY => {
                let (tail, key) = wire::prefixed(tail)?;
                let (tail, value) = wire::prefixed(tail)?;
                let pair = (wire::check_utf8(key).ok()?, wire::check_utf8(value).ok()?);
                S::user_property(frame, &mut props.user_properties, block, pair);
                tail
            }
            _ => return None,
        };
    }
    Some(rest)
}

/// A string property that may appear once: stores it in `slot`, returns what follows it.
#[inline]
fn once_string<'a, S: Keep<'a>>(
    frame: S::Frame,
    slot: &mut Option<S::Str>,
    input: &'a [u8],
) -> Option<&'a [u8]> {
    let (rest, raw) = wire::prefixed(input)?;
    let s = wire::check_utf8(raw).ok()?;
    if slot.is_some() {
        return None;
    }
    *slot = Some(S::text(frame, s));
    Some(rest)
}

/// The bytes of `props` (without their length) for the plain PUBLISH encoder, after the
/// general encoder's rules for them (Topic Alias non-zero; strings and binary data within
/// their two-byte length, strings without U+0000). `None` for a set with Subscription
/// Identifiers (a server's, rare) or a broken rule: the general encoder then decides.
#[inline]
pub(crate) fn plain_len(props: &PublishProperties) -> Option<usize> {
    if !props.subscription_identifiers.is_empty() || props.topic_alias == Some(0) {
        return None;
    }
    let mut len = 2 * usize::from(props.payload_format_indicator.is_some())
        + 5 * usize::from(props.message_expiry_interval.is_some())
        + 3 * usize::from(props.topic_alias.is_some());
    if let Some(s) = &props.response_topic {
        len += 1 + wire::string_len(s.as_bytes()).ok()?;
    }
    if let Some(s) = &props.content_type {
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
/// property as one word store, each string with its identifier and length as one. Inlined
/// into the plain encoder's frame writer, so that the frame's cursor stays in a register: out
/// of line, each property's write went through the cursor in memory, and a criterion row
/// moved between 21 and 37 ns with the process's stack placement (store forwarding).
#[allow(clippy::inline_always)] // measured, as above
#[inline(always)]
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

/// The properties of a plain MQTT 5 PUBLISH frame ([`put_plain`]).
impl wire::FramePart for &PublishProperties {
    #[allow(clippy::inline_always)] // measured (see `put_plain`)
    #[inline(always)]
    fn put(self, frame: &mut Frame<'_>) {
        put_plain(self, frame);
    }
}

/// A property identifier and a length-prefixed value (its length checked by [`plain_len`]).
#[allow(clippy::inline_always)] // measured with callgrind (see `put_plain`)
#[inline(always)]
fn put_field(frame: &mut Frame<'_>, pid: u8, value: &[u8]) {
    let [a, b] = (value.len() as u16).to_be_bytes();
    frame.store([pid, a, b], 3);
    frame.copy(value);
}

#[cfg(test)]
pub(crate) mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    /// The borrowed reader's set, by value.
    fn publish_properties(input: &[u8]) -> Option<(&[u8], PublishProperties<Borrowed<'_>>)> {
        let mut props = PublishProperties::default();
        let rest = read_into::<Borrowed<'_>>(input, (), &mut props)?;
        Some((rest, props))
    }

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
            let frame = Bytes::copy_from_slice(block);
            let owned = owned_publish_properties(&frame, &frame);
            assert!(owned.is_some(), "{block:02x?}");
            assert_eq!(owned, owned_by_general_parser(&frame), "{block:02x?}");
        }
    }

    /// What the owned decoder kept before its own reader: the general parser's set, converted.
    fn owned_by_general_parser(frame: &Bytes) -> Option<(&[u8], Box<PublishProperties>)> {
        let (rest, props) = general_properties(frame).ok()?;
        Some((rest, Box::new(props.into_owned(frame))))
    }

    /// The owned reader's values are slices of the frame (no copies), in the block's order.
    #[test]
    fn owned_reader_shares_the_frame() {
        let frame = Bytes::from_static(
            b"\x14\x03\x00\x01t\x0b\x05\x26\x00\x01k\x00\x01v\x0b\x07\x09\x00\x02\x01\x02rest",
        );
        let (rest, props) = owned_publish_properties(&frame, &frame).expect("read");
        assert_eq!(rest, b"rest");
        assert_eq!(props.subscription_identifiers, [5, 7]);
        let inside = |b: &[u8]| frame.as_ptr_range().contains(&b.as_ptr());
        let content_type = props.content_type.as_ref().expect("content type");
        let data = props.correlation_data.as_ref().expect("correlation data");
        assert!(inside(content_type.as_bytes()) && inside(data));
        assert_eq!(&props.user_properties[0].key, "k");
        assert!(inside(props.user_properties[0].value.as_bytes()));
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

        /// The owned reader keeps exactly what the general parser reads, converted, and
        /// declines only blocks the general parser refuses.
        #[test]
        fn owned_reader_agrees_with_the_general_parser(
            block in property_block(),
            after in vec(any::<u8>(), 0..3),
        ) {
            let mut input = block;
            input.extend_from_slice(&after);
            let frame = Bytes::from(input);
            let general = owned_by_general_parser(&frame);
            match owned_publish_properties(&frame, &frame) {
                Some(read) => prop_assert_eq!(Some(read), general, "{:02x?}", frame),
                None => prop_assert!(general.is_none(), "declined a valid block {:02x?}", frame),
            }
        }
    }
}
