//! PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP (section 3.3-3.7).

use bytes::{BufMut, Bytes};

use crate::error::{DecodeError, EncodeError};
use crate::header::{PacketType, ProtocolVersion, QoS};
use crate::properties::{self, AckProperties, PublishProperties};
use crate::reason::ReasonCode;
use crate::storage::{Borrowed, IntoOwned, Owned, Storage};
use crate::topic_strings::TopicName;
use crate::wire::{self, bad, PResult};

/// The PUBLISH topic rule, for every decoder: a topic name may be empty only when a Topic Alias
/// stands for it (MQTT 5) [MQTT-3.3.2-8 .. -12].
#[allow(clippy::inline_always)] // two tests on the hot path of every PUBLISH decode
#[inline(always)]
pub(crate) fn topic_present(empty: bool, aliased: bool) -> Result<(), DecodeError> {
    if empty && !aliased {
        return Err(DecodeError::EmptyTopicName);
    }
    Ok(())
}

/// PUBLISH: an application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish<S: Storage = Owned> {
    /// Re-delivery of an earlier attempt (QoS 1/2 only).
    pub dup: bool,
    /// Quality of service.
    pub qos: QoS,
    /// Retained message.
    pub retain: bool,
    /// Topic name; empty in MQTT 5 when a topic alias stands for it. In the owned form a
    /// [`TopicName`], checked when it was built (or decoded).
    pub topic: S::Topic,
    /// Packet identifier: `Some` exactly when QoS > 0.
    pub packet_id: Option<u16>,
    /// PUBLISH properties (MQTT 5). In the borrowed form a [`LazyRef`](crate::LazyRef): the
    /// validated raw block, read into a `PublishProperties` by `publish.properties.get()`
    /// (keeping them out of the view keeps a [`PacketRef`](crate::PacketRef) at 64 bytes). In
    /// the owned form a [`Boxed`](crate::Boxed), absent (no allocation) for a message without
    /// properties, read as a `PublishProperties`; set one with `publish.properties.content_type
    /// = …` (boxes it) or `publish.properties = props.into()`.
    pub properties: S::Rare<PublishProperties<S>>,
    /// Application payload.
    pub payload: S::Bin,
}

impl Publish<Owned> {
    /// A QoS 0, non-retained message without properties.
    ///
    /// ```
    /// use mqtt_proto::{Publish, TopicName};
    ///
    /// let publish = Publish::new(TopicName::new("sensors/kitchen/temp")?, "21.5");
    /// assert_eq!(publish.topic, "sensors/kitchen/temp");
    /// # Ok::<(), mqtt_proto::EncodeError>(())
    /// ```
    pub fn new(topic: TopicName, payload: impl Into<Bytes>) -> Self {
        Self {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            packet_id: None,
            properties: crate::Boxed::none(),
            payload: payload.into(),
        }
    }
}

impl<'a> Publish<Borrowed<'a>> {
    #[inline]
    pub(crate) fn parse(flags: u8, body: &'a [u8], version: ProtocolVersion) -> PResult<'a, Self> {
        let dup = flags & 0b1000 != 0;
        let qos = QoS::from_u8((flags >> 1) & 0b11).map_err(wire::fail)?;
        let retain = flags & 1 != 0;
        if dup && qos == QoS::AtMostOnce {
            return bad(DecodeError::DupWithQoS0);
        }
        // One pass for wildcards and U+0000, then UTF-8.
        let (rest, raw_topic) = wire::binary(body)?;
        crate::topic::scan_name(raw_topic).map_err(wire::fail)?;
        let topic =
            crate::utf8::text(raw_topic).map_err(|_| wire::fail(DecodeError::InvalidUtf8))?;
        let (rest, packet_id) = if qos == QoS::AtMostOnce {
            (rest, None)
        } else {
            let (r, id) = wire::packet_id(PacketType::Publish)(rest)?;
            (r, Some(id))
        };
        let (payload, aliased) = match version {
            ProtocolVersion::V5 => {
                let (payload, properties) = PublishProperties::parse(rest, PacketType::Publish)?;
                (payload, properties.topic_alias.is_some())
            }
            ProtocolVersion::V311 => (rest, false),
        };
        if let Err(e) = topic_present(topic.is_empty(), aliased) {
            return bad(e);
        }
        let properties = crate::LazyRef::new(properties::raw_block(rest, payload));
        let publish = Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            properties,
            payload,
        };
        Ok((&payload[payload.len()..], publish))
    }
}

