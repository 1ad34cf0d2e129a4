//! SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (section 3.8-3.11).

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};

use crate::bytestr::ByteStr;
use crate::error::{DecodeError, EncodeError};
use crate::header::{PacketType, ProtocolVersion, QoS};
use crate::properties::{self, AckProperties, SubscribeProperties, UnsubscribeProperties};
use crate::reason::ReasonCode;
use crate::storage::{Borrowed, FromRaw, IntoOwned, Owned, SeqRef, Storage};
use crate::topic;
use crate::topic_strings::TopicFilter;
use crate::wire::{self, bad, PResult};

/// When the server sends retained messages for a new subscription (MQTT 5 3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// Send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// Send them only if the subscription did not exist.
    SendIfNew = 1,
    /// Do not send retained messages.
    DoNotSend = 2,
}

/// Subscription options byte. In MQTT 3.1.1 only `max_qos` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Highest QoS the server may use to deliver on this subscription.
    pub max_qos: QoS,
    /// Do not receive one's own publications (MQTT 5).
    pub no_local: bool,
    /// Keep the RETAIN flag as published (MQTT 5).
    pub retain_as_published: bool,
    /// Retained message handling (MQTT 5).
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options with `max_qos` and MQTT 5 defaults.
    pub fn new(max_qos: QoS) -> Self {
        Self {
            max_qos,
            ..Self::default()
        }
    }

    fn from_byte(b: u8, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let reserved = match version {
            ProtocolVersion::V311 => 0b1111_1100,
            ProtocolVersion::V5 => 0b1100_0000,
        };
        let retain_handling = match (b >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(DecodeError::InvalidSubscriptionOptions(b)),
        };
        if b & reserved != 0 {
            // [MQTT-3.8.3-4] (3.1.1), [MQTT-3.8.3-5] (5)
            return Err(DecodeError::InvalidSubscriptionOptions(b));
        }
        Ok(Self {
            max_qos: QoS::from_u8(b & 0b11)?,
            no_local: b & 0b100 != 0,
            retain_as_published: b & 0b1000 != 0,
            retain_handling,
        })
    }

    pub(super) fn to_byte(self) -> u8 {
        self.max_qos as u8
            | u8::from(self.no_local) << 2
            | u8::from(self.retain_as_published) << 3
            | (self.retain_handling as u8) << 4
    }

    fn is_v3(self) -> bool {
        self == Self::new(self.max_qos)
    }
}

/// One topic filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription<S: Storage = Owned> {
    /// Topic filter (may be `$share/group/filter` in MQTT 5). In the owned form a
    /// [`TopicFilter`], checked when it was built (or decoded).
    pub filter: S::Filter,
    /// Options.
    pub options: SubscriptionOptions,
}

impl Subscription<Owned> {
    /// A subscription to `filter` with `max_qos`.
    pub fn new(filter: TopicFilter, max_qos: QoS) -> Self {
        Self {
            filter,
            options: SubscriptionOptions::new(max_qos),
        }
    }
}

impl<'a> FromRaw<'a> for Subscription<Borrowed<'a>> {
    fn next_from(raw: &mut &'a [u8]) -> Option<Self> {
        let (rest, filter) = wire::validated_string(raw)?;
        let (&b, rest) = rest.split_first()?;
        *raw = rest;
        // Validated by the decoder; options bits are read the same way in both versions.
        let options = SubscriptionOptions::from_byte(b, ProtocolVersion::V5).ok()?;
        Some(Self { filter, options })
    }

    fn skip(raw: &mut &'a [u8]) -> bool {
        wire::skip_prefixed(raw, 1)
    }
}

impl<'a> FromRaw<'a> for &'a str {
    fn next_from(raw: &mut &'a [u8]) -> Option<Self> {
        let (rest, s) = wire::validated_string(raw)?;
        *raw = rest;
        Some(s)
    }

    fn skip(raw: &mut &'a [u8]) -> bool {
        wire::skip_prefixed(raw, 0)
    }
}

impl<'a> FromRaw<'a> for ReasonCode {
    fn next_from(raw: &mut &'a [u8]) -> Option<Self> {
        let (&b, rest) = raw.split_first()?;
        *raw = rest;
        ReasonCode::from_u8(b)
    }
}

impl<'a> IntoOwned for Subscription<Borrowed<'a>> {
    type Owned = Subscription<Owned>;
    fn into_owned(self, frame: &Bytes) -> Subscription<Owned> {
        Subscription {
            filter: TopicFilter::from_checked(self.filter.into_owned(frame)),
            options: self.options,
        }
    }
}

