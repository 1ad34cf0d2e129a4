//! Typed decode and encode errors: every rejection says what was wrong.

use crate::header::PacketType;

/// Why bytes received from the network are not a valid MQTT packet.
///
/// The connection should be closed
/// (MQTT 5: with reason code Malformed Packet or Protocol Error, see [`DecodeError::is_protocol_error`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A variable byte integer has a fifth continuation byte.
    #[error("variable byte integer longer than 4 bytes")]
    MalformedVarint,
    /// A variable byte integer does not use the minimum number of bytes [MQTT-1.5.5-1].
    #[error("variable byte integer not minimally encoded")]
    NonMinimalVarint,
    /// Packet type 0, or 15 (AUTH) in MQTT 3.1.1.
    #[error("reserved packet type {0}")]
    ReservedPacketType(u8),
    /// The low nibble of the fixed header is not what the packet type requires.
    #[error("reserved flags {flags:#06b} in {packet:?} fixed header")]
    ReservedFlags {
        /// Packet whose header was wrong.
        packet: PacketType,
        /// The flags received.
        flags: u8,
    },
    /// The packet (fixed header included) exceeds the maximum size accepted.
    #[error("packet of {size} bytes exceeds the maximum of {max}")]
    PacketTooLarge {
        /// Total size announced by the fixed header.
        size: usize,
        /// Maximum accepted.
        max: usize,
    },
    /// A field extends past the end given by the remaining length.
    #[error("{packet:?} truncated: a field overruns the remaining length")]
    Truncated {
        /// Packet being decoded.
        packet: PacketType,
    },
    /// Bytes are left over after the last field of a packet that has a fixed layout.
    #[error("{packet:?} has {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// Packet being decoded.
        packet: PacketType,
        /// Number of bytes left over.
        extra: usize,
    },
    /// QoS value 3.
    #[error("invalid QoS {0}")]
    InvalidQoS(u8),
    /// PUBLISH with DUP set and QoS 0 [MQTT-3.3.1-2].
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupWithQoS0,
    /// Packet identifier 0 where one is required [MQTT-2.2.1-3].
    #[error("packet identifier 0 in {packet:?}")]
    ZeroPacketId {
        /// Packet carrying the id.
        packet: PacketType,
    },
    /// A string is not well-formed UTF-8 (this includes encoded surrogates) [MQTT-1.5.4-1].
    #[error("string is not well-formed UTF-8")]
    InvalidUtf8,
    /// A string contains U+0000 [MQTT-1.5.4-2].
    #[error("string contains the null character U+0000")]
    NullCharacter,
    /// A topic name contains `+` or `#` [MQTT-3.3.2-2].
    #[error("wildcard in topic name")]
    WildcardInTopicName,
    /// A topic name is empty (allowed in MQTT 5 only with a topic alias) [MQTT-4.7.3-1].
    #[error("empty topic name")]
    EmptyTopicName,
    /// A topic filter is empty [MQTT-4.7.3-1].
    #[error("empty topic filter")]
    EmptyTopicFilter,
    /// A topic filter with a misplaced wildcard (`a/#/b`, `a+`, `#a`).
    #[error("malformed wildcard in topic filter")]
    InvalidTopicFilter,
    /// A `$share/` filter without a valid share name or filter [MQTT-4.8.2-1].
    #[error("malformed shared subscription filter")]
    InvalidSharedSubscription,
    /// SUBSCRIBE, SUBACK, UNSUBSCRIBE or UNSUBACK (v5) with an empty list.
    #[error("{packet:?} carries no topic filter or reason code")]
    EmptyList {
        /// Packet with the empty list.
        packet: PacketType,
    },
    /// A reason or return code that is not defined for this packet.
    #[error("reason code {code:#04x} is not valid in {packet:?}")]
    InvalidReasonCode {
        /// Packet carrying the code.
        packet: PacketType,
        /// The code received.
        code: u8,
    },
    /// A property identifier the specification does not define.
    #[error("unknown property identifier {0:#04x}")]
    UnknownProperty(u32),
    /// A property appears twice where it may appear once.
    #[error("duplicate property {0:#04x}")]
    DuplicateProperty(u8),
    /// A property that this packet may not carry.
    #[error("property {id:#04x} is not allowed in {packet:?}")]
    PropertyNotAllowed {
        /// Packet carrying the property.
        packet: PacketType,
        /// Property identifier.
        id: u8,
    },
    /// A property value the specification forbids (e.g. Receive Maximum 0, Topic Alias 0, a
    /// boolean property other than 0 or 1).
    #[error("invalid value {value} for property {id:#04x}")]
    InvalidPropertyValue {
        /// Property identifier.
        id: u8,
        /// The value received.
        value: u32,
    },
    /// The property length runs past the end of the packet.
    #[error("property length overruns the packet")]
    PropertyLengthOverrun,
    /// CONNECT protocol name other than `MQTT`.
    #[error("invalid protocol name in CONNECT")]
    InvalidProtocolName,
    /// CONNECT protocol level other than 4 (3.1.1) or 5.
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolLevel(u8),
    /// CONNECT reserved flag bit set [MQTT-3.1.2-3].
    #[error("reserved CONNECT flag set")]
    ReservedConnectFlag,
    /// Will QoS/retain set without the will flag, or will QoS 3 [MQTT-3.1.2-11], [MQTT-3.1.2-13].
    #[error("will flags inconsistent")]
    InvalidWillFlags,
    /// MQTT 3.1.1 CONNECT with a password but no user name [MQTT-3.1.2-22].
    #[error("password without user name")]
    PasswordWithoutUsername,
    /// CONNACK acknowledge flags with reserved bits set [MQTT-3.2.2-1].
    #[error("invalid CONNACK flags {0:#04x}")]
    InvalidConnAckFlags(u8),
    /// Subscription options with reserved bits set, QoS 3 or retain handling 3.
    #[error("invalid subscription options {0:#04x}")]
    InvalidSubscriptionOptions(u8),
    /// No Local on a shared subscription [MQTT-3.8.3-4].
    #[error("no-local set on a shared subscription")]
    NoLocalOnSharedSubscription,
    /// [`decode_publish_head`](crate::decode_publish_head) was given another packet.
    #[error("{0:?} is not a PUBLISH")]
    NotPublish(PacketType),
    /// [`decode_connect_ref`](crate::decode_connect_ref) was given another packet: a
    /// connection's first packet must be a CONNECT [MQTT-3.1.0-1].
    #[error("{0:?} where a CONNECT must come")]
    NotConnect(PacketType),
}

