//! Client configuration: what the CONNECT says and how the engine behaves around it.

use core::time::Duration;

use bytes::Bytes;
use mqtt_proto::{ByteStr, ConnectProperties, LastWill, ProtocolVersion, UserProperty};

/// Reconnection with exponential backoff and jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Delay before the first retry (default 100 ms; "equal jitter" picks between half and all
    /// of each delay).
    pub min_delay: Duration,
    /// Upper bound of the delay.
    pub max_delay: Duration,
    /// A connection that stayed up this long resets the backoff (so does one on which the
    /// server answered anything after CONNACK).
    pub stable_after: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
            stable_after: Duration::from_secs(10),
        }
    }
}

/// Client options. Built with [`Options::new`] and the chained setters.
///
/// ```
/// use mqtt_engine::Options;
/// use mqtt_proto::ProtocolVersion;
/// let options = Options::new("sensor-1")
///     .protocol(ProtocolVersion::V311)
///     .keep_alive_secs(30)
///     .clean_session(false)
///     .credentials("user", "pass");
/// assert_eq!(options.client_id(), "sensor-1");
/// ```
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent switches, each with its own setter
pub struct Options {
    pub(crate) client_id: ByteStr,
    pub(crate) version: ProtocolVersion,
    pub(crate) keep_alive: u16,
    pub(crate) clean_start: bool,
    pub(crate) session_expiry: Option<u32>,
    pub(crate) username: Option<ByteStr>,
    pub(crate) password: Option<Bytes>,
    pub(crate) will: Option<LastWill>,
    pub(crate) receive_maximum: u16,
    pub(crate) max_incoming_packet: u32,
    pub(crate) topic_alias_maximum: u16,
    pub(crate) max_inflight: Option<u16>,
    pub(crate) max_queued: usize,
    pub(crate) reconnect: Option<ReconnectPolicy>,
    pub(crate) resubscribe: bool,
    pub(crate) republish_on_session_loss: bool,
    pub(crate) manual_acks: bool,
    pub(crate) seed: u64,
    pub(crate) connect_timeout: Duration,
    pub(crate) ping_timeout: Option<Duration>,
    pub(crate) user_properties: alloc::vec::Vec<UserProperty>,
}

impl Options {
    /// Options for `client_id` (empty: the server assigns one) with MQTT 5, clean start,
    /// 60 s keep-alive and automatic reconnect.
    pub fn new(client_id: impl Into<ByteStr>) -> Self {
        Self {
            client_id: client_id.into(),
            version: ProtocolVersion::V5,
            keep_alive: 60,
            clean_start: true,
            session_expiry: None,
            username: None,
            password: None,
            will: None,
            receive_maximum: 65_535,
            max_incoming_packet: 1 << 20,
            topic_alias_maximum: 16,
            max_inflight: None,
            max_queued: 10_000,
            reconnect: Some(ReconnectPolicy::default()),
            resubscribe: true,
            republish_on_session_loss: true,
            manual_acks: false,
            seed: 0x9E37_79B9_7F4A_7C15,
            connect_timeout: Duration::from_secs(30),
            ping_timeout: None,
            user_properties: alloc::vec::Vec::new(),
        }
    }

    /// Replaces the client identifier.
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<ByteStr>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// MQTT version (default 5).
    #[must_use]
    pub fn protocol(mut self, version: ProtocolVersion) -> Self {
        self.version = version;
        self
    }

    /// Keep-alive in seconds; 0 disables it (default 60).
    #[must_use]
    pub fn keep_alive_secs(mut self, secs: u16) -> Self {
        self.keep_alive = secs;
        self
    }

    /// Clean Start on the first connection (default true). With `false` the session persists:
    /// in MQTT 5 the Session Expiry Interval then defaults to "never" (0xFFFFFFFF) unless set.
    #[must_use]
    pub fn clean_session(mut self, clean: bool) -> Self {
        self.clean_start = clean;
        self
    }

    /// MQTT 5 Session Expiry Interval in seconds.
    #[must_use]
    pub fn session_expiry_secs(mut self, secs: u32) -> Self {
        self.session_expiry = Some(secs);
        self
    }