/// Parses a non-empty list with `item` until `input` ends; returns the validated raw list.
fn list<'a>(
    input: &'a [u8],
    packet: PacketType,
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, ()>,
) -> PResult<'a, SeqRef<'a, ()>> {
    if input.is_empty() {
        // [MQTT-3.8.3-3], [MQTT-3.10.3-2], 3.9.3, 3.11.3
        return bad(DecodeError::EmptyList { packet });
    }
    let mut rest = input;
    while !rest.is_empty() {
        rest = item(rest)?.0;
    }
    Ok((rest, SeqRef::new(input)))
}

fn retype<'a, T>(seq: SeqRef<'a, ()>) -> SeqRef<'a, T> {
    SeqRef::new(seq.as_bytes())
}

/// SUBSCRIBE: one or more topic filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe<S: Storage = Owned> {
    /// Packet identifier.
    pub packet_id: u16,
    /// SUBSCRIBE properties (MQTT 5).
    pub properties: SubscribeProperties<S>,
    /// The filters, in order; SUBACK answers them in the same order.
    pub subscriptions: S::Seq<Subscription<S>>,
}

impl<'a> Subscribe<Borrowed<'a>> {
    pub(crate) fn parse(body: &'a [u8], version: ProtocolVersion) -> PResult<'a, Self> {
        let packet = PacketType::Subscribe;
        let (rest, packet_id) = wire::packet_id(packet)(body)?;
        let (rest, properties) = match version {
            ProtocolVersion::V5 => SubscribeProperties::parse(rest, packet)?,
            ProtocolVersion::V311 => (rest, SubscribeProperties::default()),
        };
        let (rest, raw) = list(rest, packet, |input| {
            let (r, filter) = wire::string(input)?;
            topic::validate_filter(filter).map_err(wire::fail)?;
            let (r, b) = wire::u8(r)?;
            let options = SubscriptionOptions::from_byte(b, version).map_err(wire::fail)?;
            if options.no_local && topic::is_shared(filter) {
                return bad(DecodeError::NoLocalOnSharedSubscription);
            }
            Ok((r, ()))
        })?;
        Ok((
            rest,
            Subscribe {
                packet_id,
                properties,
                subscriptions: retype(raw),
            },
        ))
    }
}

impl Subscribe<Owned> {
    /// A SUBSCRIBE for `subscriptions` without properties.
    pub fn new(packet_id: u16, subscriptions: Vec<Subscription<Owned>>) -> Self {
        Self {
            packet_id,
            properties: SubscribeProperties::default(),
            subscriptions,
        }
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        let (mut body, props) = self.head(version)?;
        for s in &self.subscriptions {
            body += s.check(version)? + 1;
        }
        Ok((body, props))
    }

    /// The rules of the packet itself: `(bytes before the first filter, property bytes)`.
    fn head(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        let packet = PacketType::Subscribe;
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId { packet });
        }
        if self.subscriptions.is_empty() {
            return Err(EncodeError::EmptyList { packet });
        }
        let props = self.properties.body_len()?;
        Ok((2 + v5_block(version, props, packet)?, props))
    }

    /// Appends the SUBSCRIBE to `buf` (same as [`Packet::encode`](crate::Packet::encode)
    /// without building a `Packet`), returning the bytes written; on error `buf` is unchanged.
    pub fn encode(
        &self,
        version: ProtocolVersion,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        match self.encode_plain(version, buf) {
            Some(written) => Ok(written),
            None => self.encode_checked(version, buf),
        }
    }

    /// Checks and writes in one pass over the filters: the room is reserved from their lengths
    /// alone, each filter is checked just before it is written, and on an error nothing is
    /// appended. The errors are [`Self::sizes`]' (one packet, the same rules in the same
    /// order); a packet too large for its remaining length is left to it (callgrind:
    /// SUBSCRIBE-10 2,150 → 2,050 instructions).
    #[inline(never)]
    pub(crate) fn encode_checked(
        &self,
        version: ProtocolVersion,
        buf: &mut bytes::BytesMut,
    ) -> Result<usize, EncodeError> {
        let (head, props) = self.head(version)?;
        let body = self
            .subscriptions
            .iter()
            .fold(head, |n, s| n + 3 + s.filter.len());
        let Ok(total) = wire::total_len(body) else {
            // Which rule fails first, as the two-pass encoders report it.
            return wire::total_len(self.sizes(version)?.0);
        };
        wire::try_put_in_place(buf, total, |room| {
            self.put_checked(version, (body, props), room, |s| s.check(version).map(drop))
        })?;
        Ok(total)
    }

    pub(crate) fn put(
        &self,
        version: ProtocolVersion,
        sizes: (usize, usize),
        buf: &mut impl BufMut,
    ) {
        let written: Result<(), core::convert::Infallible> =
            self.put_checked(version, sizes, buf, |_| Ok(()));
        let Ok(()) = written;
    }

    /// Writes the packet (`sizes` as [`Self::sizes`] returns them), running `check` on each
    /// subscription just before writing it: its error ends the writing.
    #[allow(clippy::inline_always)] // measured with callgrind (see `Self::encode`)
    #[inline(always)]
    fn put_checked<E>(
        &self,
        version: ProtocolVersion,
        (body, props): (usize, usize),
        buf: &mut impl BufMut,
        mut check: impl FnMut(&Subscription<Owned>) -> Result<(), E>,
    ) -> Result<(), E> {
        wire::put_header(buf, 0x82, body);
        buf.put_u16(self.packet_id);
        if version == ProtocolVersion::V5 {
            self.properties.put(buf, props);
        }
        for s in &self.subscriptions {
            check(s)?;
            wire::put_prefixed(buf, s.filter.as_bytes());
            buf.put_u8(s.options.to_byte());
        }
        Ok(())
    }
}