impl Publish<Owned> {
    /// Body length and property length, after validation.
    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, Some(_)) => return Err(EncodeError::PacketIdWithQoS0),
            (QoS::AtMostOnce, None) if self.dup => return Err(EncodeError::DupWithQoS0),
            (QoS::AtMostOnce, None) => {}
            (_, None | Some(0)) => {
                return Err(EncodeError::ZeroPacketId {
                    packet: PacketType::Publish,
                })
            }
            (_, Some(_)) => {}
        }
        let props = self.properties.body_len()?;
        let aliased = version == ProtocolVersion::V5 && self.properties.topic_alias.is_some();
        // The name's characters and length were checked when its `TopicName` was built.
        let topic = self.topic.as_bytes();
        if topic.is_empty() && !aliased {
            return Err(EncodeError::EmptyTopicName);
        }
        let mut body = 2 + topic.len() + self.payload.len();
        if self.packet_id.is_some() {
            body += 2;
        }
        match version {
            ProtocolVersion::V5 => body += properties::block_len(props)?,
            ProtocolVersion::V311 if props != 0 => {
                return Err(EncodeError::V5OnlyFeature {
                    packet: PacketType::Publish,
                })
            }
            ProtocolVersion::V311 => {}
        }
        Ok((body, props))
    }

    pub(crate) fn put(
        &self,
        version: ProtocolVersion,
        sizes: (usize, usize),
        buf: &mut impl BufMut,
    ) {
        let mut first = 0x30 | ((self.qos as u8) << 1);
        if self.dup {
            first |= 0b1000;
        }
        if self.retain {
            first |= 1;
        }
        // Fixed header and topic length in one write.
        let topic = self.topic.as_bytes();
        let mut head = [0u8; 7];
        head[0] = first;
        let n = 1 + crate::varint::write(&mut head[1..5], sizes.0 as u32);
        head[n..n + 2].copy_from_slice(&(topic.len() as u16).to_be_bytes());
        buf.put_slice(&head[..n + 2]);
        buf.put_slice(topic);
        if let Some(id) = self.packet_id {
            buf.put_u16(id);
        }
        if version == ProtocolVersion::V5 {
            self.properties.put(buf, sizes.1);
        }
        buf.put_slice(&self.payload);
    }
}

impl Publish<Owned> {
    /// Sets the QoS (builder style). A packet identifier is still needed for QoS 1/2.
    #[must_use]
    pub fn with_qos(mut self, qos: QoS) -> Self {
        self.qos = qos;
        self
    }

    /// Sets the RETAIN flag (builder style).
    #[must_use]
    pub fn with_retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }

    /// Exact encoded size, after checking the sender's rules (same as [`Packet::encoded_len`](crate::Packet::encoded_len)).
    pub fn encoded_len(&self, version: ProtocolVersion) -> Result<usize, EncodeError> {
        wire::total_len(self.sizes(version)?.0)
    }

    /// Like [`Self::encode`], refusing a packet larger than `max_size` bytes (the peer's
    /// Maximum Packet Size) without writing anything; checks and writes in one pass.
    #[allow(clippy::inline_always)] // the short path inlined: see `encode_short`
    #[inline(always)]
    pub fn encode_within(
        &self,
        version: ProtocolVersion,
        max_size: Option<u32>,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        match self.encode_short(version, max_size, buf) {
            Some(written) => Ok(written),
            None => self.encode_other(version, max_size, buf),
        }
    }

    /// Every PUBLISH [`Self::encode_short`] leaves (out of line: the short path is inlined
    /// where a PUBLISH is encoded): the other plain ones, then the general path.
    #[inline(never)]
    fn encode_other(
        &self,
        version: ProtocolVersion,
        max_size: Option<u32>,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        let plain = match (version, self.properties.get()) {
            (_, None) => self.encode_plain(version, max_size, buf),
            (ProtocolVersion::V5, Some(props)) => self.encode_plain_with(props, max_size, buf),
            // Properties in MQTT 3.1.1, even an empty set: the general path.
            (ProtocolVersion::V311, Some(_)) => None,
        };
        match plain {
            Some(written) => Ok(written),
            None => self.encode_checked(version, max_size, buf),
        }
    }

    /// Every PUBLISH [`Self::encode_plain`] leaves: properties, long topics, and every error.
    #[inline(never)]
    pub(crate) fn encode_checked(
        &self,
        version: ProtocolVersion,
        max_size: Option<u32>,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        let sizes = self.sizes(version)?;
        let total = wire::total_len(sizes.0)?;
        if let Some(max) = max_size {
            if total > max as usize {
                return Err(EncodeError::ExceedsMaximumPacketSize { size: total, max });
            }
        }
        wire::put_in_place(buf, total, |room| self.put(version, sizes, room));
        Ok(total)
    }

    /// Appends the PUBLISH to `buf` (same as [`Packet::encode`](crate::Packet::encode) without
    /// building a `Packet`).
    #[allow(clippy::inline_always)] // the short path inlined: see `encode_short`
    #[inline(always)]
    pub fn encode(
        &self,
        version: ProtocolVersion,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        self.encode_within(version, None, buf)
    }
}

