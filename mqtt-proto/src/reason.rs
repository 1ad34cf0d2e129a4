//! Reason codes (MQTT 5 section 2.4) and the MQTT 3.1.1 return codes mapped onto them, so a
//! client sees one typed enum whatever the protocol version.

use crate::header::{PacketType, QoS};

macro_rules! reason_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal : [$($pkt:ident),*] ),* $(,)?) => {
        /// A reason code. `Success` (0x00) is also "Normal disconnection" in DISCONNECT and
        /// "Granted QoS 0" in SUBACK.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ReasonCode {
            $( $(#[$doc])* $name = $code, )*
        }

        impl ReasonCode {
            /// The code for a byte, if the specification defines one.
            pub fn from_u8(code: u8) -> Option<Self> {
                match code {
                    $( $code => Some(Self::$name), )*
                    _ => None,
                }
            }

            /// True when MQTT 5 allows this code in `packet`.
            pub fn is_valid_for(self, packet: PacketType) -> bool {
                match self {
                    $( Self::$name => matches!(packet, $(PacketType::$pkt)|*), )*
                }
            }
        }
    };
}

reason_codes! {
    /// Success, normal disconnection, or granted QoS 0.
    Success = 0x00: [ConnAck, PubAck, PubRec, PubRel, PubComp, SubAck, UnsubAck, Disconnect, Auth],
    /// Granted QoS 1.
    GrantedQoS1 = 0x01: [SubAck],
    /// Granted QoS 2.
    GrantedQoS2 = 0x02: [SubAck],
    /// Disconnect with Will Message.
    DisconnectWithWill = 0x04: [Disconnect],
    /// No matching subscribers.
    NoMatchingSubscribers = 0x10: [PubAck, PubRec],
    /// No subscription existed.
    NoSubscriptionExisted = 0x11: [UnsubAck],
    /// Continue authentication.
    ContinueAuthentication = 0x18: [Auth],
    /// Re-authenticate.
    ReAuthenticate = 0x19: [Auth],
    /// Unspecified error.
    UnspecifiedError = 0x80: [ConnAck, PubAck, PubRec, SubAck, UnsubAck, Disconnect],
    /// Malformed Packet.
    MalformedPacket = 0x81: [ConnAck, Disconnect],
    /// Protocol Error.
    ProtocolError = 0x82: [ConnAck, Disconnect],
    /// Implementation specific error.
    ImplementationSpecificError = 0x83: [ConnAck, PubAck, PubRec, SubAck, UnsubAck, Disconnect],
    /// Unsupported Protocol Version.
    UnsupportedProtocolVersion = 0x84: [ConnAck],
    /// Client Identifier not valid.
    ClientIdentifierNotValid = 0x85: [ConnAck],
    /// Bad User Name or Password.
    BadUserNameOrPassword = 0x86: [ConnAck],
    /// Not authorized.
    NotAuthorized = 0x87: [ConnAck, PubAck, PubRec, SubAck, UnsubAck, Disconnect],
    /// Server unavailable.
    ServerUnavailable = 0x88: [ConnAck],
    /// Server busy.
    ServerBusy = 0x89: [ConnAck, Disconnect],
    /// Banned.
    Banned = 0x8A: [ConnAck],
    /// Server shutting down.
    ServerShuttingDown = 0x8B: [Disconnect],
    /// Bad authentication method.
    BadAuthenticationMethod = 0x8C: [ConnAck, Disconnect],
    /// Keep Alive timeout.
    KeepAliveTimeout = 0x8D: [Disconnect],
    /// Session taken over.
    SessionTakenOver = 0x8E: [Disconnect],
    /// Topic Filter invalid.
    TopicFilterInvalid = 0x8F: [SubAck, UnsubAck, Disconnect],
    /// Topic Name invalid.
    TopicNameInvalid = 0x90: [ConnAck, PubAck, PubRec, Disconnect],
    /// Packet Identifier in use.
    PacketIdentifierInUse = 0x91: [PubAck, PubRec, SubAck, UnsubAck],
    /// Packet Identifier not found.
    PacketIdentifierNotFound = 0x92: [PubRel, PubComp],
    /// Receive Maximum exceeded.
    ReceiveMaximumExceeded = 0x93: [Disconnect],
    /// Topic Alias invalid.
    TopicAliasInvalid = 0x94: [Disconnect],
    /// Packet too large.
    PacketTooLarge = 0x95: [ConnAck, Disconnect],
    /// Message rate too high.
    MessageRateTooHigh = 0x96: [Disconnect],
    /// Quota exceeded.
    QuotaExceeded = 0x97: [ConnAck, PubAck, PubRec, SubAck, Disconnect],
    /// Administrative action.
    AdministrativeAction = 0x98: [Disconnect],
    /// Payload format invalid.
    PayloadFormatInvalid = 0x99: [ConnAck, PubAck, PubRec, Disconnect],
    /// Retain not supported.
    RetainNotSupported = 0x9A: [ConnAck, Disconnect],
    /// QoS not supported.
    QoSNotSupported = 0x9B: [ConnAck, Disconnect],
    /// Use another server.
    UseAnotherServer = 0x9C: [ConnAck, Disconnect],
    /// Server moved.
    ServerMoved = 0x9D: [ConnAck, Disconnect],
    /// Shared Subscriptions not supported.
    SharedSubscriptionsNotSupported = 0x9E: [SubAck, Disconnect],
    /// Connection rate exceeded.
    ConnectionRateExceeded = 0x9F: [ConnAck, Disconnect],
    /// Maximum connect time.
    MaximumConnectTime = 0xA0: [Disconnect],
    /// Subscription Identifiers not supported.
    SubscriptionIdentifiersNotSupported = 0xA1: [SubAck, Disconnect],
    /// Wildcard Subscriptions not supported.
    WildcardSubscriptionsNotSupported = 0xA2: [SubAck, Disconnect],
}

