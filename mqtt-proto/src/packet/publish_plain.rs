//! The plain PUBLISH encoders: the common PUBLISH — valid, within the size limit, without
//! properties or with the usual MQTT 5 ones — written with straight-line stores into the
//! buffer's spare room: the short frame without properties into a buffer that has the room
//! ([`wire::put_short`], inlined where `Publish::encode` is called), the others with one
//! reservation ([`wire::put_parts`]). Anything else, every error among it, is left to the
//! general encoder (`Publish::encode_checked`), which the tests here and the proptests in
//! [`super::fast`] compare them with.

use crate::header::{ProtocolVersion, QoS};
use crate::properties::PublishProperties;
use crate::wire;

use super::publish::Publish;

/// A plain frame's middle word — packet identifier and (MQTT 5) property length, in stream
/// order — and how many of its bytes are used.
type MiddleWord = ([u8; 4], usize);

impl Publish {
    /// A valid PUBLISH without properties, within `max_size`, written with one reservation
    /// straight into the buffer's spare room: what [`Self::encode_short`] leaves of them (a
    /// frame of 16 KiB or more, a buffer without the room). `None` (nothing written) for
    /// anything else, which the general path encodes or refuses with its error.
    #[inline]
    pub(crate) fn encode_plain(
        &self,
        version: ProtocolVersion,
        max_size: Option<u32>,
        buf: &mut bytes::BytesMut,
    ) -> Option<usize> {
        let (first, topic, mid) = self.without_properties(version)?;
        self.put_frame((first, topic, max_size), mid, (0, ()), buf)
    }

    /// The first byte, topic and middle word (packet identifier and, in MQTT 5, the empty
    /// property length, with how many of its bytes are used) of a PUBLISH without properties
    /// that the plain encoders can write; `None` for any other (with properties:
    /// `encode_plain_with` in MQTT 5, or the general path).
    #[allow(clippy::inline_always)] // measured with callgrind (see `Self::encode_short`)
    #[inline(always)]
    fn without_properties(&self, version: ProtocolVersion) -> Option<(u8, &[u8], MiddleWord)> {
        if !self.properties.is_absent() {
            return None;
        }
        let (first, id, topic) = self.plain_head(false)?;
        let id_len = if id.is_some() { 2 } else { 0 };
        // The (MQTT 5) empty property block: its length byte, 0.
        let props_len = usize::from(version == ProtocolVersion::V5);
        let mid = u32::from(id.unwrap_or(0).swap_bytes()).to_le_bytes();
        Some((first, topic, (mid, id_len + props_len)))
    }

    /// The most common PUBLISH — valid, within `max_size`, no properties, a frame under
    /// 16 KiB — into a buffer that already has the room ([`wire::put_short`]); `None` (nothing
    /// written) otherwise. Small enough to be inlined where a PUBLISH is encoded, without a
    /// call, a stack frame or a reservation (callgrind, `profile encode_0`, an empty QoS 1
    /// PUBLISH: 135 → 96 instructions, mqtt-protocol's encoder 126; 64 B 144 → 105, 1 KiB
    /// 275 → 229).
    #[allow(clippy::inline_always)] // measured with callgrind, as above
    #[inline(always)]
    pub(crate) fn encode_short(
        &self,
        version: ProtocolVersion,
        max_size: Option<u32>,
        buf: &mut bytes::BytesMut,
    ) -> Option<usize> {
        let (first, topic, mid) = self.without_properties(version)?;
        wire::put_short(buf, first, topic, mid, &self.payload, max_size)
    }

    /// [`Self::encode_plain`] for an MQTT 5 PUBLISH with properties (properties in MQTT 3.1.1,
    /// even an empty set, take the general path): those
    /// [`plain_len`](super::publish_properties::plain_len) sizes, written by
    /// [`put_plain`](super::publish_properties::put_plain) between the packet identifier and
    /// the payload.
    #[inline]
    pub(crate) fn encode_plain_with(
        &self,
        props: &PublishProperties,
        max_size: Option<u32>,
        buf: &mut bytes::BytesMut,
    ) -> Option<usize> {
        let props_len = super::publish_properties::plain_len(props)?;
        // MQTT 5 allows an empty topic with a Topic Alias.
        let (first, id, topic) = self.plain_head(props.topic_alias.is_some())?;
        // The property length in stream order from the low byte of a word, and its size.
        let (block, block_len) = {
            let (word, n) = crate::varint::header_word(0, u32::try_from(props_len).ok()?);
            (word >> 8, n - 1)
        };
        let id_len = if id.is_some() { 2 } else { 0 };
        // Packet identifier and the property length, in one word.
        let mid = u64::from(id.unwrap_or(0).swap_bytes()) | block << (8 * id_len);
        self.put_frame(
            (first, topic, max_size),
            (mid.to_le_bytes(), id_len + block_len),
            (props_len, props),
            buf,
        )
    }