impl DecodeError {
    /// True when MQTT 5 classifies the error as a Protocol Error (0x82) rather than a Malformed
    /// Packet (0x81): the bytes parse but break a rule.
    pub fn is_protocol_error(&self) -> bool {
        matches!(
            self,
            Self::DuplicateProperty(_)
                | Self::PropertyNotAllowed { .. }
                | Self::InvalidPropertyValue { .. }
                | Self::NoLocalOnSharedSubscription
                | Self::UnsupportedProtocolLevel(_)
                | Self::InvalidProtocolName
                | Self::NotConnect(_)
        )
    }
}

/// Why a packet cannot be encoded: it would break a rule the specification sets for the sender.
///
/// Encoding checks everything before it writes, so on error the buffer is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Publish topic is empty (allowed in MQTT 5 only with a topic alias).
    #[error("empty topic name")]
    EmptyTopicName,
    /// Publish topic contains `+` or `#`.
    #[error("wildcard in topic name")]
    WildcardInTopicName,
    /// Topic filter empty or with a misplaced wildcard.
    #[error("invalid topic filter")]
    InvalidTopicFilter,
    /// Packet identifier 0 on a packet that needs one.
    #[error("packet identifier 0 in {packet:?}")]
    ZeroPacketId {
        /// Packet carrying the id.
        packet: PacketType,
    },
    /// QoS 0 PUBLISH with a packet identifier [MQTT-2.2.1-2].
    #[error("QoS 0 PUBLISH with a packet identifier")]
    PacketIdWithQoS0,
    /// DUP on a QoS 0 PUBLISH [MQTT-3.3.1-2].
    #[error("DUP flag on a QoS 0 PUBLISH")]
    DupWithQoS0,
    /// A string longer than 65535 bytes.
    #[error("string of {0} bytes exceeds 65535")]
    StringTooLong(usize),
    /// Binary data longer than 65535 bytes.
    #[error("binary data of {0} bytes exceeds 65535")]
    BinaryTooLong(usize),
    /// A string contains U+0000.
    #[error("string contains the null character U+0000")]
    NullCharacter,
    /// The packet body exceeds the largest remaining length (268 435 455 bytes).
    #[error("packet body of {0} bytes exceeds the MQTT maximum")]
    PacketTooLarge(usize),
    /// SUBSCRIBE, SUBACK, UNSUBSCRIBE or UNSUBACK with an empty list.
    #[error("{packet:?} needs at least one entry")]
    EmptyList {
        /// Packet with the empty list.
        packet: PacketType,
    },
    /// A reason code that this packet (in this protocol version) cannot carry.
    #[error("reason code {code:#04x} cannot be sent in {packet:?}")]
    InvalidReasonCode {
        /// Packet carrying the code.
        packet: PacketType,
        /// The code.
        code: u8,
    },
    /// A property value the specification forbids (0 for Receive Maximum, Topic Alias, Maximum
    /// Packet Size, Subscription Identifier; a Subscription Identifier over 268 435 455).
    #[error("invalid value {value} for property {id:#04x}")]
    InvalidPropertyValue {
        /// Property identifier.
        id: u8,
        /// The value.
        value: u32,
    },
    /// MQTT 5 properties, options or reason codes set on a packet encoded as MQTT 3.1.1.
    #[error("{packet:?} uses MQTT 5 features that MQTT 3.1.1 cannot carry")]
    V5OnlyFeature {
        /// Packet concerned.
        packet: PacketType,
    },
    /// AUTH exists only in MQTT 5.
    #[error("AUTH cannot be sent with MQTT 3.1.1")]
    AuthInV311,
    /// MQTT 3.1.1 CONNECT with a password but no user name [MQTT-3.1.2-22].
    #[error("password without user name")]
    PasswordWithoutUsername,
    /// No Local on a shared subscription [MQTT-3.8.3-4].
    #[error("no-local set on a shared subscription")]
    NoLocalOnSharedSubscription,
    /// The packet is larger than the peer's Maximum Packet Size (MQTT 5).
    #[error("packet of {size} bytes exceeds the peer's maximum packet size of {max}")]
    ExceedsMaximumPacketSize {
        /// Encoded size.
        size: usize,
        /// The peer's limit.
        max: u32,
    },
    /// The output slice given to `encode_to_slice` is too small. Both counts are below the
    /// largest MQTT packet (256 MiB), so they fit a `u32`: that keeps this error, and a
    /// `Result<usize, EncodeError>`, at 16 bytes (returned in two registers, copied as two
    /// words).
    #[error("buffer of {available} bytes too small for a packet of {needed}")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: u32,
        /// Bytes available.
        available: u32,
    },
}

impl EncodeError {
    /// The sender-side form of a topic filter validation failure.
    pub(crate) fn from_filter(e: &DecodeError) -> Self {
        match *e {
            DecodeError::NullCharacter => Self::NullCharacter,
            _ => Self::InvalidTopicFilter,
        }
    }

    /// The sender-side form of a topic validation failure.
    pub(crate) fn from_topic(e: &DecodeError) -> Self {
        match *e {
            DecodeError::EmptyTopicName => Self::EmptyTopicName,
            DecodeError::WildcardInTopicName => Self::WildcardInTopicName,
            DecodeError::NullCharacter => Self::NullCharacter,
            _ => Self::InvalidTopicFilter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encode_result_is_two_words() {
        // Returned in two registers and copied as two words: at 24 bytes the result of every
        // encode went through memory, copied field by field (criterion: the empty PUBLISH
        // encode 5.3 to 10 ns from one process to the next).
        assert_eq!(core::mem::size_of::<EncodeError>(), 16);
        assert_eq!(core::mem::size_of::<Result<usize, EncodeError>>(), 16);
    }
}