impl<'a> IntoOwned for Publish<Borrowed<'a>> {
    type Owned = Publish<Owned>;
    fn into_owned(self, frame: &Bytes) -> Publish<Owned> {
        Publish {
            dup: self.dup,
            qos: self.qos,
            retain: self.retain,
            topic: TopicName::from_checked(self.topic.into_owned(frame)),
            packet_id: self.packet_id,
            properties: properties::owned_rare(self.properties.get(), frame),
            payload: self.payload.into_owned(frame),
        }
    }
}

impl<'a> crate::LazyRef<'a, PublishProperties<Borrowed<'a>>> {
    /// The PUBLISH properties, read from their validated block (an empty set when there are
    /// none): each call reads the block again (a few dozen instructions for the usual ones).
    pub fn get(&self) -> PublishProperties<Borrowed<'a>> {
        let block = self.as_bytes();
        if block.is_empty() {
            return PublishProperties::default();
        }
        super::publish_properties::read_block(block)
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP: which one is given by the [`Packet`](crate::Packet)
/// variant holding it. In MQTT 3.1.1 the reason code is always `Success` and there are no
/// properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubResponse<S: Storage = Owned> {
    /// Identifier of the PUBLISH (or PUBREL) answered.
    pub packet_id: u16,
    /// Outcome (MQTT 5).
    pub reason_code: ReasonCode,
    /// Properties (MQTT 5).
    pub properties: AckProperties<S>,
}

impl PubResponse<Owned> {
    /// A successful response for `packet_id`.
    pub fn new(packet_id: u16) -> Self {
        Self {
            packet_id,
            reason_code: ReasonCode::Success,
            properties: AckProperties::default(),
        }
    }
}

impl<'a> PubResponse<Borrowed<'a>> {
    #[inline]
    pub(crate) fn parse(
        packet: PacketType,
        body: &'a [u8],
        version: ProtocolVersion,
    ) -> PResult<'a, Self> {
        let (rest, packet_id) = wire::packet_id(packet)(body)?;
        let mut response = PubResponse {
            packet_id,
            reason_code: ReasonCode::Success,
            properties: AckProperties::default(),
        };
        if version == ProtocolVersion::V311 || rest.is_empty() {
            // MQTT 5 3.4.2.1: no reason code means Success.
            return Ok((rest, response));
        }
        let (rest, reason_code) = wire::reason_code(packet)(rest)?;
        response.reason_code = reason_code;
        if rest.is_empty() {
            // MQTT 5 3.4.2.2.1: no property length means no properties.
            return Ok((rest, response));
        }
        let (rest, properties) = AckProperties::parse(rest, packet)?;
        response.properties = properties;
        Ok((rest, response))
    }
}

impl PubResponse<Owned> {
    /// Body length and property length, after validation. Uses the shortest form the spec
    /// allows: 2 bytes for Success without properties.
    pub(crate) fn sizes(
        &self,
        packet: PacketType,
        version: ProtocolVersion,
    ) -> Result<(usize, usize), EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId { packet });
        }
        let code = self.reason_code as u8;
        if !self.reason_code.is_valid_for(packet) {
            return Err(EncodeError::InvalidReasonCode { packet, code });
        }
        let props = self.properties.body_len()?;
        let short = self.reason_code == ReasonCode::Success && props == 0;
        match version {
            _ if short => Ok((2, 0)),
            ProtocolVersion::V311 => Err(EncodeError::V5OnlyFeature { packet }),
            ProtocolVersion::V5 if props == 0 => Ok((3, 0)),
            ProtocolVersion::V5 => Ok((3 + properties::block_len(props)?, props)),
        }
    }

    pub(crate) fn put(&self, packet: PacketType, sizes: (usize, usize), buf: &mut impl BufMut) {
        let first = ((packet as u8) << 4) | packet.required_flags().unwrap_or(0);
        wire::put_header(buf, first, sizes.0);
        buf.put_u16(self.packet_id);
        if sizes.0 > 2 {
            buf.put_u8(self.reason_code as u8);
        }
        if sizes.0 > 3 {
            self.properties.put(buf, sizes.1);
        }
    }
}

impl PubResponse<Owned> {
    /// Appends this response as `packet` (PUBACK, PUBREC, PUBREL or PUBCOMP) to `buf`.
    pub fn encode(
        &self,
        packet: PacketType,
        version: ProtocolVersion,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        if !matches!(
            packet,
            PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp
        ) {
            return Err(EncodeError::InvalidReasonCode {
                packet,
                code: self.reason_code as u8,
            });
        }
        self.encode_as(packet, version, buf)
    }

