//! The [`Packet`] enum and the two entry points of the codec: [`decode_ref`] / [`decode`] and
//! [`Packet::encode`].

pub mod connect;
mod connect_plain;
pub mod disconnect;
mod fast;
pub mod head;
pub mod publish;
mod publish_plain;
mod publish_properties;
pub mod subscribe;
mod subscribe_plain;

use alloc::boxed::Box;

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::header::{FixedHeader, PacketType, ProtocolVersion};
use crate::storage::{Borrowed, IntoOwned, Owned, Storage};
use crate::wire::{self, PResult};

use connect::{ConnAck, Connect, ConnectSizes};
use disconnect::{Auth, Disconnect};
use publish::{PubResponse, Publish};
use subscribe::{SubAck, Subscribe, Unsubscribe};

/// An MQTT control packet. `Packet` (the default, [`Owned`]) holds zero-copy [`Bytes`] slices;
/// [`PacketRef`] holds views into the decoder's input.
///
/// CONNECT, CONNACK, DISCONNECT and AUTH, large and sent about once per connection, are boxed
/// so that every packet of the stream moves a small value: decoding them is the only
/// allocation the borrowed form makes. Build them with `Packet::from(…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<S: Storage = Owned> {
    /// CONNECT.
    Connect(Box<Connect<S>>),
    /// CONNACK.
    ConnAck(Box<ConnAck<S>>),
    /// PUBLISH.
    Publish(Publish<S>),
    /// PUBACK (QoS 1 acknowledgement).
    PubAck(PubResponse<S>),
    /// PUBREC (QoS 2, step 2).
    PubRec(PubResponse<S>),
    /// PUBREL (QoS 2, step 3).
    PubRel(PubResponse<S>),
    /// PUBCOMP (QoS 2, step 4).
    PubComp(PubResponse<S>),
    /// SUBSCRIBE.
    Subscribe(Subscribe<S>),
    /// SUBACK.
    SubAck(SubAck<S>),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe<S>),
    /// UNSUBACK.
    UnsubAck(SubAck<S>),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(Box<Disconnect<S>>),
    /// AUTH (MQTT 5).
    Auth(Box<Auth<S>>),
}

/// A packet whose strings, payload and lists borrow from the decoder's input.
pub type PacketRef<'a> = Packet<Borrowed<'a>>;

impl<S: Storage> Packet<S> {
    /// The control packet type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Connect(_) => PacketType::Connect,
            Self::ConnAck(_) => PacketType::ConnAck,
            Self::Publish(_) => PacketType::Publish,
            Self::PubAck(_) => PacketType::PubAck,
            Self::PubRec(_) => PacketType::PubRec,
            Self::PubRel(_) => PacketType::PubRel,
            Self::PubComp(_) => PacketType::PubComp,
            Self::Subscribe(_) => PacketType::Subscribe,
            Self::SubAck(_) => PacketType::SubAck,
            Self::Unsubscribe(_) => PacketType::Unsubscribe,
            Self::UnsubAck(_) => PacketType::UnsubAck,
            Self::PingReq => PacketType::PingReq,
            Self::PingResp => PacketType::PingResp,
            Self::Disconnect(_) => PacketType::Disconnect,
            Self::Auth(_) => PacketType::Auth,
        }
    }
}

/// Decodes one packet from the front of `input` without allocating.
///
/// Returns `Ok(Some((packet, consumed)))`, or `Ok(None)` when `input` does not yet hold a whole
/// packet. A packet larger than `max_size` bytes (fixed header included) is refused from its
/// fixed header, before its body arrives.
#[inline]
pub fn decode_ref(
    input: &[u8],
    version: ProtocolVersion,
    max_size: usize,
) -> Result<Option<(PacketRef<'_>, usize)>, DecodeError> {
    let Some(header) = FixedHeader::parse(input, version, max_size)? else {
        return Ok(None);
    };
    let Some((body, total)) = header.body(input) else {
        return Ok(None);
    };
    // Each arm builds its packet in the result itself (one local for all arms was copied
    // into the result, a `memcpy` of the whole packet on every decode).
    match header.packet_type {
        PacketType::Publish => Ok(Some((
            Packet::Publish(fast::publish(header.flags, body, version)?),
            total,
        ))),
        t
        @ (PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp) => {
            match fast::short_response(t, body) {
                Some(r) => Ok(Some((response(t, r?), total))),
                None => parse_body_as(header, body, version, |p| Some((p, total))),
            }
        }
        _ => parse_body_as(header, body, version, |p| Some((p, total))),
    }
}

