//! Hand-written decoding of the packets that make up almost all traffic — PUBLISH and the four
//! publish acknowledgements — over plain slices, building the result in place.
//!
//! Same rules, same errors, in the same order as the `nom` parser of record
//! ([`super::parse_body`]); unit tests below and the `decode` fuzz target compare the two on
//! arbitrary input. PUBLISH property blocks are read by the hand-written reader of
//! [`super::publish_properties`], the general property parser deciding every block it declines
//! (an error among them).

use bytes::{Buf, Bytes, BytesMut};

use crate::bytestr::ByteStr;
use crate::error::DecodeError;
use crate::header::{FixedHeader, PacketType, ProtocolVersion, QoS};
use crate::storage::{Borrowed, IntoOwned};
use crate::topic_strings::TopicName;

use super::publish::{topic_present, PubResponse, Publish};
use super::publish_properties::{general_properties, owned_publish_properties, read_into};

pub(crate) const TRUNCATED: DecodeError = DecodeError::Truncated {
    packet: PacketType::Publish,
};

/// Splits a big-endian `u16` off the front of `input`.
#[allow(clippy::inline_always)] // measured with callgrind
#[inline(always)]
pub(crate) fn be_u16(input: &[u8]) -> Option<(u16, &[u8])> {
    match input {
        [hi, lo, rest @ ..] => Some((u16::from_be_bytes([*hi, *lo]), rest)),
        _ => None,
    }
}

/// PUBLISH body (MQTT 3.3).
#[allow(clippy::inline_always)] // measured with callgrind: built in the caller's result, not copied there
#[inline(always)]
pub(crate) fn publish(
    flags: u8,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<Publish<Borrowed<'_>>, DecodeError> {
    let view = publish_as(
        flags,
        body,
        version,
        |raw| {
            crate::utf8::text(raw)
                .map(Some)
                .map_err(|_| DecodeError::InvalidUtf8)
        },
        |block, kept: &mut crate::LazyRef<'_, _>| {
            // Read to be validated; kept as the raw block.
            let mut props = crate::PublishProperties::default();
            let payload = if let Some(payload) = read_into::<Borrowed<'_>>(block, (), &mut props) {
                payload
            } else {
                let (payload, general) = general_properties(block)?;
                props = general;
                payload
            };
            *kept = crate::LazyRef::new(crate::properties::raw_block(block, payload));
            Ok((payload, props.topic_alias.is_some()))
        },
    )?;
    Ok(Publish {
        dup: view.dup,
        qos: view.qos,
        retain: view.retain,
        topic: view.topic,
        packet_id: view.packet_id,
        properties: view.properties,
        payload: view.payload,
    })
}

/// A PUBLISH read by [`publish_as`]: its topic and payload views, the properties as the
/// caller keeps them.
struct View<'a, P> {
    dup: bool,
    qos: QoS,
    retain: bool,
    topic: &'a str,
    packet_id: Option<u16>,
    properties: P,
    payload: &'a [u8],
}

/// [`publish`], with the topic's UTF-8 check (and its `&str`, `None` to leave the topic
/// empty in the result) from `topic`, called where the parser of record checks it, and a
/// non-empty MQTT 5 property block read by `properties` into the result's (empty) properties:
/// it returns `(payload, whether they hold a Topic Alias)`.
#[allow(clippy::inline_always)] // measured with callgrind: built in the caller's result, not copied there
#[inline(always)]
fn publish_as<'a, P: Default>(
    flags: u8,
    body: &'a [u8],
    version: ProtocolVersion,
    topic: impl FnOnce(&'a [u8]) -> Result<Option<&'a str>, DecodeError>,
    properties: impl FnOnce(&'a [u8], &mut P) -> Result<(&'a [u8], bool), DecodeError>,
) -> Result<View<'a, P>, DecodeError> {
    let dup = flags & 0b1000 != 0;
    let qos = QoS::from_u8((flags >> 1) & 0b11)?;
    let retain = flags & 1 != 0;
    if dup && qos == QoS::AtMostOnce {
        return Err(DecodeError::DupWithQoS0);
    }
    let (len, rest) = be_u16(body).ok_or(TRUNCATED)?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(TRUNCATED);
    }
    crate::topic::scan_name_within(rest, len)?;
    let (raw_topic, rest) = rest.split_at(len);
    let topic = topic(raw_topic)?.unwrap_or_default();
    let (packet_id, rest) = if qos == QoS::AtMostOnce {
        (None, rest)
    } else {
        let (id, rest) = be_u16(rest).ok_or(TRUNCATED)?;
        if id == 0 {
            return Err(DecodeError::ZeroPacketId {
                packet: PacketType::Publish,
            });
        }
        (Some(id), rest)
    };
    let mut props = None;
    let (payload, aliased) = match version {
        ProtocolVersion::V311 => (rest, false),
        // An empty property block, the common case, without a property reader.
        ProtocolVersion::V5 => match rest {
            [0, payload @ ..] => (payload, false),
            _ => properties(rest, props.insert(P::default()))?,
        },
    };
    topic_present(raw_topic.is_empty(), aliased)?;
    Ok(View {
        dup,
        qos,
        retain,
        topic,
        packet_id,
        properties: props.unwrap_or_default(),
        payload,
    })
}

