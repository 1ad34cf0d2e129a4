//! Errors: [`Error`] for commands the application gives, [`ProtocolError`] for what the broker
//! did wrong.

use mqtt_proto::{DecodeError, EncodeError, PacketType, QoS, ReasonCode};

/// Why a command (publish, subscribe, …) was refused. Nothing was queued or sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The queue of publishes waiting to be sent is full ([`Options::max_queued`](crate::Options::max_queued)).
    #[error("publish queue full ({0} messages waiting)")]
    QueueFull(usize),
    /// All 65535 packet identifiers are in use.
    #[error("no free packet identifier")]
    PacketIdsExhausted,
    /// The packet exceeds the server's Maximum Packet Size [MQTT-3.2.2-15].
    #[error("packet of {size} bytes exceeds the server's maximum of {max}")]
    PacketTooLarge {
        /// Encoded size.
        size: usize,
        /// Server's limit.
        max: u32,
    },
    /// QoS above the server's Maximum QoS [MQTT-3.2.2-11].
    #[error("QoS {requested:?} above the server's maximum {max:?}")]
    QoSNotSupported {
        /// Requested QoS.
        requested: QoS,
        /// Server's maximum.
        max: QoS,
    },
    /// Retained message while the server has Retain Available = 0 [MQTT-3.2.2-14].
    #[error("the server does not support retained messages")]
    RetainNotSupported,
    /// The packet breaks a rule of the protocol (topic, string length…).
    #[error("invalid packet: {0}")]
    Invalid(EncodeError),
    /// SUBSCRIBE / UNSUBSCRIBE without filters.
    #[error("no topic filter given")]
    NoFilters,
    /// MQTT 3.1.1 forbids a zero-byte client identifier with a persistent session
    /// (CleanSession 0) [MQTT-3.1.3-7]: give a client identifier, or a clean session.
    #[error("an empty client identifier needs a clean session in MQTT 3.1.1 [MQTT-3.1.3-7]")]
    EmptyClientIdWithSession,
    /// The client was shut down with [`Client::disconnect`](crate::Client::disconnect).
    #[error("the client is shut down")]
    ShutDown,
}

/// A broker broke the protocol. The engine sends DISCONNECT with [`Self::reason_code`] (MQTT 5)
/// and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Bytes that are not a valid packet.
    #[error("malformed packet: {0}")]
    Decode(#[from] DecodeError),
    /// A packet the client never receives (CONNECT, SUBSCRIBE, PINGREQ…), or one before CONNACK.
    #[error("unexpected {0:?} packet")]
    UnexpectedPacket(PacketType),
    /// An acknowledgement for a packet identifier with nothing in flight.
    #[error("{packet:?} for unknown packet identifier {packet_id}")]
    UnknownPacketId {
        /// The acknowledgement.
        packet: PacketType,
        /// Its identifier.
        packet_id: u16,
    },
    /// SUBACK / UNSUBACK with a number of codes different from the filters sent.
    #[error("{packet:?} has {got} reason codes for {expected} filters")]
    AckCountMismatch {
        /// SUBACK or UNSUBACK.
        packet: PacketType,
        /// Filters in the request.
        expected: usize,
        /// Codes received.
        got: usize,
    },
    /// Session Present = 1 in answer to Clean Start = 1 [MQTT-3.2.2-2].
    #[error("session present although a clean start was requested")]
    UnexpectedSessionPresent,
    /// A Topic Alias of 0, above our maximum, or unknown [MQTT-3.3.2-10].
    #[error("invalid topic alias {0}")]
    TopicAliasInvalid(u16),
    /// More unacknowledged QoS 1/2 messages than our Receive Maximum [MQTT-3.3.4-9].
    #[error("the server exceeded our receive maximum")]
    ReceiveMaximumExceeded,
    /// AUTH: extended authentication is not supported by this client.
    #[error("extended authentication (AUTH) is not supported")]
    AuthNotSupported,
}

impl ProtocolError {
    /// The MQTT 5 DISCONNECT reason code for this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Self::Decode(DecodeError::PacketTooLarge { .. }) => ReasonCode::PacketTooLarge,
            Self::Decode(e) if !e.is_protocol_error() => ReasonCode::MalformedPacket,
            Self::TopicAliasInvalid(_) => ReasonCode::TopicAliasInvalid,
            Self::ReceiveMaximumExceeded => ReasonCode::ReceiveMaximumExceeded,
            _ => ReasonCode::ProtocolError,
        }
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        match e {
            // [MQTT-3.2.2-15]
            EncodeError::ExceedsMaximumPacketSize { size, max } => {
                Self::PacketTooLarge { size, max }
            }
            other => Self::Invalid(other),
        }
    }
}