impl Subscription<Owned> {
    /// The sender's rules for one subscription, in the order the encoders report them:
    /// options that need MQTT 5, No Local on a shared subscription [MQTT-3.8.3-4] (the filter
    /// itself and its length were checked when its `TopicFilter` was built). Returns its
    /// length on the wire (prefix included).
    #[allow(clippy::inline_always)] // measured with callgrind
    #[inline(always)]
    fn check(&self, version: ProtocolVersion) -> Result<usize, EncodeError> {
        let filter = self.filter.as_bytes();
        if version == ProtocolVersion::V311 && !self.options.is_v3() {
            return Err(EncodeError::V5OnlyFeature {
                packet: PacketType::Subscribe,
            });
        }
        if self.options.no_local && topic::is_shared_bytes(filter) {
            return Err(EncodeError::NoLocalOnSharedSubscription);
        }
        Ok(2 + filter.len())
    }
}

impl<'a> IntoOwned for Subscribe<Borrowed<'a>> {
    type Owned = Subscribe<Owned>;
    fn into_owned(self, frame: &Bytes) -> Subscribe<Owned> {
        Subscribe {
            packet_id: self.packet_id,
            properties: self.properties.into_owned(frame),
            subscriptions: self.subscriptions.into_owned(frame),
        }
    }
}

/// Length of an MQTT 5 property block, or an error if a 3.1.1 packet would need one.
fn v5_block(
    version: ProtocolVersion,
    props: usize,
    packet: PacketType,
) -> Result<usize, EncodeError> {
    match version {
        ProtocolVersion::V5 => properties::block_len(props),
        ProtocolVersion::V311 if props == 0 => Ok(0),
        ProtocolVersion::V311 => Err(EncodeError::V5OnlyFeature { packet }),
    }
}

/// SUBACK or UNSUBACK: one reason code per filter of the request, in order. MQTT 3.1.1 SUBACK
/// return codes map to `Success`/`GrantedQoS1`/`GrantedQoS2`/`UnspecifiedError`; a 3.1.1
/// UNSUBACK has no codes (the list is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck<S: Storage = Owned> {
    /// Identifier of the SUBSCRIBE / UNSUBSCRIBE answered.
    pub packet_id: u16,
    /// Properties (MQTT 5).
    pub properties: AckProperties<S>,
    /// One code per filter.
    pub reason_codes: S::Seq<ReasonCode>,
}

/// UNSUBACK has the same shape as SUBACK.
pub type UnsubAck<S = Owned> = SubAck<S>;

impl<'a> SubAck<Borrowed<'a>> {
    pub(crate) fn parse(
        packet: PacketType,
        body: &'a [u8],
        version: ProtocolVersion,
    ) -> PResult<'a, Self> {
        let (rest, packet_id) = wire::packet_id(packet)(body)?;
        let mut ack = SubAck {
            packet_id,
            properties: AckProperties::default(),
            reason_codes: SeqRef::default(),
        };
        if version == ProtocolVersion::V311 && packet == PacketType::UnsubAck {
            return Ok((rest, ack));
        }
        let rest = match version {
            ProtocolVersion::V5 => {
                let (r, p) = AckProperties::parse(rest, packet)?;
                ack.properties = p;
                r
            }
            ProtocolVersion::V311 => rest,
        };
        let (rest, raw) = list(rest, packet, |input| {
            let (r, code) = wire::u8(input)?;
            let valid = match version {
                ProtocolVersion::V311 => ReasonCode::from_v3_suback(code),
                ProtocolVersion::V5 => ReasonCode::from_u8(code).filter(|c| c.is_valid_for(packet)),
            };
            if valid.is_none() {
                return bad(DecodeError::InvalidReasonCode { packet, code });
            }
            Ok((r, ()))
        })?;
        ack.reason_codes = retype(raw);
        Ok((rest, ack))
    }
}