/// PUBLISH in its owned form, from its whole `frame` as split off the read buffer: the topic
/// is a slice of the frame and the payload is the frame itself, advanced past the header (one
/// reference count taken).
///
/// Ordered for the store buffer: a `Bytes` or `BytesMut` (32 bytes) that an out-of-line call of
/// the `bytes` crate has just written with 8-byte stores, copied at once with 16-byte loads,
/// stalls on store forwarding. Three such copies (after `split_to`, after `slice`, after
/// `advance`) took over half of `decode`'s own samples (perf annotate) without showing in
/// the instruction count. So the body is checked before the frame is frozen, which gives the
/// split's stores time to land; a property block, rare, is read after, out of line; the
/// payload is advanced in a local of its own, which stays in registers.
#[allow(clippy::inline_always)] // measured with callgrind: built in the caller's result, not copied there
#[inline(always)]
pub(crate) fn owned_publish(
    header: FixedHeader,
    frame: BytesMut,
    version: ProtocolVersion,
) -> Result<Publish, DecodeError> {
    // The topic only needs checking here (its `&str` is not kept).
    let mut topic_len = 0;
    let view = publish_as(
        header.flags,
        &frame[header.header_len..],
        version,
        |raw| {
            topic_len = raw.len();
            if crate::utf8::text(raw).is_ok() {
                Ok(None)
            } else {
                Err(DecodeError::InvalidUtf8)
            }
        },
        // A non-empty property block is only marked here (the view's properties) and read from
        // the frozen frame, below; taken as holding a Topic Alias meanwhile, so an empty topic
        // is judged there too.
        |block, present: &mut bool| {
            *present = true;
            Ok((block, true))
        },
    )?;
    let (dup, qos, retain, packet_id) = (view.dup, view.qos, view.retain, view.packet_id);
    let has_properties = view.properties;
    let topic_start = header.header_len + 2;
    let topic_end = topic_start + topic_len;
    // Where the payload starts, or the property block when there is one.
    let rest_start = frame.len() - view.payload.len();
    let frame = frame.freeze();
    let (payload_start, properties) = if has_properties {
        owned_properties(&frame, rest_start, topic_len == 0)?
    } else {
        (rest_start, crate::Boxed::none())
    };
    // Checked by the view's parser.
    let topic = if topic_end > topic_start {
        TopicName::from_checked(ByteStr::from_utf8_bytes(
            frame.slice(topic_start..topic_end),
        ))
    } else {
        TopicName::default()
    };
    let mut payload = frame;
    payload.advance(payload_start);
    Ok(Publish {
        dup,
        qos,
        retain,
        topic,
        packet_id,
        properties,
        payload,
    })
}

/// The rest of [`owned_publish`] for an MQTT 5 PUBLISH with a non-empty property block, at
/// `at` in the frozen `frame`: the properties read into a box with slices of the frame (at
/// least one property: an empty block is no allocation), then the empty-topic rule the view's
/// parser left to this point. Returns where the payload starts.
#[inline(never)]
fn owned_properties(
    frame: &Bytes,
    at: usize,
    empty_topic: bool,
) -> Result<(usize, crate::Boxed<crate::PublishProperties>), DecodeError> {
    let block = &frame[at..];
    let (payload, properties) =
        if let Some((payload, props)) = owned_publish_properties(block, frame) {
            (payload, crate::Boxed::from(Some(props)))
        } else {
            let (payload, props) = general_properties(block)?;
            (payload, crate::Boxed::new(props.into_owned(frame)))
        };
    topic_present(empty_topic, properties.topic_alias.is_some())?;
    Ok((frame.len() - payload.len(), properties))
}

/// The short form of PUBACK / PUBREC / PUBREL / PUBCOMP: a two-byte body (packet identifier,
/// reason Success, no properties). `None` for any other body, which the general parser reads.
#[inline]
pub(crate) fn short_response(
    packet: PacketType,
    body: &[u8],
) -> Option<Result<PubResponse<Borrowed<'_>>, DecodeError>> {
    let &[hi, lo] = body else {
        return None;
    };
    let packet_id = u16::from_be_bytes([hi, lo]);
    if packet_id == 0 {
        return Some(Err(DecodeError::ZeroPacketId { packet }));
    }
    Some(Ok(PubResponse {
        packet_id,
        reason_code: crate::reason::ReasonCode::Success,
        properties: Default::default(),
    }))
}

