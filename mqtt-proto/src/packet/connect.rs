//! CONNECT and CONNACK (MQTT 3.1.1 section 3.1-3.2, MQTT 5 section 3.1-3.2).

use alloc::boxed::Box;
use bytes::{BufMut, Bytes};

use crate::bytestr::ByteStr;
use crate::error::{DecodeError, EncodeError};
use crate::header::{FixedHeader, PacketType, ProtocolVersion, QoS};
use crate::properties::{self, ConnAckProperties, ConnectProperties, WillProperties};
use crate::reason::ReasonCode;
use crate::storage::{Borrowed, IntoOwned, LazyRef, Owned, Storage};
use crate::wire::{self, bad, PResult};

const PROTOCOL_NAME: &[u8] = b"MQTT";

/// The last will: a message the server publishes when the connection ends without DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill<S: Storage = Owned> {
    /// Topic name the will is published to.
    pub topic: S::Str,
    /// Will message payload.
    pub payload: S::Bin,
    /// QoS of the will message.
    pub qos: QoS,
    /// Whether the will message is retained.
    pub retain: bool,
    /// Will properties (MQTT 5; must be empty in 3.1.1). In the borrowed form a
    /// [`LazyRef`](crate::LazyRef), the validated raw block read by `get()`; in the owned form a
    /// [`Boxed`](crate::Boxed), absent (no allocation) when there are none, read and written
    /// like the set itself (`will.properties.will_delay_interval = Some(5)`).
    pub properties: S::Rare<WillProperties<S>>,
}

impl LastWill<Owned> {
    /// A will with QoS 0, not retained, and no properties.
    pub fn new(topic: impl Into<ByteStr>, payload: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: crate::Boxed::none(),
        }
    }

    /// Sets the will QoS (builder style).
    #[must_use]
    pub fn with_qos(mut self, qos: QoS) -> Self {
        self.qos = qos;
        self
    }

    /// Sets the will RETAIN flag (builder style).
    #[must_use]
    pub fn with_retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }
}

/// CONNECT: the first packet a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect<S: Storage = Owned> {
    /// Protocol version announced by the protocol level byte. The decoder reads it from the
    /// packet; the encoder writes it, whatever version the caller passes.
    pub protocol: ProtocolVersion,
    /// Clean Session (3.1.1) / Clean Start (5).
    pub clean_start: bool,
    /// Keep-alive in seconds (0 disables it).
    pub keep_alive: u16,
    /// Client identifier; may be empty to ask the server to assign one.
    pub client_id: S::Str,
    /// Last will, if any.
    pub will: Option<LastWill<S>>,
    /// User name.
    pub username: Option<S::Str>,
    /// Password (binary data).
    pub password: Option<S::Bin>,
    /// CONNECT properties (MQTT 5). In the borrowed form a [`LazyRef`](crate::LazyRef), the
    /// validated raw block read by `get()`; in the owned form a [`Boxed`](crate::Boxed), absent
    /// (no allocation) when there are none, read and written like the set itself
    /// (`connect.properties.session_expiry_interval = Some(60)`).
    pub properties: S::Rare<ConnectProperties<S>>,
}

impl Connect<Owned> {
    /// A CONNECT with clean start, 60 s keep-alive, no will, no credentials.
    pub fn new(protocol: ProtocolVersion, client_id: impl Into<ByteStr>) -> Self {
        Self {
            protocol,
            clean_start: true,
            keep_alive: 60,
            client_id: client_id.into(),
            will: None,
            username: None,
            password: None,
            properties: crate::Boxed::none(),
        }
    }
}

pub(super) mod flag {
    pub const USERNAME: u8 = 0x80;
    pub const PASSWORD: u8 = 0x40;
    pub const WILL_RETAIN: u8 = 0x20;
    pub const WILL_QOS_SHIFT: u8 = 3;
    pub const WILL: u8 = 0x04;
    pub const CLEAN_START: u8 = 0x02;
    pub const RESERVED: u8 = 0x01;
}

