//! MQTT 3.1.1 and 5.0 packets: a streaming `nom` decoder, an exact-size encoder, and strict
//! validation with typed errors. `#![no_std]` + `alloc`.
//!
//! ```
//! use bytes::BytesMut;
//! use mqtt_proto::{decode, decode_ref, Packet, ProtocolVersion, Publish, QoS, TopicName};
//!
//! // Topic names and filters are checked once, when built: encoding copies them.
//! let mut publish = Publish::new(TopicName::new("sensors/kitchen/temp")?, &b"21.5"[..]);
//! publish.qos = QoS::AtLeastOnce;
//! publish.packet_id = Some(7);
//! let packet = Packet::Publish(publish);
//!
//! let mut buf = BytesMut::new();
//! let written = packet.encode(ProtocolVersion::V5, &mut buf)?;
//! assert_eq!(written, packet.encoded_len(ProtocolVersion::V5)?);
//!
//! // Borrowed view: no allocation, `topic` and `payload` point into `buf`.
//! let (view, used) = decode_ref(&buf, ProtocolVersion::V5, 1 << 20)?.expect("whole packet");
//! assert_eq!(used, written);
//! if let Packet::Publish(p) = &view {
//!     assert_eq!((p.topic, p.payload), ("sensors/kitchen/temp", &b"21.5"[..]));
//!     // MQTT 5 properties: the validated raw block, read when asked for.
//!     assert_eq!(p.properties.get().content_type, None);
//! }
//!
//! // Owned form: zero-copy `Bytes` slices of the frame, removed from `buf`.
//! let owned = decode(&mut buf, ProtocolVersion::V5, 1 << 20)?.expect("whole packet");
//! assert_eq!(owned, packet);
//! assert!(buf.is_empty());
//!
//! // A partial packet asks for more bytes and consumes nothing.
//! assert_eq!(decode_ref(&[0x30], ProtocolVersion::V5, 1 << 20)?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every packet type is generic over its [`Storage`]: [`PacketRef`] (views, for the hot path and
//! microcontrollers) and [`Packet`] (owned, `'static`, cheap to send to another thread) come
//! from one parser. Encoding is done from the owned form. The borrowed PUBLISH keeps its MQTT 5
//! properties as their validated raw block, a [`LazyRef`] read by `get()` (a `PacketRef` is 64
//! bytes). The owned PUBLISH keeps them in a [`Boxed`]: nothing allocated for a message without
//! any (most messages), read like the inline set through `Deref`, boxed on the first write:
//!
//! ```
//! use mqtt_proto::{Publish, PublishProperties, TopicName};
//!
//! let mut publish = Publish::new(TopicName::new("sensors/kitchen/temp")?, &b"21.5"[..]);
//! assert!(publish.properties.is_absent() && publish.properties.content_type.is_none());
//! publish.properties.content_type = Some("text/plain".into());
//! assert_eq!(publish.properties.get().map(|p| p.content_type.is_some()), Some(true));
//! // Or a whole set at once.
//! publish.properties = PublishProperties {
//!     message_expiry_interval: Some(60),
//!     ..PublishProperties::default()
//! }
//! .into();
//! assert_eq!(publish.properties.message_expiry_interval, Some(60));
//! # Ok::<(), mqtt_proto::EncodeError>(())
//! ```

#![no_std]
// Unsafe code in two reviewed places, each there for a measured reason given beside it:
// `utf8::text` and `utf8::plain_ascii` (the same ASCII-to-`&str` step in two checks), and the
// in-place encoders in `wire::in_place` (`put_in_place` with its write-only `Room`;
// `put_short` for the short PUBLISH without properties, safe slices but its `set_len`;
// `put_parts` for the other plain PUBLISHes, their parts written at offsets checked once
// against the room; and `try_put_frame` for the common CONNECT and SUBSCRIBE, with their
// `Frame`).
// Everything else is safe code.
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod boxed;
mod bytestr;
mod error;
mod header;
mod packet;
pub mod properties;
mod reason;
mod storage;
pub mod topic;
mod topic_strings;
mod utf8;
mod varint;
mod wire;

pub use boxed::{Boxed, EmptyValue};
pub use bytestr::ByteStr;
pub use error::{DecodeError, EncodeError};
pub use header::{PacketType, ProtocolVersion, QoS};
pub use packet::connect::{decode_connect_ref, ConnAck, Connect, LastWill};
pub use packet::disconnect::{Auth, Disconnect};
pub use packet::head::{decode_publish_head, PublishHead};
pub use packet::publish::{PubResponse, Publish};
pub use packet::subscribe::{
    RetainHandling, SubAck, Subscribe, Subscription, SubscriptionOptions, UnsubAck, Unsubscribe,
};
pub use packet::{decode, decode_ref, Packet, PacketRef};
pub use properties::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties,
    PublishProperties, SubscribeProperties, UnsubscribeProperties, UserProperty, WillProperties,
};
pub use reason::ReasonCode;
pub use storage::{Borrowed, FromRaw, IntoOwned, LazyRef, Owned, SeqIter, SeqRef, Storage};
pub use topic_strings::{TopicFilter, TopicName};
pub use varint::MAX as MAX_REMAINING_LENGTH;

/// Re-export of the `bytes` crate used in the public API.
pub use bytes;
