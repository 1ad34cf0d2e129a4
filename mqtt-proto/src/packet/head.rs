//! The head of a PUBLISH (flags, topic, packet identifier) read without its payload: what a
//! reader needs to acknowledge and report a message larger than it accepts, skipping the rest
//! of its bytes as they arrive instead of holding them.

use crate::error::DecodeError;
use crate::header::{PacketType, QoS};
use crate::varint;

/// Flags, topic and packet identifier of a PUBLISH whose payload (and MQTT 5 properties) were
/// not read. See [`decode_publish_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishHead<'a> {
    /// Re-delivery of an earlier attempt.
    pub dup: bool,
    /// Quality of service.
    pub qos: QoS,
    /// Retained message.
    pub retain: bool,
    /// Topic name as sent (empty in MQTT 5 when a topic alias stands for it).
    pub topic: &'a str,
    /// Packet identifier: `Some` exactly when QoS > 0.
    pub packet_id: Option<u16>,
    /// Size of the whole packet, fixed header included.
    pub size: usize,
}

/// Reads the head of the PUBLISH at the start of `input` — fixed header, topic, packet
/// identifier — however large the packet is, with the same checks as the full decoder for
/// those fields (QoS 3, DUP on QoS 0, UTF-8, wildcards, U+0000, identifier 0). `Ok(None)` until
/// they have all arrived (at most 65,542 bytes). Another packet type is
/// [`DecodeError::NotPublish`].
///
/// ```
/// use mqtt_proto::{decode_publish_head, QoS};
/// // PUBLISH QoS 1 "a/b" id 7, announcing 2,000,000 bytes of which only the head arrived.
/// let bytes = [0x32, 0x80, 0x89, 0x7a, 0, 3, b'a', b'/', b'b', 0, 7];
/// let head = decode_publish_head(&bytes)?.expect("the head is here");
/// assert_eq!((head.topic, head.qos, head.packet_id), ("a/b", QoS::AtLeastOnce, Some(7)));
/// assert_eq!(head.size, 1 + 3 + 2_000_000);
/// # Ok::<(), mqtt_proto::DecodeError>(())
/// ```
pub fn decode_publish_head(input: &[u8]) -> Result<Option<PublishHead<'_>>, DecodeError> {
    let Some(&first) = input.first() else {
        return Ok(None);
    };
    if first >> 4 != PacketType::Publish as u8 {
        let packet = PacketType::from_nibble(first >> 4, crate::ProtocolVersion::V5)?;
        return Err(DecodeError::NotPublish(packet));
    }
    let qos = QoS::from_u8((first >> 1) & 0b11)?;
    let dup = first & 0b1000 != 0;
    if dup && qos == QoS::AtMostOnce {
        return Err(DecodeError::DupWithQoS0);
    }
    let Some((remaining, varint_len)) = varint::parse_streaming(&input[1..])? else {
        return Ok(None);
    };
    let header_len = 1 + varint_len;
    let body = &input[header_len..];
    let Some(&[hi, lo]) = body.first_chunk::<2>() else {
        return Ok(None);
    };
    let topic_len = usize::from(u16::from_be_bytes([hi, lo]));
    let id_len = if qos == QoS::AtMostOnce { 0 } else { 2 };
    if 2 + topic_len + id_len > remaining as usize {
        return Err(DecodeError::Truncated {
            packet: PacketType::Publish,
        });
    }
    let Some(rest) = body.get(2..) else {
        return Ok(None);
    };
    let (Some(raw_topic), Some(id)) = (
        rest.get(..topic_len),
        rest.get(topic_len..topic_len + id_len),
    ) else {
        return Ok(None);
    };
    crate::topic::scan_name(raw_topic)?;
    let topic = crate::utf8::text(raw_topic).map_err(|_| DecodeError::InvalidUtf8)?;
    let packet_id = match *id {
        [hi, lo] => match u16::from_be_bytes([hi, lo]) {
            0 => {
                return Err(DecodeError::ZeroPacketId {
                    packet: PacketType::Publish,
                })
            }
            id => Some(id),
        },
        // QoS 0: no identifier.
        _ => None,
    };
    Ok(Some(PublishHead {
        dup,
        qos,
        retain: first & 1 != 0,
        topic,
        packet_id,
        size: header_len + remaining as usize,
    }))
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::{decode_ref, Packet, ProtocolVersion};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// On any bytes that start like a PUBLISH (a valid frame, or one with a corrupted
        /// byte): whenever the full decoder reads a PUBLISH, the head has its fields and size.
        /// Every prefix of a valid frame before the end of its head is `Ok(None)`.
        #[test]
        fn agrees_with_the_full_decoder(
            flags in 0u8..16,
            topic in "[a-c/+#\\x00é]{0,9}",
            id in any::<u16>(),
            payload in vec(any::<u8>(), 0..40),
            v5 in any::<bool>(),
            corrupt in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
        ) {
            let version = if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
            let mut body = Vec::new();
            body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
            body.extend_from_slice(topic.as_bytes());
            if (flags >> 1) & 3 != 0 {
                body.extend_from_slice(&id.to_be_bytes());
            }
            if v5 {
                body.push(0);
            }
            body.extend_from_slice(&payload);
            let mut frame = alloc::vec![0x30 | flags, body.len() as u8];
            frame.extend_from_slice(&body);
            if let Some((at, byte)) = corrupt {
                let i = at.index(frame.len() - 1) + 1; // keep the packet type
                frame[i] = byte;
            }
            let full = decode_ref(&frame, version, usize::MAX);
            let head = decode_publish_head(&frame);
            // (The head may refuse sooner: a frame still arriving can already show a bad topic.)
            if let Ok(Some((Packet::Publish(p), used))) = &full {
                let h = head.clone().expect("head of a valid PUBLISH").expect("whole");
                prop_assert_eq!(
                    (h.dup, h.qos, h.retain, h.topic, h.packet_id, h.size),
                    (p.dup, p.qos, p.retain, p.topic, p.packet_id, *used)
                );
            }
            if let (None, Ok(Some(h))) = (corrupt, head) {
                // A one-byte remaining length here: the head ends after the topic and id.
                let id_len = if h.qos == QoS::AtMostOnce { 0 } else { 2 };
                for end in 0..2 + 2 + h.topic.len() + id_len {
                    prop_assert_eq!(decode_publish_head(&frame[..end]), Ok(None), "{}", end);
                }
            }
        }
    }

    #[test]
    fn a_prefix_of_the_head_waits_and_another_packet_is_refused() {
        let frame = [0x34, 0x80, 0x80, 0x02, 0, 1, b't', 0x12, 0x34];
        for end in 0..frame.len() {
            assert_eq!(decode_publish_head(&frame[..end]), Ok(None), "{end}");
        }
        let head = decode_publish_head(&frame).expect("valid").expect("whole");
        assert_eq!(
            (head.qos, head.topic, head.packet_id, head.size),
            (QoS::ExactlyOnce, "t", Some(0x1234), 4 + 32_768)
        );
        assert_eq!(
            decode_publish_head(&[0x40, 2, 0, 1]),
            Err(DecodeError::NotPublish(PacketType::PubAck))
        );
        assert_eq!(
            decode_publish_head(&[0x32, 5, 0, 1, b'+', 0, 1]),
            Err(DecodeError::WildcardInTopicName)
        );
        assert_eq!(
            decode_publish_head(&[0x32, 5, 0, 1, b't', 0, 0]),
            Err(DecodeError::ZeroPacketId {
                packet: PacketType::Publish
            })
        );
        assert_eq!(
            decode_publish_head(&[0x32, 3, 0, 1, b't', 0, 1]),
            Err(DecodeError::Truncated {
                packet: PacketType::Publish
            })
        );
        assert_eq!(
            decode_publish_head(&[0x36, 3]),
            Err(DecodeError::InvalidQoS(3))
        );
    }
}