/// Decodes a CONNECT from the front of `input` as its own type, without allocating: what a
/// server reads first on a connection, which must be a CONNECT [MQTT-3.1.0-1].
///
/// Returns `Ok(Some((connect, consumed)))`, or `Ok(None)` when `input` does not yet hold the
/// whole packet. Another packet type is [`DecodeError::NotConnect`], once its fixed header
/// has arrived; a CONNECT gets the same checks and errors as from
/// [`decode_ref`](crate::decode_ref), which returns it boxed (every
/// [`PacketRef`](crate::PacketRef) stays 64 bytes; the box is an allocation a CONNECT).
///
/// ```
/// use mqtt_proto::{decode_connect_ref, ProtocolVersion};
/// // CONNECT, MQTT 3.1.1, clean session, keep-alive 60 s, client identifier "c1".
/// let bytes = [0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 2, b'c', b'1'];
/// let (connect, used) = decode_connect_ref(&bytes, 1024)?.expect("the whole packet");
/// assert_eq!(connect.protocol, ProtocolVersion::V311);
/// assert_eq!((connect.client_id, connect.keep_alive, used), ("c1", 60, bytes.len()));
/// # Ok::<(), mqtt_proto::DecodeError>(())
/// ```
#[inline]
pub fn decode_connect_ref(
    input: &[u8],
    max_size: usize,
) -> Result<Option<(Connect<Borrowed<'_>>, usize)>, DecodeError> {
    // The version only decides whether AUTH is a packet type: any other type is refused.
    let Some(header) = FixedHeader::parse(input, ProtocolVersion::V5, max_size)? else {
        return Ok(None);
    };
    if header.packet_type != PacketType::Connect {
        return Err(DecodeError::NotConnect(header.packet_type));
    }
    let Some((body, total)) = header.body(input) else {
        return Ok(None);
    };
    let connect = super::whole(PacketType::Connect, Connect::parse_into(body, |c| c))?;
    Ok(Some((connect, total)))
}

impl<'a> Connect<Borrowed<'a>> {
    pub(crate) fn parse(body: &'a [u8]) -> PResult<'a, Box<Self>> {
        Self::parse_into(body, Box::new)
    }

    /// [`Self::parse`], the CONNECT handed to `wrap` (boxed for a [`PacketRef`](crate::PacketRef),
    /// as it is for [`decode_connect_ref`]) where it is built.
    #[inline]
    fn parse_into<R>(body: &'a [u8], wrap: impl FnOnce(Self) -> R) -> PResult<'a, R> {
        let (rest, name) = wire::binary(body)?;
        if name != PROTOCOL_NAME {
            // [MQTT-3.1.2-1]
            return bad(DecodeError::InvalidProtocolName);
        }
        let (rest, level) = wire::u8(rest)?;
        let protocol = match level {
            4 => ProtocolVersion::V311,
            5 => ProtocolVersion::V5,
            other => return bad(DecodeError::UnsupportedProtocolLevel(other)),
        };
        let (rest, flags) = wire::u8(rest)?;
        if flags & flag::RESERVED != 0 {
            // [MQTT-3.1.2-3]
            return bad(DecodeError::ReservedConnectFlag);
        }
        let will_flag = flags & flag::WILL != 0;
        let will_qos = QoS::from_u8((flags >> flag::WILL_QOS_SHIFT) & 0b11).map_err(wire::fail)?;
        let will_retain = flags & flag::WILL_RETAIN != 0;
        if !will_flag && (will_qos != QoS::AtMostOnce || will_retain) {
            // [MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-15]
            return bad(DecodeError::InvalidWillFlags);
        }
        let has_username = flags & flag::USERNAME != 0;
        let has_password = flags & flag::PASSWORD != 0;
        if protocol == ProtocolVersion::V311 && has_password && !has_username {
            // [MQTT-3.1.2-22]
            return bad(DecodeError::PasswordWithoutUsername);
        }
        let (rest, keep_alive) = wire::u16(rest)?;
        let (rest, properties) = if protocol == ProtocolVersion::V5 {
            let (after, _) = ConnectProperties::parse(rest, PacketType::Connect)?;
            (after, LazyRef::new(properties::raw_block(rest, after)))
        } else {
            (rest, LazyRef::default())
        };
        let (mut rest, client_id) = wire::string(rest)?;
        let mut will = None;
        if will_flag {
            let (r, properties) = if protocol == ProtocolVersion::V5 {
                let (after, _) = WillProperties::parse(rest, PacketType::Connect)?;
                (after, LazyRef::new(properties::raw_block(rest, after)))
            } else {
                (rest, LazyRef::default())
            };
            let (r, topic) = wire::string(r)?;
            crate::topic::validate_name(topic).map_err(wire::fail)?;
            let (r, payload) = wire::binary(r)?;
            rest = r;
            will = Some(LastWill {
                topic,
                payload,
                qos: will_qos,
                retain: will_retain,
                properties,
            });
        }
        let mut username = None;
        if has_username {
            let (r, u) = wire::string(rest)?;
            rest = r;
            username = Some(u);
        }
        let mut password = None;
        if has_password {
            let (r, p) = wire::binary(rest)?;
            rest = r;
            password = Some(p);
        }
        let connect = Connect {
            protocol,
            clean_start: flags & flag::CLEAN_START != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        };
        Ok((rest, wrap(connect)))
    }
}

impl<'a> LazyRef<'a, ConnectProperties<Borrowed<'a>>> {
    /// The CONNECT properties, read from their validated block (an empty set when there are
    /// none); each call reads the block again.
    pub fn get(&self) -> ConnectProperties<Borrowed<'a>> {
        properties::from_raw_block(self.as_bytes(), |raw| {
            ConnectProperties::parse(raw, PacketType::Connect)
        })
    }
}