    /// [`Self::encode`] for a `packet` known to be one of the four; the short form (Success,
    /// no properties: four bytes) is written in one go.
    #[inline]
    pub(crate) fn encode_as(
        &self,
        packet: PacketType,
        version: ProtocolVersion,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        if self.reason_code == ReasonCode::Success
            && self.packet_id != 0
            && self.properties.is_empty()
        {
            let first = ((packet as u8) << 4) | packet.required_flags().unwrap_or(0);
            let [hi, lo] = self.packet_id.to_be_bytes();
            buf.put_slice(&[first, 2, hi, lo]);
            return Ok(4);
        }
        self.encode_long(packet, version, buf)
    }

    /// [`Self::encode_as`] for every other response (reason code, properties) and every error:
    /// out of line, so that the short form needs no registers saved.
    #[inline(never)]
    fn encode_long(
        &self,
        packet: PacketType,
        version: ProtocolVersion,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        let sizes = self.sizes(packet, version)?;
        let total = wire::total_len(sizes.0)?;
        wire::put_in_place(buf, total, |room| self.put(packet, sizes, room));
        Ok(total)
    }
}

impl<'a> IntoOwned for PubResponse<Borrowed<'a>> {
    type Owned = PubResponse<Owned>;
    fn into_owned(self, frame: &Bytes) -> PubResponse<Owned> {
        PubResponse {
            packet_id: self.packet_id,
            reason_code: self.reason_code,
            properties: self.properties.into_owned(frame),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    /// The borrowed PUBLISH keeps its properties as their raw block: `get` reads back what
    /// was sent, what the owned decoder reads; no properties (MQTT 3.1.1, or MQTT 5's empty
    /// block) is one empty block, so the two versions' views of one message are equal.
    #[test]
    fn borrowed_properties_are_read_back_from_their_block() {
        let mut p = Publish::new(TopicName::new("a/b").expect("topic"), vec![1u8; 5]);
        p.properties.content_type = Some("text/plain".into());
        p.properties.message_expiry_interval = Some(9);
        p.properties.user_properties = vec![crate::UserProperty::new("k", "v")];
        let mut buf = bytes::BytesMut::new();
        p.encode(ProtocolVersion::V5, &mut buf).expect("encodes");
        let (view, _) = crate::decode_ref(&buf, ProtocolVersion::V5, 1 << 20)
            .expect("decodes")
            .expect("whole");
        let crate::Packet::Publish(view) = view else {
            panic!("a PUBLISH");
        };
        let read = view.properties.get();
        assert_eq!(read.content_type, Some("text/plain"));
        assert_eq!(read.message_expiry_interval, Some(9));
        assert_eq!(read.user_properties.len(), 1);
        let owned = view.into_owned(&bytes::Bytes::copy_from_slice(&buf));
        assert_eq!(owned, p);

        let plain = Publish::new(TopicName::new("a/b").expect("topic"), vec![1u8; 5]);
        let frames = [ProtocolVersion::V311, ProtocolVersion::V5].map(|v| {
            let mut buf = bytes::BytesMut::new();
            plain.encode(v, &mut buf).expect("encodes");
            buf
        });
        let views = [ProtocolVersion::V311, ProtocolVersion::V5].map(|v| {
            let i = usize::from(v == ProtocolVersion::V5);
            crate::decode_ref(&frames[i], v, 1 << 20)
                .expect("decodes")
                .expect("whole")
                .0
        });
        assert_eq!(views[0], views[1]);
        if let crate::Packet::Publish(view) = &views[1] {
            assert!(view.properties.is_empty());
            assert_eq!(view.properties.get(), PublishProperties::default());
        }
    }

    /// A topic of 65,535 bytes is the longest a two-byte length holds: it is written whole
    /// (its length not truncated, as the plain path once did: a malformed packet); one more is
    /// refused when its `TopicName` is built.
    #[test]
    fn a_topic_longer_than_its_length_field_is_refused() {
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let longest = TopicName::new("a".repeat(65_535)).expect("65,535 bytes fit");
            let fits = Publish::new(longest, vec![1u8; 3]);
            let mut buf = bytes::BytesMut::new();
            let written = fits.encode(version, &mut buf).expect("65,535 bytes fit");
            let decoded = crate::decode(&mut buf, version, 1 << 20).expect("decodes");
            assert_eq!(decoded, Some(crate::Packet::Publish(fits.clone())));
            assert!(written > 65_535);

            assert_eq!(
                TopicName::new("a".repeat(65_536)),
                Err(EncodeError::StringTooLong(65_536))
            );
        }
    }
}