#[cfg(test)]
mod tests {
    use crate::storage::IntoOwned;
    use alloc::vec::Vec;

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::packet::{parse_body, Packet};

    fn version_of(v5: bool) -> ProtocolVersion {
        if v5 {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V311
        }
    }

    /// Both parsers on one body: the same packet or the same error.
    fn agree(first: u8, body: &[u8], version: ProtocolVersion) -> Result<(), TestCaseError> {
        let mut frame = Vec::with_capacity(body.len() + 5);
        frame.push(first);
        let mut len = [0u8; 4];
        let n = crate::varint::write(&mut len, body.len() as u32);
        frame.extend_from_slice(&len[..n]);
        frame.extend_from_slice(body);
        let Ok(Some(header)) = FixedHeader::parse(&frame, version, usize::MAX) else {
            return Ok(()); // reserved flags: neither parser is reached
        };
        let general = parse_body(header, body, version);
        if header.packet_type == PacketType::Publish {
            // The owned form too: same packet (as the general result made owned) or same error.
            let whole = Bytes::from(frame.clone());
            let owned =
                owned_publish(header, BytesMut::from(&frame[..]), version).map(Packet::Publish);
            let expected = general.clone().map(|p| p.into_owned(&whole));
            prop_assert_eq!(
                owned,
                expected,
                "owned: first byte {:#04x}, body {:02x?}",
                first,
                body
            );
        }
        let fast = match header.packet_type {
            PacketType::Publish => publish(header.flags, body, version).map(Packet::Publish),
            packet => match short_response(packet, body) {
                Some(r) => r.map(|p| match packet {
                    PacketType::PubAck => Packet::PubAck(p),
                    PacketType::PubRec => Packet::PubRec(p),
                    PacketType::PubRel => Packet::PubRel(p),
                    _ => Packet::PubComp(p),
                }),
                None => return Ok(()),
            },
        };
        prop_assert_eq!(
            fast,
            general,
            "first byte {:#04x}, body {:02x?}",
            first,
            body
        );
        Ok(())
    }