/// The packet variant for an acknowledgement of type `t` (one of the four).
#[allow(clippy::inline_always)] // measured with callgrind
#[inline(always)]
fn response<S: Storage>(t: PacketType, r: PubResponse<S>) -> Packet<S> {
    match t {
        PacketType::PubAck => Packet::PubAck(r),
        PacketType::PubRec => Packet::PubRec(r),
        PacketType::PubRel => Packet::PubRel(r),
        _ => Packet::PubComp(r),
    }
}

/// Decodes one packet from the front of `buf`, removing its bytes. The packet's strings and
/// payload are slices of the received frame: nothing is copied.
///
/// Returns `Ok(None)` (leaving `buf` untouched) when `buf` does not yet hold a whole packet.
/// On error the offending frame may have been removed; the connection cannot continue anyway.
#[inline]
pub fn decode(
    buf: &mut BytesMut,
    version: ProtocolVersion,
    max_size: usize,
) -> Result<Option<Packet>, DecodeError> {
    let Some(header) = FixedHeader::parse(buf, version, max_size)? else {
        return Ok(None);
    };
    let total = header.total_len();
    if buf.len() < total {
        return Ok(None);
    }
    let t = header.packet_type;
    if let t
    @ (PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp) = t
    {
        // No slice of the frame is kept: read the id and drop the bytes.
        let id =
            fast::short_response(t, &buf[header.header_len..total]).map(|r| r.map(|r| r.packet_id));
        if let Some(id) = id {
            let id = id?;
            buf.advance(total);
            return Ok(Some(response(t, PubResponse::new(id))));
        }
    }
    if t == PacketType::Publish {
        return Ok(Some(Packet::Publish(fast::owned_publish(
            header,
            buf.split_to(total),
            version,
        )?)));
    }
    if total == header.header_len {
        // An empty body (PINGREQ, PINGRESP, a DISCONNECT or AUTH without a reason code) keeps
        // nothing of the frame: read without splitting it off, so no reference count.
        buf.advance(total);
        return Ok(Some(
            parse_body(header, &[], version)?.into_owned(&Bytes::new()),
        ));
    }
    let frame: Bytes = buf.split_to(total).freeze();
    let packet = parse_body(header, &frame[header.header_len..], version)?;
    Ok(Some(packet.into_owned(&frame)))
}

#[inline]
fn parse_body(
    header: FixedHeader,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<PacketRef<'_>, DecodeError> {
    parse_body_as(header, body, version, |p| p)
}

/// [`parse_body`] with its packet handed to `done` in each arm, so that a caller's result
/// (`done` wraps the packet in it) is built in place: with a `?` between them, the packet was
/// copied into `decode_ref`'s result with 16-byte loads over the narrower stores that had just
/// written it, a store-forwarding stall (perf: a quarter of a borrowed mixed-stream decode's
/// samples).
#[inline]
fn parse_body_as<'a, R>(
    header: FixedHeader,
    body: &'a [u8],
    version: ProtocolVersion,
    done: impl FnOnce(PacketRef<'a>) -> R,
) -> Result<R, DecodeError> {
    let t = header.packet_type;
    let v = version;
    // Each arm builds its packet in the result: one `PResult` shared by the arms was copied
    // there, and a CONNECT copied again into its box (now boxed where it is parsed). Callgrind,
    // with `decode_ref`'s arms: CONNECT decode 810 -> 675 instructions, mixed stream 278 -> 231
    // a packet.
    let packet = match t {
        PacketType::Connect => Packet::Connect(whole(t, Connect::parse(body))?),
        PacketType::ConnAck => Packet::ConnAck(Box::new(whole(t, ConnAck::parse(body, v))?)),
        PacketType::Publish => Packet::Publish(whole(t, Publish::parse(header.flags, body, v))?),
        PacketType::PubAck => Packet::PubAck(whole(t, PubResponse::parse(t, body, v))?),
        PacketType::PubRec => Packet::PubRec(whole(t, PubResponse::parse(t, body, v))?),
        PacketType::PubRel => Packet::PubRel(whole(t, PubResponse::parse(t, body, v))?),
        PacketType::PubComp => Packet::PubComp(whole(t, PubResponse::parse(t, body, v))?),
        PacketType::Subscribe => Packet::Subscribe(whole(t, Subscribe::parse(body, v))?),
        PacketType::SubAck => Packet::SubAck(whole(t, SubAck::parse(t, body, v))?),
        PacketType::Unsubscribe => Packet::Unsubscribe(whole(t, Unsubscribe::parse(body, v))?),
        PacketType::UnsubAck => Packet::UnsubAck(whole(t, SubAck::parse(t, body, v))?),
        PacketType::PingReq => whole(t, Ok((body, Packet::PingReq)))?,
        PacketType::PingResp => whole(t, Ok((body, Packet::PingResp)))?,
        PacketType::Disconnect => {
            Packet::Disconnect(Box::new(whole(t, Disconnect::parse(body, v))?))
        }
        PacketType::Auth => Packet::Auth(Box::new(whole(t, Auth::parse(body, v))?)),
    };
    Ok(done(packet))
}