impl SubAck<Owned> {
    pub(crate) fn sizes(
        &self,
        packet: PacketType,
        version: ProtocolVersion,
    ) -> Result<(usize, usize), EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId { packet });
        }
        let props = self.properties.body_len()?;
        if version == ProtocolVersion::V311 && packet == PacketType::UnsubAck {
            if props != 0 || !self.reason_codes.is_empty() {
                return Err(EncodeError::V5OnlyFeature { packet });
            }
            return Ok((2, 0));
        }
        if self.reason_codes.is_empty() {
            return Err(EncodeError::EmptyList { packet });
        }
        for &c in &self.reason_codes {
            let valid = match version {
                ProtocolVersion::V311 => c.to_v3_suback().is_some(),
                ProtocolVersion::V5 => c.is_valid_for(packet),
            };
            if !valid {
                return Err(EncodeError::InvalidReasonCode {
                    packet,
                    code: c as u8,
                });
            }
        }
        Ok((
            2 + v5_block(version, props, packet)? + self.reason_codes.len(),
            props,
        ))
    }

    pub(crate) fn put(
        &self,
        packet: PacketType,
        version: ProtocolVersion,
        sizes: (usize, usize),
        buf: &mut impl BufMut,
    ) {
        wire::put_header(buf, (packet as u8) << 4, sizes.0);
        buf.put_u16(self.packet_id);
        if version == ProtocolVersion::V311 && packet == PacketType::UnsubAck {
            return;
        }
        if version == ProtocolVersion::V5 {
            self.properties.put(buf, sizes.1);
        }
        for &c in &self.reason_codes {
            buf.put_u8(c as u8);
        }
    }
}

impl<'a> IntoOwned for SubAck<Borrowed<'a>> {
    type Owned = SubAck<Owned>;
    fn into_owned(self, frame: &Bytes) -> SubAck<Owned> {
        SubAck {
            packet_id: self.packet_id,
            properties: self.properties.into_owned(frame),
            reason_codes: self.reason_codes.into_owned(frame),
        }
    }
}

/// UNSUBSCRIBE: one or more topic filters to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe<S: Storage = Owned> {
    /// Packet identifier.
    pub packet_id: u16,
    /// Properties (MQTT 5).
    pub properties: UnsubscribeProperties<S>,
    /// The filters, in order.
    pub filters: S::Seq<S::Str>,
}

impl<'a> Unsubscribe<Borrowed<'a>> {
    pub(crate) fn parse(body: &'a [u8], version: ProtocolVersion) -> PResult<'a, Self> {
        let packet = PacketType::Unsubscribe;
        let (rest, packet_id) = wire::packet_id(packet)(body)?;
        let (rest, properties) = match version {
            ProtocolVersion::V5 => UnsubscribeProperties::parse(rest, packet)?,
            ProtocolVersion::V311 => (rest, UnsubscribeProperties::default()),
        };
        let (rest, raw) = list(rest, packet, |input| {
            let (r, filter) = wire::string(input)?;
            topic::validate_filter(filter).map_err(wire::fail)?;
            Ok((r, ()))
        })?;
        Ok((
            rest,
            Unsubscribe {
                packet_id,
                properties,
                filters: retype(raw),
            },
        ))
    }
}

impl Unsubscribe<Owned> {
    /// An UNSUBSCRIBE for `filters` without properties.
    pub fn new(packet_id: u16, filters: Vec<ByteStr>) -> Self {
        Self {
            packet_id,
            properties: UnsubscribeProperties::default(),
            filters,
        }
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        let packet = PacketType::Unsubscribe;
        if self.packet_id == 0 {
            return Err(EncodeError::ZeroPacketId { packet });
        }
        if self.filters.is_empty() {
            return Err(EncodeError::EmptyList { packet });
        }
        let props = self.properties.body_len()?;
        let mut body = 2 + v5_block(version, props, packet)?;
        for f in &self.filters {
            topic::check_filter(f.as_bytes()).map_err(|e| EncodeError::from_filter(&e))?;
            body += wire::scanned_string_len(f.as_bytes())?;
        }
        Ok((body, props))
    }

    pub(crate) fn put(
        &self,
        version: ProtocolVersion,
        sizes: (usize, usize),
        buf: &mut impl BufMut,
    ) {
        wire::put_header(buf, 0xA2, sizes.0);
        buf.put_u16(self.packet_id);
        if version == ProtocolVersion::V5 {
            self.properties.put(buf, sizes.1);
        }
        for f in &self.filters {
            wire::put_prefixed(buf, f.as_bytes());
        }
    }
}

impl<'a> IntoOwned for Unsubscribe<Borrowed<'a>> {
    type Owned = Unsubscribe<Owned>;
    fn into_owned(self, frame: &Bytes) -> Unsubscribe<Owned> {
        Unsubscribe {
            packet_id: self.packet_id,
            properties: self.properties.into_owned(frame),
            filters: self.filters.into_owned(frame),
        }
    }
}