    /// User name and password.
    #[must_use]
    pub fn credentials(mut self, username: impl Into<ByteStr>, password: impl Into<Bytes>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// User name only.
    #[must_use]
    pub fn username(mut self, username: impl Into<ByteStr>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The last will, published by the server if the connection ends without DISCONNECT.
    #[must_use]
    pub fn last_will(mut self, will: LastWill) -> Self {
        self.will = Some(will);
        self
    }

    /// MQTT 5 Receive Maximum announced to the server: incoming QoS 1/2 messages it may have
    /// unacknowledged at once (default 65535).
    #[must_use]
    pub fn receive_maximum(mut self, max: u16) -> Self {
        self.receive_maximum = max.max(1);
        self
    }

    /// Largest packet accepted from the server, in bytes (default 1 MiB, at least 16). MQTT 5
    /// announces it in CONNECT (Maximum Packet Size): a larger packet is a protocol error and
    /// closes the connection (0x95). MQTT 3.1.1 cannot announce it: a larger PUBLISH is
    /// acknowledged, reported as [`Event::MessageTooLarge`](crate::Event::MessageTooLarge)
    /// and dropped without being buffered; any other larger packet closes the connection.
    #[must_use]
    pub fn max_incoming_packet_size(mut self, bytes: u32) -> Self {
        self.max_incoming_packet = bytes.max(16);
        self
    }

    /// MQTT 5 Topic Alias Maximum announced to the server (default 16; 0 disables).
    #[must_use]
    pub fn topic_alias_maximum(mut self, max: u16) -> Self {
        self.topic_alias_maximum = max;
        self
    }

    /// Limit of outgoing QoS 1/2 messages in flight, below the server's Receive Maximum.
    /// Default: 1000 with MQTT 5 (a window this size fills a fast link; a larger one makes
    /// brokers that keep in-flight messages in lists slow down, and every reconnect resend
    /// more), 20 with MQTT 3.1.1, whose servers cannot announce their limit: 20 is mosquitto's
    /// default `max_inflight_messages`, and mosquitto 2.0 silently fails to deliver QoS 2
    /// messages a 3.1.1 client sends beyond it. Raise it only for a broker known to allow more.
    #[must_use]
    pub fn max_inflight(mut self, max: u16) -> Self {
        self.max_inflight = Some(max.max(1));
        self
    }

    /// Limit of publishes waiting to be sent (offline, or for an in-flight slot). A publish
    /// beyond it fails with [`Error::QueueFull`](crate::Error::QueueFull) (default 10 000).
    #[must_use]
    pub fn max_queued(mut self, max: usize) -> Self {
        self.max_queued = max;
        self
    }

    /// Reconnect policy (default: [`ReconnectPolicy::default`]).
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// No automatic reconnect: a lost connection stays lost.
    #[must_use]
    pub fn no_reconnect(mut self) -> Self {
        self.reconnect = None;
        self
    }

    /// Re-subscribe to acknowledged subscriptions when the server has no session (default true).
    #[must_use]
    pub fn resubscribe_on_reconnect(mut self, yes: bool) -> Self {
        self.resubscribe = yes;
        self
    }

    /// When the server lost the session, send unacknowledged QoS 1/2 messages again as new
    /// publications (default true); otherwise they fail with an event.
    #[must_use]
    pub fn republish_on_session_loss(mut self, yes: bool) -> Self {
        self.republish_on_session_loss = yes;
        self
    }

    /// Incoming QoS 1/2 messages are acknowledged only when the application calls
    /// [`Client::ack`](crate::Client::ack) (default false: acknowledged on delivery).
    #[must_use]
    pub fn manual_acks(mut self, yes: bool) -> Self {
        self.manual_acks = yes;
        self
    }

    /// Seed of the reconnect jitter (the engine has no source of randomness of its own).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Time allowed for CONNACK after CONNECT (default 30 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for PINGRESP after PINGREQ before the connection is declared lost.
    /// Default: the keep-alive in effect, at least 1 s and at most 10 s (keep-alive 2 s → 2 s,
    /// 60 s → 10 s).
    #[must_use]
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = Some(timeout);
        self
    }

    /// A User Property sent in CONNECT (MQTT 5).
    #[must_use]
    pub fn user_property(mut self, key: impl Into<ByteStr>, value: impl Into<ByteStr>) -> Self {
        self.user_properties.push(UserProperty::new(key, value));
        self
    }

    /// The client identifier (after a CONNACK, the one the server assigned, if any).
    pub fn client_id(&self) -> &str {
        self.client_id.as_str()
    }

    /// The protocol version.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The in-flight window in effect (see [`Options::max_inflight`]).
    pub(crate) fn inflight_window(&self) -> u16 {
        self.max_inflight.unwrap_or(match self.version {
            ProtocolVersion::V5 => 1_000,
            ProtocolVersion::V311 => 20,
        })
    }

    /// True when the session outlives the connection.
    pub(crate) fn persistent(&self) -> bool {
        match self.version {
            ProtocolVersion::V311 => !self.clean_start,
            ProtocolVersion::V5 => self.effective_session_expiry() > 0,
        }
    }

    pub(crate) fn effective_session_expiry(&self) -> u32 {
        self.session_expiry
            .unwrap_or(if self.clean_start { 0 } else { u32::MAX })
    }

    pub(crate) fn connect_properties(&self) -> ConnectProperties {
        let mut p: ConnectProperties = ConnectProperties::default();
        let expiry = self.effective_session_expiry();
        p.session_expiry_interval = (expiry > 0).then_some(expiry);
        p.receive_maximum = (self.receive_maximum < u16::MAX).then_some(self.receive_maximum);
        p.maximum_packet_size = Some(self.max_incoming_packet);
        p.topic_alias_maximum = (self.topic_alias_maximum > 0).then_some(self.topic_alias_maximum);
        p.user_properties.clone_from(&self.user_properties);
        p
    }
}