impl<'a> LazyRef<'a, WillProperties<Borrowed<'a>>> {
    /// The will properties, read from their validated block (an empty set when there are
    /// none); each call reads the block again.
    pub fn get(&self) -> WillProperties<Borrowed<'a>> {
        properties::from_raw_block(self.as_bytes(), |raw| {
            WillProperties::parse(raw, PacketType::Connect)
        })
    }
}

/// Byte counts computed while validating a CONNECT for encoding.
pub(crate) struct ConnectSizes {
    pub(crate) body: usize,
    props: usize,
    will_props: usize,
}

impl Connect<Owned> {
    pub(crate) fn sizes(&self) -> Result<ConnectSizes, EncodeError> {
        let v5 = self.protocol == ProtocolVersion::V5;
        let props = self.properties.body_len()?;
        if !v5 && props != 0 {
            return Err(EncodeError::V5OnlyFeature {
                packet: PacketType::Connect,
            });
        }
        if !v5 && self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::PasswordWithoutUsername);
        }
        // name, level, flags, keep-alive
        let mut body = 2 + PROTOCOL_NAME.len() + 1 + 1 + 2;
        if v5 {
            body += properties::block_len(props)?;
        }
        body += wire::string_len(self.client_id.as_bytes())?;
        let mut will_props = 0;
        if let Some(will) = &self.will {
            crate::topic::validate_name(&will.topic).map_err(|e| EncodeError::from_topic(&e))?;
            will_props = will.properties.body_len()?;
            if v5 {
                body += properties::block_len(will_props)?;
            } else if will_props != 0 {
                return Err(EncodeError::V5OnlyFeature {
                    packet: PacketType::Connect,
                });
            }
            body += wire::string_len(will.topic.as_bytes())? + wire::binary_len(&will.payload)?;
        }
        if let Some(u) = &self.username {
            body += wire::string_len(u.as_bytes())?;
        }
        if let Some(p) = &self.password {
            body += wire::binary_len(p)?;
        }
        Ok(ConnectSizes {
            body,
            props,
            will_props,
        })
    }

    /// Appends the CONNECT to `buf` (same as [`Packet::encode`](crate::Packet::encode) without
    /// building a `Packet`; a CONNECT is encoded with its own `protocol`), returning the bytes
    /// written; on error `buf` is unchanged.
    pub fn encode(&self, buf: &mut bytes::BytesMut) -> Result<usize, EncodeError> {
        if let Some(written) = self.encode_plain(buf) {
            return Ok(written);
        }
        self.encode_checked(buf)
    }

    /// Every CONNECT [`Self::encode_plain`] leaves: properties, and every error.
    #[inline(never)]
    pub(crate) fn encode_checked(&self, buf: &mut bytes::BytesMut) -> Result<usize, EncodeError> {
        let sizes = self.sizes()?;
        let total = wire::total_len(sizes.body)?;
        wire::put_in_place(buf, total, |room| self.put(&sizes, room));
        Ok(total)
    }

    pub(crate) fn put(&self, sizes: &ConnectSizes, buf: &mut impl BufMut) {
        let v5 = self.protocol == ProtocolVersion::V5;
        wire::put_header(buf, 0x10, sizes.body);
        wire::put_prefixed(buf, PROTOCOL_NAME);
        buf.put_u8(self.protocol.level());
        let mut flags = 0;
        if self.clean_start {
            flags |= flag::CLEAN_START;
        }
        if let Some(will) = &self.will {
            flags |= flag::WILL | ((will.qos as u8) << flag::WILL_QOS_SHIFT);
            if will.retain {
                flags |= flag::WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= flag::USERNAME;
        }
        if self.password.is_some() {
            flags |= flag::PASSWORD;
        }
        buf.put_u8(flags);
        buf.put_u16(self.keep_alive);
        if v5 {
            self.properties.put(buf, sizes.props);
        }
        wire::put_prefixed(buf, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            if v5 {
                will.properties.put(buf, sizes.will_props);
            }
            wire::put_prefixed(buf, will.topic.as_bytes());
            wire::put_prefixed(buf, &will.payload);
        }
        if let Some(u) = &self.username {
            wire::put_prefixed(buf, u.as_bytes());
        }
        if let Some(p) = &self.password {
            wire::put_prefixed(buf, p);
        }
    }
}

