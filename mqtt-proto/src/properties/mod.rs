//! MQTT 5 properties: one struct per packet family, each listing exactly the properties that
//! packet may carry (MQTT 5 section 2.2.2.2). A property outside the list, a repeated one, or a
//! forbidden value is a typed [`DecodeError`].

pub mod id;
mod slot;

use bytes::{BufMut, Bytes};

pub use slot::UserProperty;
use slot::{OwnedSlot, Slot};

use crate::error::{DecodeError, EncodeError};
use crate::header::{PacketType, QoS};
use crate::storage::{Borrowed, IntoOwned, Owned, Storage};
use crate::varint;
use crate::wire::{self, bad, PResult};

/// Splits a property block (length varint + properties) off the front of `input`.
fn block(input: &[u8]) -> PResult<'_, &[u8]> {
    let (rest, len) = wire::varint(input)?;
    let len = len as usize;
    if len > rest.len() {
        return bad(DecodeError::PropertyLengthOverrun);
    }
    Ok((&rest[len..], &rest[..len]))
}

/// A type with a constant empty value: what the shared empty property sets, which an absent
/// [`Boxed`](crate::Boxed) set reads as, are made of.
pub(crate) trait ConstEmpty {
    /// The empty value.
    const EMPTY: Self;
}

impl<T> ConstEmpty for Option<T> {
    const EMPTY: Self = None;
}

impl<T> ConstEmpty for alloc::vec::Vec<T> {
    const EMPTY: Self = alloc::vec::Vec::new();
}