/// What a body parser returned, once it has read the whole body of a `packet`.
#[inline]
fn whole<T>(packet: PacketType, parsed: PResult<'_, T>) -> Result<T, DecodeError> {
    match parsed {
        Ok(([], p)) => Ok(p),
        Ok((rest, _)) => Err(DecodeError::TrailingBytes {
            packet,
            extra: rest.len(),
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e.into_decode_error(packet)),
        Err(nom::Err::Incomplete(_)) => Err(DecodeError::Truncated { packet }),
    }
}

impl<'a> IntoOwned for PacketRef<'a> {
    type Owned = Packet;
    fn into_owned(self, frame: &Bytes) -> Packet {
        match self {
            Packet::Connect(p) => Packet::Connect(Box::new((*p).into_owned(frame))),
            Packet::ConnAck(p) => Packet::ConnAck(Box::new((*p).into_owned(frame))),
            Packet::Publish(p) => Packet::Publish(p.into_owned(frame)),
            Packet::PubAck(p) => Packet::PubAck(p.into_owned(frame)),
            Packet::PubRec(p) => Packet::PubRec(p.into_owned(frame)),
            Packet::PubRel(p) => Packet::PubRel(p.into_owned(frame)),
            Packet::PubComp(p) => Packet::PubComp(p.into_owned(frame)),
            Packet::Subscribe(p) => Packet::Subscribe(p.into_owned(frame)),
            Packet::SubAck(p) => Packet::SubAck(p.into_owned(frame)),
            Packet::Unsubscribe(p) => Packet::Unsubscribe(p.into_owned(frame)),
            Packet::UnsubAck(p) => Packet::UnsubAck(p.into_owned(frame)),
            Packet::PingReq => Packet::PingReq,
            Packet::PingResp => Packet::PingResp,
            Packet::Disconnect(p) => Packet::Disconnect(Box::new((*p).into_owned(frame))),
            Packet::Auth(p) => Packet::Auth(Box::new((*p).into_owned(frame))),
        }
    }
}

/// Sizes computed while validating a packet for encoding.
enum Sizes {
    /// Body length and property block length.
    Body(usize, usize),
    Connect(ConnectSizes),
}

impl Sizes {
    fn body(&self) -> usize {
        match self {
            Self::Body(body, _) => *body,
            Self::Connect(c) => c.body,
        }
    }
}

impl Packet<Owned> {
    fn sizes(&self, version: ProtocolVersion) -> Result<Sizes, EncodeError> {
        let v = version;
        let t = self.packet_type();
        let (body, props) = match self {
            Self::Connect(p) => return p.sizes().map(Sizes::Connect),
            Self::ConnAck(p) => p.sizes(v)?,
            Self::Publish(p) => p.sizes(v)?,
            Self::PubAck(p) | Self::PubRec(p) | Self::PubRel(p) | Self::PubComp(p) => {
                p.sizes(t, v)?
            }
            Self::Subscribe(p) => p.sizes(v)?,
            Self::SubAck(p) | Self::UnsubAck(p) => p.sizes(t, v)?,
            Self::Unsubscribe(p) => p.sizes(v)?,
            Self::PingReq | Self::PingResp => (0, 0),
            Self::Disconnect(p) => p.sizes(v)?,
            Self::Auth(_) if v == ProtocolVersion::V311 => return Err(EncodeError::AuthInV311),
            Self::Auth(p) => p.sizes(v)?,
        };
        Ok(Sizes::Body(body, props))
    }

    /// Exact number of bytes [`Self::encode`] writes, after checking that the packet may be
    /// sent with `version`. A CONNECT is always encoded with its own `protocol`.
    pub fn encoded_len(&self, version: ProtocolVersion) -> Result<usize, EncodeError> {
        wire::total_len(self.sizes(version)?.body())
    }

    /// Appends the packet to `buf` with one reservation, returning the bytes written. On error
    /// `buf` is unchanged.
    #[inline]
    pub fn encode(
        &self,
        version: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        // The packets of the stream, without the dispatch every other packet goes through;
        // PUBLISH first, by one test (a jump table here cost a sixth of a PUBLISH encode).
        if let Self::Publish(p) = self {
            return p.encode_within(version, None, buf);
        }
        match self {
            Self::PubAck(p) => p.encode_as(PacketType::PubAck, version, buf),
            Self::PubRec(p) => p.encode_as(PacketType::PubRec, version, buf),
            Self::PubRel(p) => p.encode_as(PacketType::PubRel, version, buf),
            Self::PubComp(p) => p.encode_as(PacketType::PubComp, version, buf),
            Self::Subscribe(p) => p.encode(version, buf),
            Self::Connect(p) => p.encode(buf),
            _ => self.encode_other(version, buf),
        }
    }

    /// [`Self::encode`] for every packet without a path of its own.
    #[inline(never)]
    fn encode_other(
        &self,
        version: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let sizes = self.sizes(version)?;
        let total = wire::total_len(sizes.body())?;
        wire::put_in_place(buf, total, |room| self.put(version, &sizes, room));
        Ok(total)
    }

    /// Writes the packet at the start of `out` without allocating, returning the bytes written.
    pub fn encode_to_slice(
        &self,
        version: ProtocolVersion,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let sizes = self.sizes(version)?;
        let total = wire::total_len(sizes.body())?;
        let Some(mut window) = out.get_mut(..total) else {
            // `total` is at most the largest packet and `out` is shorter: both fit.
            return Err(EncodeError::BufferTooSmall {
                needed: u32::try_from(total).unwrap_or(u32::MAX),
                available: u32::try_from(out.len()).unwrap_or(u32::MAX),
            });
        };
        self.put(version, &sizes, &mut window);
        Ok(total)
    }

    fn put(&self, v: ProtocolVersion, sizes: &Sizes, buf: &mut impl bytes::BufMut) {
        let t = self.packet_type();
        let (body, props) = match sizes {
            Sizes::Connect(c) => {
                if let Self::Connect(p) = self {
                    p.put(c, buf);
                }
                return;
            }
            Sizes::Body(body, props) => (*body, *props),
        };
        let s = (body, props);
        match self {
            Self::Connect(_) => {}
            Self::ConnAck(p) => p.put(v, s, buf),
            Self::Publish(p) => p.put(v, s, buf),
            Self::PubAck(p) | Self::PubRec(p) | Self::PubRel(p) | Self::PubComp(p) => {
                p.put(t, s, buf);
            }
            Self::Subscribe(p) => p.put(v, s, buf),
            Self::SubAck(p) | Self::UnsubAck(p) => p.put(t, v, s, buf),
            Self::Unsubscribe(p) => p.put(v, s, buf),
            Self::PingReq => wire::put_header(buf, 0xC0, 0),
            Self::PingResp => wire::put_header(buf, 0xD0, 0),
            Self::Disconnect(p) => p.put(s, buf),
            Self::Auth(p) => p.put(s, buf),
        }
    }
}

/// `Packet::from(x)` for the packets held boxed.
macro_rules! from_boxed {
    ($($name:ident),*) => {$(
        impl<S: Storage> From<$name<S>> for Packet<S> {
            fn from(p: $name<S>) -> Self {
                Self::$name(Box::new(p))
            }
        }
    )*};
}

from_boxed!(Connect, ConnAck, Disconnect, Auth);