impl<'a> IntoOwned for LastWill<Borrowed<'a>> {
    type Owned = LastWill<Owned>;
    fn into_owned(self, frame: &Bytes) -> LastWill<Owned> {
        LastWill {
            topic: self.topic.into_owned(frame),
            payload: self.payload.into_owned(frame),
            qos: self.qos,
            retain: self.retain,
            properties: properties::owned_rare(self.properties.get(), frame),
        }
    }
}

impl<'a> IntoOwned for Connect<Borrowed<'a>> {
    type Owned = Connect<Owned>;
    fn into_owned(self, frame: &Bytes) -> Connect<Owned> {
        Connect {
            protocol: self.protocol,
            clean_start: self.clean_start,
            keep_alive: self.keep_alive,
            client_id: self.client_id.into_owned(frame),
            will: self.will.into_owned(frame),
            username: self.username.into_owned(frame),
            password: self.password.into_owned(frame),
            properties: properties::owned_rare(self.properties.get(), frame),
        }
    }
}

/// CONNACK: the server's answer to CONNECT. MQTT 3.1.1 return codes are mapped onto the
/// [`ReasonCode`] of the same meaning (e.g. 4 → `BadUserNameOrPassword`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck<S: Storage = Owned> {
    /// The server has a session for this client.
    pub session_present: bool,
    /// Outcome of the connection attempt.
    pub reason_code: ReasonCode,
    /// CONNACK properties (MQTT 5).
    pub properties: ConnAckProperties<S>,
}

impl<'a> ConnAck<Borrowed<'a>> {
    pub(crate) fn parse(body: &'a [u8], version: ProtocolVersion) -> PResult<'a, Self> {
        let (rest, flags) = wire::u8(body)?;
        if flags & !1 != 0 {
            // [MQTT-3.2.2-1]
            return bad(DecodeError::InvalidConnAckFlags(flags));
        }
        let (rest, code) = wire::u8(rest)?;
        let reason_code = match version {
            ProtocolVersion::V311 => ReasonCode::from_v3_connack(code),
            ProtocolVersion::V5 => {
                ReasonCode::from_u8(code).filter(|c| c.is_valid_for(PacketType::ConnAck))
            }
        };
        let Some(reason_code) = reason_code else {
            return bad(DecodeError::InvalidReasonCode {
                packet: PacketType::ConnAck,
                code,
            });
        };
        let session_present = flags & 1 != 0;
        if session_present && !reason_code.is_success() {
            // [MQTT-3.2.2-4] (3.1.1), [MQTT-3.2.2-6] (5)
            return bad(DecodeError::InvalidConnAckFlags(flags));
        }
        let (rest, properties) = match version {
            ProtocolVersion::V5 => ConnAckProperties::parse(rest, PacketType::ConnAck)?,
            ProtocolVersion::V311 => (rest, ConnAckProperties::default()),
        };
        Ok((
            rest,
            ConnAck {
                session_present,
                reason_code,
                properties,
            },
        ))
    }
}

impl ConnAck<Owned> {
    /// Body length and property length, after validation.
    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        let code = self.reason_code as u8;
        let invalid = EncodeError::InvalidReasonCode {
            packet: PacketType::ConnAck,
            code,
        };
        match version {
            ProtocolVersion::V311 => {
                self.reason_code.to_v3_connack().ok_or(invalid)?;
                if !self.properties.is_empty() {
                    return Err(EncodeError::V5OnlyFeature {
                        packet: PacketType::ConnAck,
                    });
                }
                Ok((2, 0))
            }
            ProtocolVersion::V5 => {
                if !self.reason_code.is_valid_for(PacketType::ConnAck) {
                    return Err(invalid);
                }
                let props = self.properties.body_len()?;
                Ok((2 + properties::block_len(props)?, props))
            }
        }
    }

    pub(crate) fn put(
        &self,
        version: ProtocolVersion,
        sizes: (usize, usize),
        buf: &mut impl BufMut,
    ) {
        wire::put_header(buf, 0x20, sizes.0);
        buf.put_u8(u8::from(
            self.session_present && self.reason_code.is_success(),
        ));
        match version {
            ProtocolVersion::V311 => buf.put_u8(self.reason_code.to_v3_connack().unwrap_or(0)),
            ProtocolVersion::V5 => {
                buf.put_u8(self.reason_code as u8);
                self.properties.put(buf, sizes.1);
            }
        }
    }
}

impl<'a> IntoOwned for ConnAck<Borrowed<'a>> {
    type Owned = ConnAck<Owned>;
    fn into_owned(self, frame: &Bytes) -> ConnAck<Owned> {
        ConnAck {
            session_present: self.session_present,
            reason_code: self.reason_code,
            properties: self.properties.into_owned(frame),
        }
    }
}