    /// The frame of a plain PUBLISH — fixed header, topic, `mid` (identifier and property
    /// length), `extra_len` bytes of properties from `extra`, payload — once it is within
    /// `max_size`; `None` (nothing written) otherwise.
    #[allow(clippy::inline_always)] // measured with callgrind (see `Self::encode_plain`)
    #[inline(always)]
    fn put_frame<const M: usize>(
        &self,
        (first, topic, max_size): (u8, &[u8], Option<u32>),
        (mid, mid_len): ([u8; M], usize),
        (extra_len, extra): (usize, impl wire::FramePart),
        buf: &mut bytes::BytesMut,
    ) -> Option<usize> {
        let body = 2 + topic.len() + mid_len + extra_len + self.payload.len();
        let total = wire::total_len(body).ok()?;
        if max_size.is_some_and(|max| total > max as usize) {
            return None;
        }
        // First byte, remaining length and topic length, in stream order in one word.
        let (header, n) = crate::varint::header_word(first, body as u32);
        let head = header | (u64::from((topic.len() as u16).swap_bytes()) << (8 * n));
        wire::put_parts(
            buf,
            (head.to_le_bytes(), n + 2),
            topic,
            (mid, mid_len),
            (extra_len, extra),
            &self.payload,
        )
    }

    /// The first byte, packet identifier and topic of a PUBLISH the plain encoders can write
    /// (QoS, identifier and DUP consistent; a topic empty only when `may_be_empty`: its
    /// length and characters were checked when its `TopicName` was built), or `None`.
    #[allow(clippy::inline_always)] // measured with callgrind (see `Self::encode_plain`)
    #[inline(always)]
    fn plain_head(&self, may_be_empty: bool) -> Option<(u8, Option<u16>, &[u8])> {
        let id = match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, None) if !self.dup => None,
            (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(id)) if id != 0 => Some(id),
            _ => return None,
        };
        let topic = self.topic.as_bytes();
        if topic.is_empty() && !may_be_empty {
            return None;
        }
        let first =
            0x30 | ((self.qos as u8) << 1) | (u8::from(self.dup) << 3) | u8::from(self.retain);
        Some((first, id, topic))
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    fn topic(name: &str) -> crate::TopicName {
        crate::TopicName::new(name).expect("a valid topic name")
    }

    /// A four-byte remaining length, the longest: the frame's head word (first byte, remaining
    /// length, topic length) is then seven bytes of its eight.
    #[test]
    fn plain_encode_of_a_frame_with_a_four_byte_remaining_length() {
        let p = Publish::new(topic("a/b"), vec![0x5Au8; 2_097_152]).with_qos(QoS::AtLeastOnce);
        let p = Publish {
            packet_id: Some(7),
            ..p
        };
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let mut fast = bytes::BytesMut::new();
            let mut checked = fast.clone();
            let a = p.encode_plain(version, None, &mut fast);
            let b = p.encode_checked(version, None, &mut checked);
            assert_eq!(a, b.ok());
            assert_eq!(fast, checked);
            // 2 + 3 + 2 (+ 1) + 2,097,152 bytes of body: four length bytes, the last 0x01.
            assert_eq!(fast[4], 0x01, "{version:?}");
            assert_eq!(a, Some(fast.len()));
        }
    }

    /// The usual MQTT 5 properties (and an aliased empty topic) are written by the plain
    /// in-place path (its `unsafe` code run under Miri in CI), not left to the general one
    /// (which the agreement tests alone would not show), byte for byte as the general one
    /// writes them.
    #[test]
    fn in_place_encode_of_usual_v5_properties_matches_the_checked_encoder() {
        let mut p = Publish::new(topic("a/b"), vec![1u8; 10]).with_qos(QoS::AtLeastOnce);
        p.packet_id = Some(9);
        p.properties.content_type = Some("application/json".into());
        p.properties.message_expiry_interval = Some(60);
        p.properties.payload_format_indicator = Some(true);
        p.properties.response_topic = Some("reply/to/me/please".into());
        p.properties.correlation_data = Some(bytes::Bytes::from_static(b"1234"));
        p.properties.user_properties = vec![crate::UserProperty::new("k", "value")];
        let mut aliased = Publish::new(crate::TopicName::default(), vec![2u8; 3]);
        aliased.properties.topic_alias = Some(4);
        for p in [p, aliased] {
            let mut fast = bytes::BytesMut::from(&b"xy"[..]);
            let mut checked = fast.clone();
            let props = p.properties.get().expect("properties");
            let a = p.encode_plain_with(props, None, &mut fast);
            let b = p.encode_checked(ProtocolVersion::V5, None, &mut checked);
            assert!(a.is_some());
            assert_eq!(a, b.ok());
            assert_eq!(fast, checked);
        }
    }

    /// The in-place encoders (`wire::put_in_place`, `wire::put_parts` and their `unsafe` code,
    /// run under Miri in CI) through both PUBLISH paths, the plain one against the checked
    /// one: every remaining-length size (1 to 3 bytes), topic lengths in each class of the
    /// exact copy (1-3, 4-8, 9-16, 17-32 bytes, longer) and payloads at both ends of each
    /// class (up to 64 bytes, longer), both versions, QoS 0 and 1, into an empty buffer and
    /// after existing bytes.
    #[test]
    fn in_place_encode_matches_the_checked_encoder_at_length_boundaries() {
        for topic_len in [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 32, 33, 40, 65] {
            let name: alloc::string::String = (0..topic_len).map(|i| ['a', '/'][i % 2]).collect();
            for payload_len in [
                0, 1, 2, 3, 4, 5, 8, 9, 12, 16, 17, 32, 33, 64, 65, 100, 125, 200, 16_380, 16_400,
            ] {
                for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
                    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
                        let mut p = Publish::new(topic(&name), vec![0x5Au8; payload_len]);
                        p.qos = qos;
                        p.packet_id = (qos != QoS::AtMostOnce).then_some(0x1234);
                        for already in [0usize, 3] {
                            let mut fast = bytes::BytesMut::from(&[7u8; 3][..already]);
                            let mut checked = fast.clone();
                            let a = p.encode_plain(version, None, &mut fast);
                            let b = p.encode_checked(version, None, &mut checked);
                            let total = b.expect("a valid PUBLISH");
                            assert_eq!(a, Some(total), "{topic_len} {payload_len} {version:?}");
                            assert_eq!(fast, checked);
                            // The short path, into a buffer with the room: every frame whose
                            // remaining length takes one or two bytes (at most 16,386 bytes).
                            let mut short = bytes::BytesMut::with_capacity(checked.len() + 8);
                            short.extend_from_slice(&[7u8; 3][..already]);
                            let c = p.encode_short(version, None, &mut short);
                            if total <= 16_386 {
                                assert_eq!(c, Some(total), "{topic_len} {payload_len} {version:?}");
                                assert_eq!(short, checked);
                            } else {
                                assert_eq!(c, None);
                                assert_eq!(short.len(), already);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The short path writes nothing where it cannot write the frame whole, and the general
    /// path then takes over: a buffer without the room (which the general path reserves), a
    /// frame over the peer's maximum (refused there with its error), at the 16 KiB edge.
    #[test]
    fn in_place_encode_short_declines_without_the_room_or_over_the_maximum() {
        const V311: ProtocolVersion = ProtocolVersion::V311;
        let p = Publish::new(topic("a/b"), vec![9u8; 20]).with_qos(QoS::AtLeastOnce);
        let p = Publish {
            packet_id: Some(3),
            ..p
        };
        let total = 2 + 2 + 3 + 2 + 20;
        let mut buf = bytes::BytesMut::new();
        assert_eq!(p.encode_short(V311, None, &mut buf), None);
        assert!(buf.is_empty());
        assert_eq!(p.encode(V311, &mut buf), Ok(total));
        // The room for the frame and the eight bytes written past it as whole words.
        let mut tight = bytes::BytesMut::with_capacity(total + 7);
        assert_eq!(p.encode_short(V311, None, &mut tight), None);
        let mut room = bytes::BytesMut::with_capacity(total + 8);
        let max = Some(total as u32);
        assert_eq!(p.encode_short(V311, max, &mut room), Some(total));
        assert_eq!(room, buf);
        room.clear();
        let under = Some(total as u32 - 1);
        assert_eq!(p.encode_short(V311, under, &mut room), None);
        assert!(room.is_empty());
        assert_eq!(
            p.encode_within(V311, under, &mut room),
            Err(crate::EncodeError::ExceedsMaximumPacketSize {
                size: total,
                max: total as u32 - 1
            })
        );
        assert!(room.is_empty());
        // Remaining lengths 16,383 (the longest of two bytes) and 16,384 (three).
        for (payload_len, short) in [(16_383 - 2 - 3 - 2, true), (16_384 - 2 - 3 - 2, false)] {
            let p = Publish {
                payload: vec![1u8; payload_len].into(),
                ..p.clone()
            };
            let mut buf = bytes::BytesMut::with_capacity(16_400);
            let written = p.encode_short(V311, None, &mut buf);
            assert_eq!(written.is_some(), short, "{payload_len}");
        }
    }
}
