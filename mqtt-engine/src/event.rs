//! What the engine tells the application and the driver.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;
use mqtt_proto::{ByteStr, ConnAckProperties, Publish, QoS, ReasonCode};

use crate::error::{Error, ProtocolError};
use crate::time::Instant;

/// What the driver must do next, from [`Client::poll_output`](crate::Client::poll_output).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // boxing events would allocate once per message
pub enum Output {
    /// Write these bytes to the transport, in order.
    Transmit(Bytes),
    /// Something happened; hand it to the application.
    Event(Event),
    /// Nothing more to do now: call [`Client::handle_timeout`](crate::Client::handle_timeout)
    /// at this instant (or earlier, when input arrives).
    Timeout(Instant),
}

/// An event for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // messages are the common case: boxing them would allocate each time
pub enum Event {
    /// CONNACK with success: the connection is usable. (Boxed: rare and large, it would
    /// otherwise make every event as big as itself.)
    Connected(Box<Connected>),
    /// CONNACK with a failure code. The driver should close the transport. `will_retry` tells
    /// whether a reconnect is scheduled (transient refusals) or not (bad credentials, banned…).
    ConnectionRefused {
        /// The server's reason (3.1.1 return codes are mapped onto it).
        reason_code: ReasonCode,
        /// MQTT 5 Reason String.
        reason_string: Option<ByteStr>,
        /// A reconnect is scheduled.
        will_retry: bool,
    },
    /// An application message arrived.
    Message(Delivery),
    /// MQTT 3.1.1: a message larger than [`Options::max_incoming_packet_size`] arrived. 3.1.1
    /// cannot tell the server our limit, so the message is not the server's fault: it was
    /// acknowledged like any other (with manual acks, in its turn) and its bytes discarded
    /// unread — a persistent session would otherwise send it again on every connection and
    /// nothing after it would ever arrive. (MQTT 5 announces the limit in CONNECT; a server
    /// that exceeds it breaks the protocol and the connection is closed.)
    ///
    /// [`Options::max_incoming_packet_size`]: crate::Options::max_incoming_packet_size
    MessageTooLarge {
        /// Topic of the message.
        topic: ByteStr,
        /// Its QoS.
        qos: QoS,
        /// Its packet identifier (QoS 1/2).
        packet_id: Option<u16>,
        /// Size of the whole PUBLISH in bytes.
        size: usize,
    },
    /// A QoS 1/2 publish ended: PUBACK, PUBCOMP, or PUBREC with a failure code.
    /// `reason_code.is_success()` says whether the server accepted it.
    PublishComplete {
        /// Identifier returned by `publish`.
        packet_id: u16,
        /// Outcome.
        reason_code: ReasonCode,
    },
    /// A queued or in-flight publish could not be delivered and was dropped.
    PublishFailed {
        /// Identifier returned by `publish` (`None` for QoS 0).
        packet_id: Option<u16>,
        /// Why.
        reason: PublishFailure,
    },
    /// SUBACK: one result per filter, in order: the granted QoS or the failure code.
    Subscribed {
        /// Identifier returned by `subscribe`.
        packet_id: u16,
        /// Results.
        results: Vec<Result<QoS, ReasonCode>>,
    },
    /// UNSUBACK: one code per filter (MQTT 3.1.1: all `Success`).
    Unsubscribed {
        /// Identifier returned by `unsubscribe`.
        packet_id: u16,
        /// Results.
        results: Vec<ReasonCode>,
    },
    /// The connection ended. The driver should close the transport after writing what
    /// `poll_output` still returns.
    Disconnected(DisconnectReason),
    /// A reconnect will be due at `at` (after `delay`).
    ReconnectScheduled {
        /// When.
        at: Instant,
        /// Backoff delay chosen.
        delay: Duration,
        /// Consecutive attempts so far.
        attempt: u32,
    },
    /// A publish refused with [`Error::QueueFull`](crate::Error::QueueFull) would now find
    /// room (acknowledgements freed packet identifiers or the queue drained), or the client was
    /// shut down. Emitted once per refusal episode: drivers wake their waiting publishers.
    PublishReady,
    /// Time to reconnect: open a new transport and call [`Client::connect`](crate::Client::connect)
    /// (or [`Client::connection_lost`](crate::Client::connection_lost) if it cannot be opened).
    ReconnectDue,
}

/// Details of a successful CONNACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// The server resumed a session.
    pub session_present: bool,
    /// The client identifier in use (assigned by the server if ours was empty).
    pub client_id: ByteStr,
    /// Keep-alive in effect, in seconds (MQTT 5 Server Keep Alive overrides ours).
    pub keep_alive: u16,
    /// CONNACK properties (MQTT 5; empty in 3.1.1).
    pub properties: ConnAckProperties,
}

/// Why a publish was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishFailure {
    /// The server lost the session and republishing is off.
    SessionLost,
    /// Limits of the new connection forbid it (packet size, QoS, retain).
    Refused(Error),
    /// The client was shut down with the message unsent.
    ShutDown,
}

/// Why the connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The application called `disconnect`.
    Requested,
    /// The driver reported the transport closed or failed.
    TransportClosed,
    /// No CONNACK within the connect timeout.
    ConnectTimeout,
    /// No PINGRESP within the ping timeout.
    PingTimeout,
    /// The server sent DISCONNECT (MQTT 5).
    ServerDisconnect {
        /// Its reason code.
        reason_code: ReasonCode,
        /// Its Reason String.
        reason_string: Option<ByteStr>,
    },
    /// The server broke the protocol; we sent DISCONNECT with `error.reason_code()`.
    ProtocolError(ProtocolError),
}

/// A received application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The PUBLISH, with its topic resolved if it came through a topic alias. Topic and payload
    /// are zero-copy slices of the received bytes.
    pub publish: Publish,
    pub(crate) ack: Option<AckToken>,
}

impl Delivery {
    /// Topic name.
    pub fn topic(&self) -> &str {
        self.publish.topic.as_str()
    }

    /// Payload.
    pub fn payload(&self) -> &Bytes {
        &self.publish.payload
    }

    /// QoS it was delivered with.
    pub fn qos(&self) -> QoS {
        self.publish.qos
    }

    /// The RETAIN flag.
    pub fn retain(&self) -> bool {
        self.publish.retain
    }

    /// In manual-ack mode, the token to pass to [`Client::ack`](crate::Client::ack) (QoS 1/2).
    pub fn ack_token(&self) -> Option<AckToken> {
        self.ack
    }
}

/// Proof of a delivery awaiting the application's acknowledgement (manual-ack mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckToken {
    pub(crate) packet_id: u16,
    pub(crate) qos: QoS,
    pub(crate) connection: u64,
}

impl AckToken {
    /// The packet identifier of the delivery.
    pub fn packet_id(&self) -> u16 {
        self.packet_id
    }
}