    /// Bodies that look like PUBLISH bodies: a plausible topic length, topic bytes drawn
    /// mostly from the interesting ones, then anything (packet id, properties, payload).
    fn publish_body() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            Just(b'a'),
            Just(b'/'),
            Just(b'+'),
            Just(b'#'),
            Just(0u8),
            Just(0xC3u8),
            Just(0xA9u8),
            Just(0xFFu8),
            any::<u8>(),
        ];
        (0u16..24, vec(byte, 0..24), vec(any::<u8>(), 0..24)).prop_map(|(len, topic, tail)| {
            let mut body = Vec::new();
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(&topic);
            body.extend_from_slice(&tail);
            body
        })
    }

    /// V5 tails: a property block (often empty, sometimes a topic alias) then a payload.
    fn v5_tail() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            1 => Just(alloc::vec![0u8]),
            1 => Just(alloc::vec![3u8, 0x23, 0, 1]),
            1 => Just(alloc::vec![3u8, 0x23, 0, 0]),
            1 => Just(alloc::vec![2u8, 0x01, 1]),
            1 => Just(alloc::vec![5u8, 0x01, 1]),
            1 => vec(any::<u8>(), 0..8),
            3 => (super::super::publish_properties::tests::property_block(), vec(any::<u8>(), 0..4)).prop_map(|(mut b, p)| {
                b.extend_from_slice(&p);
                b
            }),
        ]
    }

    /// PUBLISH packets near every rule of the encoder: empty topics (with and without an
    /// alias), topics near the wildcards, long or the longest a two-byte length holds (a
    /// `TopicName` refuses the rest when it is built); QoS/id/DUP combinations; sometimes a
    /// property.
    fn any_publish() -> impl Strategy<Value = Publish> {
        let topic = prop_oneof![
            Just(crate::TopicName::default()),
            "[a-c/+#\\x00é]{1,12}"
                .prop_filter_map("a valid name", |t| crate::TopicName::new(t).ok()),
            "[a-z/]{60,80}".prop_filter_map("a valid name", |t| crate::TopicName::new(t).ok()),
            (65_534usize..65_536)
                .prop_filter_map("a valid name", |n| crate::TopicName::new("a".repeat(n))
                    .ok()),
        ];
        (
            topic,
            0u8..3,
            proptest::option::of(0u16..3),
            any::<bool>(),
            any::<bool>(),
            vec(any::<u8>(), 0..200),
            proptest::option::of(0u16..3),
            proptest::option::of(any_properties()),
        )
            .prop_map(|(topic, qos, id, dup, retain, payload, alias, props)| {
                let mut p = Publish::new(topic, payload);
                p.qos = QoS::from_u8(qos).expect("0..3");
                p.packet_id = id;
                p.dup = dup;
                p.retain = retain;
                if let Some(props) = props {
                    p.properties = props.into();
                }
                p.properties.topic_alias = alias;
                p
            })
    }

    /// PUBLISH property sets near every rule of the encoder: strings with U+0000 or too long,
    /// a Topic Alias of 0, Subscription Identifiers, User Properties, the empty set.
    fn any_properties() -> impl Strategy<Value = crate::PublishProperties> {
        use proptest::option::of as opt;
        let text = prop_oneof![
            4 => "[a-z/+é]{0,20}",
            1 => Just(alloc::string::String::from("a\0b")),
            1 => (65_534usize..65_537).prop_map(|n| "a".repeat(n)),
        ];
        (
            opt(any::<bool>()),
            opt(any::<u32>()),
            opt(0u16..3),
            (opt(text.clone()), opt(text.clone())),
            opt(prop_oneof![
                4 => vec(any::<u8>(), 0..20),
                1 => Just(alloc::vec![0u8; 65_536]),
            ]),
            vec(0u32..3, 0..2),
            vec((text.clone(), text), 0..3),
        )
            .prop_map(
                |(format, expiry, alias, (response, content), correlation, ids, user)| {
                    crate::PublishProperties {
                        payload_format_indicator: format,
                        message_expiry_interval: expiry,
                        topic_alias: alias,
                        response_topic: response.map(Into::into),
                        correlation_data: correlation.map(Into::into),
                        subscription_identifiers: ids,
                        content_type: content.map(Into::into),
                        user_properties: user
                            .into_iter()
                            .map(|(k, v)| crate::UserProperty::new(k, v))
                            .collect(),
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn publish_encode_fast_path_agrees_with_the_checked_path(
            publish in any_publish(),
            v5 in any::<bool>(),
            max in proptest::option::of(0u32..300),
        ) {
            let version = version_of(v5);
            let (mut fast, mut checked) = (bytes::BytesMut::new(), bytes::BytesMut::new());
            let a = publish.encode_within(version, max, &mut fast);
            let b = publish.encode_checked(version, max, &mut checked);
            prop_assert_eq!(a, b);
            prop_assert_eq!(fast, checked);
        }

        #[test]
        fn ack_encode_fast_path_agrees_with_the_checked_path(
            packet in 4u8..8,
            v5 in any::<bool>(),
            id in 0u16..3,
            reason in any::<bool>(),
            prop in any::<bool>(),
        ) {
            use crate::reason::ReasonCode;
            let version = version_of(v5);
            let packet = match packet {
                4 => PacketType::PubAck,
                5 => PacketType::PubRec,
                6 => PacketType::PubRel,
                _ => PacketType::PubComp,
            };
            let mut r = PubResponse::new(id);
            if reason {
                r.reason_code = if packet == PacketType::PubRel || packet == PacketType::PubComp {
                    ReasonCode::PacketIdentifierNotFound
                } else {
                    ReasonCode::NoMatchingSubscribers
                };
            }
            if prop {
                r.properties.reason_string = Some("why".into());
            }
            let (mut fast, mut checked) = (bytes::BytesMut::new(), bytes::BytesMut::new());
            let a = r.encode(packet, version, &mut fast);
            let b = r.sizes(packet, version).and_then(|sizes| {
                let total = crate::wire::total_len(sizes.0)?;
                r.put(packet, sizes, &mut checked);
                Ok(total)
            });
            prop_assert_eq!(a, b);
            prop_assert_eq!(fast, checked);
        }

        #[test]
        fn publish_fast_path_agrees_with_the_parser(
            flags in 0u8..16,
            v5 in any::<bool>(),
            body in publish_body(),
            id in vec(any::<u8>(), 0..3),
            tail in v5_tail(),
            payload in vec(any::<u8>(), 0..8),
        ) {
            let version = version_of(v5);
            agree(0x30 | flags, &body, version)?;
            // The same topic followed by an id, a property block and a payload.
            let len = usize::from(u16::from_be_bytes([body[0], body[1]]));
            let mut framed = body[..body.len().min(2 + len)].to_vec();
            framed.extend_from_slice(&id);
            framed.extend_from_slice(&tail);
            framed.extend_from_slice(&payload);
            agree(0x30 | flags, &framed, version)?;
        }

        #[test]
        fn ack_fast_path_agrees_with_the_parser(
            packet in 4u8..8,
            v5 in any::<bool>(),
            body in vec(any::<u8>(), 0..5),
        ) {
            let version = version_of(v5);
            let flags = if packet == 6 { 0b0010 } else { 0 };
            agree(packet << 4 | flags, &body, version)?;
            agree(packet << 4 | flags, &[0, 0], version)?;
        }
    }
}