impl ReasonCode {
    /// True for codes below 0x80 (success or informational).
    pub fn is_success(self) -> bool {
        (self as u8) < 0x80
    }

    /// For a SUBACK code: the QoS granted, or `None` for a failure.
    pub fn granted_qos(self) -> Option<QoS> {
        match self {
            Self::Success => Some(QoS::AtMostOnce),
            Self::GrantedQoS1 => Some(QoS::AtLeastOnce),
            Self::GrantedQoS2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    /// The SUBACK code granting `qos`.
    pub fn granted(qos: QoS) -> Self {
        match qos {
            QoS::AtMostOnce => Self::Success,
            QoS::AtLeastOnce => Self::GrantedQoS1,
            QoS::ExactlyOnce => Self::GrantedQoS2,
        }
    }

    /// Maps an MQTT 3.1.1 CONNACK return code (3.2.2.3) onto the MQTT 5 code of the same meaning.
    pub(crate) fn from_v3_connack(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Success,
            1 => Self::UnsupportedProtocolVersion,
            2 => Self::ClientIdentifierNotValid,
            3 => Self::ServerUnavailable,
            4 => Self::BadUserNameOrPassword,
            5 => Self::NotAuthorized,
            _ => return None,
        })
    }

    /// The MQTT 3.1.1 CONNACK return code for this code, if 3.1.1 has one.
    pub(crate) fn to_v3_connack(self) -> Option<u8> {
        Some(match self {
            Self::Success => 0,
            Self::UnsupportedProtocolVersion => 1,
            Self::ClientIdentifierNotValid => 2,
            Self::ServerUnavailable => 3,
            Self::BadUserNameOrPassword => 4,
            Self::NotAuthorized => 5,
            _ => return None,
        })
    }

    /// Maps an MQTT 3.1.1 SUBACK return code (0, 1, 2 or 0x80 Failure).
    pub(crate) fn from_v3_suback(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Success,
            1 => Self::GrantedQoS1,
            2 => Self::GrantedQoS2,
            0x80 => Self::UnspecifiedError,
            _ => return None,
        })
    }

    /// The MQTT 3.1.1 SUBACK return code for this code, if 3.1.1 has one.
    pub(crate) fn to_v3_suback(self) -> Option<u8> {
        match self {
            Self::Success | Self::GrantedQoS1 | Self::GrantedQoS2 | Self::UnspecifiedError => {
                Some(self as u8)
            }
            _ => None,
        }
    }
}
