//! The transport's error type.

use mqtt_proto::ReasonCode;

/// Why an operation of the blocking client failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A broker address that cannot be parsed.
    #[error("invalid broker address {address:?}: {reason}")]
    InvalidAddress {
        /// The address given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Network failure.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// TLS failure (certificate not trusted, wrong host name, handshake failure…).
    #[error("TLS error: {0}")]
    Tls(#[from] rustls::Error),
    /// A certificate or key could not be loaded.
    #[error("invalid certificate or key: {0}")]
    Certificate(String),
    /// The broker refused the connection (bad credentials, not authorized…).
    #[error("connection refused by the broker: {0:?}")]
    ConnectionRefused(ReasonCode),
    /// The engine refused the command (queue full, packet too large, QoS not supported…).
    #[error(transparent)]
    Engine(#[from] mqtt_engine::Error),
    /// The broker or the network did not answer in time.
    #[error("timed out")]
    Timeout,
    /// No connection within the time allowed; the cause of the last failed attempt.
    #[error("timed out connecting: {0}")]
    ConnectTimeout(String),
    /// The client was shut down.
    #[error("the client is shut down")]
    ShutDown,
    /// The client is already running (`run` or `start_background` was called before).
    #[error("the client is already running")]
    AlreadyRunning,
    /// Waiting for an acknowledgement from inside a message handler would block the thread
    /// that receives that acknowledgement.
    #[error("cannot wait for an acknowledgement from inside a handler")]
    WaitInHandler,
    /// The publish was dropped by the engine (see the reason).
    #[error("publish failed: {0:?}")]
    PublishFailed(mqtt_engine::PublishFailure),
    /// The session file could not be read or written.
    #[error("session store: {0}")]
    Store(std::io::Error),
    /// The server answered the WebSocket upgrade request with this HTTP status.
    #[error("WebSocket upgrade refused: HTTP {status} {reason}")]
    WebSocketRefused {
        /// HTTP status code.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// The WebSocket handshake or connection broke a rule: the server did not accept the `mqtt`
    /// sub-protocol, sent a text frame, or sent an invalid frame.
    #[error("WebSocket: {0}")]
    WebSocket(String),
}

/// A topic name or filter that breaks the rules of MQTT 4.7 (from
/// [`TopicName::new`](mqtt_proto::TopicName::new) or
/// [`TopicFilter::new`](mqtt_proto::TopicFilter::new)): refused as the engine refuses any
/// packet it cannot send, [`mqtt_engine::Error::Invalid`].
impl From<mqtt_proto::EncodeError> for Error {
    fn from(e: mqtt_proto::EncodeError) -> Self {
        Self::Engine(e.into())
    }
}

impl Error {
    /// A copy, for a second waiter (I/O errors keep their kind and message).
    #[must_use]
    pub fn duplicate(&self) -> Error {
        match self {
            Self::InvalidAddress { address, reason } => Self::InvalidAddress {
                address: address.clone(),
                reason,
            },
            Self::Io(e) => Self::Io(std::io::Error::new(e.kind(), e.to_string())),
            Self::Tls(e) => Self::Tls(e.clone()),
            Self::Certificate(s) => Self::Certificate(s.clone()),
            Self::ConnectionRefused(c) => Self::ConnectionRefused(*c),
            Self::Engine(e) => Self::Engine(e.clone()),
            Self::Timeout => Self::Timeout,
            Self::ConnectTimeout(cause) => Self::ConnectTimeout(cause.clone()),
            Self::ShutDown => Self::ShutDown,
            Self::AlreadyRunning => Self::AlreadyRunning,
            Self::WaitInHandler => Self::WaitInHandler,
            Self::PublishFailed(r) => Self::PublishFailed(r.clone()),
            Self::Store(e) => Self::Store(std::io::Error::new(e.kind(), e.to_string())),
            Self::WebSocketRefused { status, reason } => Self::WebSocketRefused {
                status: *status,
                reason: reason.clone(),
            },
            Self::WebSocket(why) => Self::WebSocket(why.clone()),
        }
    }
}