macro_rules! property_struct {
    ($(#[$doc:meta])* $name:ident {
        $( $(#[$fdoc:meta])* $field:ident : $pid:ident => $ty:ty ),* $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name<S: Storage = Owned> {
            $( $(#[$fdoc])* pub $field: $ty, )*
            /// User Properties, in the order received.
            pub user_properties: S::Seq<UserProperty<S>>,
        }

        impl<S: Storage> Default for $name<S> {
            fn default() -> Self {
                Self { $( $field: Default::default(), )* user_properties: Default::default() }
            }
        }

        impl<'a> $name<Borrowed<'a>> {
            /// Decodes a property block at the front of `input` for `packet`.
            pub(crate) fn parse(input: &'a [u8], packet: PacketType) -> PResult<'a, Self> {
                let (rest, block) = block(input)?;
                let mut props = Self::default();
                let mut cur = block;
                while !cur.is_empty() {
                    let (after_id, pid) = wire::varint(cur)?;
                    cur = match u8::try_from(pid).unwrap_or(0) {
                        $( id::$pid => Slot::decode(&mut props.$field, id::$pid, after_id, block)?.0, )*
                        id::USER_PROPERTY => {
                            Slot::decode(&mut props.user_properties, id::USER_PROPERTY, after_id, block)?.0
                        }
                        _ if id::is_defined(pid) => {
                            return bad(DecodeError::PropertyNotAllowed { packet, id: pid as u8 })
                        }
                        _ => return bad(DecodeError::UnknownProperty(pid)),
                    };
                }
                Ok((rest, props))
            }
        }

        impl crate::EmptyValue for $name<Owned> {
            fn empty() -> &'static Self {
                static EMPTY: $name<Owned> = $name {
                    $( $field: ConstEmpty::EMPTY, )*
                    user_properties: alloc::vec::Vec::new(),
                };
                &EMPTY
            }
        }

        impl $name<Owned> {
            /// True when no property is set.
            #[inline]
            pub fn is_empty(&self) -> bool {
                true $( && self.$field.is_absent() )* && self.user_properties.is_empty()
            }

            /// Bytes of the properties, without the length prefix, after checking their values.
            #[inline]
            pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
                if self.is_empty() {
                    return Ok(0);
                }
                self.set_len()
            }

            /// [`Self::body_len`] when at least one property is set.
            #[inline(never)]
            fn set_len(&self) -> Result<usize, EncodeError> {
                Ok(0 $( + OwnedSlot::wire_len(&self.$field, id::$pid)? )*
                    + OwnedSlot::wire_len(&self.user_properties, id::USER_PROPERTY)?)
            }

            /// Writes the length prefix and the properties; `body_len` is what
            /// [`Self::body_len`] returned.
            pub(crate) fn put(&self, buf: &mut impl BufMut, body_len: usize) {
                varint::put(buf, body_len as u32);
                $( OwnedSlot::put(&self.$field, id::$pid, buf); )*
                OwnedSlot::put(&self.user_properties, id::USER_PROPERTY, buf);
            }
        }

        impl<'a> IntoOwned for $name<Borrowed<'a>> {
            type Owned = $name<Owned>;
            fn into_owned(self, frame: &Bytes) -> $name<Owned> {
                $name {
                    $( $field: self.$field.into_owned(frame), )*
                    user_properties: self.user_properties.into_owned(frame),
                }
            }
        }
    };
}

/// A property field that may be absent.
trait Absent {
    fn is_absent(&self) -> bool;
}

impl<T> Absent for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T> Absent for alloc::vec::Vec<T> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

/// Bytes a property block takes, length prefix included, for properties of `body` bytes.
pub(crate) fn block_len(body: usize) -> Result<usize, EncodeError> {
    let len = u32::try_from(body).ok().filter(|l| *l <= varint::MAX);
    let len = len.ok_or(EncodeError::PacketTooLarge(body))?;
    Ok(varint::encoded_len(len) + body)
}

property_struct! {
    /// CONNECT properties (MQTT 5 section 3.1.2.11).
    ConnectProperties {
        /// Seconds the session lasts after the connection closes (0: ends with it).
        session_expiry_interval: SESSION_EXPIRY_INTERVAL => Option<u32>,
        /// How many QoS 1/2 publications the client accepts at once.
        receive_maximum: RECEIVE_MAXIMUM => Option<u16>,
        /// Largest packet the client accepts.
        maximum_packet_size: MAXIMUM_PACKET_SIZE => Option<u32>,
        /// Highest topic alias the client accepts.
        topic_alias_maximum: TOPIC_ALIAS_MAXIMUM => Option<u16>,
        /// Asks the server for Response Information in CONNACK.
        request_response_information: REQUEST_RESPONSE_INFORMATION => Option<bool>,
        /// Whether the server may send Reason Strings and User Properties on failures.
        request_problem_information: REQUEST_PROBLEM_INFORMATION => Option<bool>,
        /// Extended authentication method.
        authentication_method: AUTHENTICATION_METHOD => Option<S::Str>,
        /// Extended authentication data.
        authentication_data: AUTHENTICATION_DATA => Option<S::Bin>,
    }
}

property_struct! {
    /// Will properties, in the CONNECT payload (MQTT 5 section 3.1.3.2).
    WillProperties {
        /// Seconds the server waits before publishing the will.
        will_delay_interval: WILL_DELAY_INTERVAL => Option<u32>,
        /// True when the payload is UTF-8 text.
        payload_format_indicator: PAYLOAD_FORMAT_INDICATOR => Option<bool>,
        /// Lifetime of the will message in seconds.
        message_expiry_interval: MESSAGE_EXPIRY_INTERVAL => Option<u32>,
        /// MIME type of the payload.
        content_type: CONTENT_TYPE => Option<S::Str>,
        /// Topic for a response.
        response_topic: RESPONSE_TOPIC => Option<S::Str>,
        /// Correlation data for a response.
        correlation_data: CORRELATION_DATA => Option<S::Bin>,
    }
}

property_struct! {
    /// CONNACK properties (MQTT 5 section 3.2.2.3).
    ConnAckProperties {
        /// Session expiry the server will use.
        session_expiry_interval: SESSION_EXPIRY_INTERVAL => Option<u32>,
        /// How many QoS 1/2 publications the server accepts at once (default 65535).
        receive_maximum: RECEIVE_MAXIMUM => Option<u16>,
        /// Highest QoS the server supports (absent: 2).
        maximum_qos: MAXIMUM_QOS => Option<QoS>,
        /// Whether retained messages are supported (absent: true).
        retain_available: RETAIN_AVAILABLE => Option<bool>,
        /// Largest packet the server accepts.
        maximum_packet_size: MAXIMUM_PACKET_SIZE => Option<u32>,
        /// Client identifier the server assigned (when the client sent an empty one).
        assigned_client_identifier: ASSIGNED_CLIENT_IDENTIFIER => Option<S::Str>,
        /// Highest topic alias the server accepts (absent: 0, none).
        topic_alias_maximum: TOPIC_ALIAS_MAXIMUM => Option<u16>,
        /// Human-readable diagnostic.
        reason_string: REASON_STRING => Option<S::Str>,
        /// Whether wildcard subscriptions are supported (absent: true).
        wildcard_subscription_available: WILDCARD_SUBSCRIPTION_AVAILABLE => Option<bool>,
        /// Whether subscription identifiers are supported (absent: true).
        subscription_identifiers_available: SUBSCRIPTION_IDENTIFIER_AVAILABLE => Option<bool>,
        /// Whether shared subscriptions are supported (absent: true).
        shared_subscription_available: SHARED_SUBSCRIPTION_AVAILABLE => Option<bool>,
        /// Keep-alive the client must use instead of its own.
        server_keep_alive: SERVER_KEEP_ALIVE => Option<u16>,
        /// Basis for response topics.
        response_information: RESPONSE_INFORMATION => Option<S::Str>,
        /// Another server to use.
        server_reference: SERVER_REFERENCE => Option<S::Str>,
        /// Extended authentication method.
        authentication_method: AUTHENTICATION_METHOD => Option<S::Str>,
        /// Extended authentication data.
        authentication_data: AUTHENTICATION_DATA => Option<S::Bin>,
    }
}

property_struct! {
    /// PUBLISH properties (MQTT 5 section 3.3.2.3).
    PublishProperties {
        /// True when the payload is UTF-8 text.
        payload_format_indicator: PAYLOAD_FORMAT_INDICATOR => Option<bool>,
        /// Lifetime of the message in seconds.
        message_expiry_interval: MESSAGE_EXPIRY_INTERVAL => Option<u32>,
        /// Topic alias (1..=Topic Alias Maximum).
        topic_alias: TOPIC_ALIAS => Option<u16>,
        /// Topic for a response.
        response_topic: RESPONSE_TOPIC => Option<S::Str>,
        /// Correlation data for a response.
        correlation_data: CORRELATION_DATA => Option<S::Bin>,
        /// Identifiers of the subscriptions that matched (server to client only; may repeat).
        subscription_identifiers: SUBSCRIPTION_IDENTIFIER => S::Seq<u32>,
        /// MIME type of the payload.
        content_type: CONTENT_TYPE => Option<S::Str>,
    }
}

/// The raw property block between `before` (the block and what follows it) and `after` (what
/// follows it), as a borrowed packet keeps it: empty for none (the one byte of an empty
/// block, or no block at all in MQTT 3.1.1), so that equal sets compare equal in either
/// version.
#[inline]
pub(crate) fn raw_block<'a>(before: &'a [u8], after: &[u8]) -> &'a [u8] {
    match before.get(..before.len().saturating_sub(after.len())) {
        Some([0]) | None => &[],
        Some(block) => block,
    }
}

/// The set in a raw block the decoder has validated, as a [`LazyRef`](crate::LazyRef) keeps it
/// (empty for none), read by `parse`. Validated, the block cannot fail here; an empty set
/// would stand for a failure.
pub(crate) fn from_raw_block<'a, T: Default>(
    raw: &'a [u8],
    parse: impl FnOnce(&'a [u8]) -> PResult<'a, T>,
) -> T {
    if raw.is_empty() {
        return T::default();
    }
    parse(raw).map(|(_, props)| props).unwrap_or_default()
}

/// The owned form of a borrowed property set, boxed, or absent (no allocation) when empty.
pub(crate) fn owned_rare<T>(props: T, frame: &bytes::Bytes) -> crate::Boxed<T::Owned>
where
    T: IntoOwned + Default + PartialEq,
{
    if props == T::default() {
        crate::Boxed::none()
    } else {
        crate::Boxed::new(props.into_owned(frame))
    }
}

property_struct! {
    /// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.
    AckProperties {
        /// Human-readable diagnostic.
        reason_string: REASON_STRING => Option<S::Str>,
    }
}

property_struct! {
    /// SUBSCRIBE properties (MQTT 5 section 3.8.2.1).
    SubscribeProperties {
        /// Identifier echoed in PUBLISH packets that match (1..=268 435 455).
        subscription_identifier: SUBSCRIPTION_IDENTIFIER => Option<u32>,
    }
}

property_struct! {
    /// UNSUBSCRIBE properties: User Properties only.
    UnsubscribeProperties {}
}

property_struct! {
    /// DISCONNECT properties (MQTT 5 section 3.14.2.2).
    DisconnectProperties {
        /// New session expiry (client to server only).
        session_expiry_interval: SESSION_EXPIRY_INTERVAL => Option<u32>,
        /// Human-readable diagnostic.
        reason_string: REASON_STRING => Option<S::Str>,
        /// Another server to use.
        server_reference: SERVER_REFERENCE => Option<S::Str>,
    }
}

property_struct! {
    /// AUTH properties (MQTT 5 section 3.15.2.2).
    AuthProperties {
        /// Extended authentication method.
        authentication_method: AUTHENTICATION_METHOD => Option<S::Str>,
        /// Extended authentication data.
        authentication_data: AUTHENTICATION_DATA => Option<S::Bin>,
        /// Human-readable diagnostic.
        reason_string: REASON_STRING => Option<S::Str>,
    }
}
