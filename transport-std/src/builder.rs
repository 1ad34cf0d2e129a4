//! [`Builder`]: every option of a [`Client`], checked when it is built.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use mqtt_engine::{Options, ReconnectPolicy, StdClock};
use mqtt_proto::{LastWill, ProtocolVersion, QoS};

use crate::address::BrokerAddress;
use crate::client::{Client, Config, Inner, Shared};
use crate::error::Error;
use crate::message::IntoPayload;
use crate::router::Router;
use crate::store::SessionStore;
use crate::tls::TlsConfig;

/// Builds a [`Client`].
///
/// ```no_run
/// use transport_std::{Client, QoS};
/// let client = Client::builder("mqtt://127.0.0.1:1883")
///     .client_id("sensor-1")
///     .clean_session(false)
///     .credentials("user", "pass")
///     .build()?;
/// client.subscribe("cmd/#", QoS::AtLeastOnce, |msg| println!("{} {:?}", msg.topic(), msg.payload()))?;
/// client.start_background()?;
/// client.publish("data", r#"{"value":42}"#, QoS::AtLeastOnce)?;
/// # Ok::<(), transport_std::Error>(())
/// ```
pub struct Builder {
    pub(crate) addresses: Vec<String>,
    pub(crate) options: Options,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) store_path: Option<PathBuf>,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry_first_connection: bool,
}

impl Builder {
    /// Client identifier (default: empty, the broker assigns one).
    #[must_use]
    pub fn client_id(mut self, id: &str) -> Self {
        self.options = self.options.with_client_id(id);
        self
    }

    /// MQTT version (default 5).
    #[must_use]
    pub fn protocol(mut self, version: ProtocolVersion) -> Self {
        self.options = self.options.protocol(version);
        self
    }

    /// Keep-alive in seconds (default 60).
    #[must_use]
    pub fn keep_alive(mut self, secs: u16) -> Self {
        self.options = self.options.keep_alive_secs(secs);
        self
    }

    /// `false`: a persistent session; messages for the subscriptions are stored by the broker
    /// while the client is offline and delivered when it reconnects (default true).
    #[must_use]
    pub fn clean_session(mut self, clean: bool) -> Self {
        self.options = self.options.clean_session(clean);
        self
    }

    /// MQTT 5 session expiry in seconds.
    #[must_use]
    pub fn session_expiry(mut self, secs: u32) -> Self {
        self.options = self.options.session_expiry_secs(secs);
        self
    }

    /// User name and password.
    #[must_use]
    pub fn credentials(mut self, username: &str, password: impl IntoPayload) -> Self {
        self.options = self.options.credentials(username, password.into_payload());
        self
    }

    /// Last will: published by the broker if the connection ends without DISCONNECT.
    #[must_use]
    pub fn last_will(
        mut self,
        topic: &str,
        payload: impl IntoPayload,
        qos: QoS,
        retain: bool,
    ) -> Self {
        let will = LastWill::new(topic, payload.into_payload())
            .with_qos(qos)
            .with_retain(retain);
        self.options = self.options.last_will(will);
        self
    }

    /// TLS settings (implied with [`TlsConfig::webpki_roots`] by an `mqtts://` address).
    #[must_use]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Another broker address, tried in turn when reconnecting (clustered brokers).
    #[must_use]
    pub fn address(mut self, address: &str) -> Self {
        self.addresses.push(address.to_string());
        self
    }

    /// Persist the session in this file, so a restarted process resends what was in flight.
    #[must_use]
    pub fn persistence(mut self, path: impl Into<PathBuf>) -> Self {
        self.store_path = Some(path.into());
        self
    }

    /// Reconnect backoff (default: 0.5 s doubling up to 30 s, with jitter).
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.options = self.options.reconnect(policy);
        self
    }

    /// No automatic reconnect: `run` returns when the connection is lost.
    #[must_use]
    pub fn no_reconnect(mut self) -> Self {
        self.options = self.options.no_reconnect();
        self
    }

    /// Acknowledge QoS 1/2 messages only when [`Client::ack`] is called.
    #[must_use]
    pub fn manual_acks(mut self, manual: bool) -> Self {
        self.options = self.options.manual_acks(manual);
        self
    }

    /// Time allowed to open the connection and receive CONNACK (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self.options = self.options.connect_timeout(timeout);
        self
    }

    /// Any other engine option (receive maximum, queue limit, topic aliases…).
    #[must_use]
    pub fn options(mut self, f: impl FnOnce(Options) -> Options) -> Self {
        self.options = f(self.options);
        self
    }

    /// Keep trying when the very first connection fails (default false). By default a first
    /// connection that cannot succeed — refused, unknown host, TLS failure, bad credentials,
    /// no CONNACK in time — stops the client with that cause at once (`connect()` returns it),
    /// as `mosquitto_pub` does. With `true`, the client retries with the reconnect backoff, for
    /// a service that may start before its broker; the cause of the last failure is kept for
    /// [`Error::ConnectTimeout`]. Once connected, reconnects always follow the backoff.
    #[must_use]
    pub fn retry_first_connection(mut self, retry: bool) -> Self {
        self.retry_first_connection = retry;
        self
    }

    /// Validates the settings and creates the client (nothing is connected yet).
    pub fn build(self) -> Result<Client, Error> {
        let addresses = self
            .addresses
            .iter()
            .map(|a| BrokerAddress::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let wants_tls = addresses.iter().any(|a| a.tls);
        let tls = match (self.tls, wants_tls) {
            (Some(t), _) => Some(t.build()?),
            (None, true) => Some(TlsConfig::webpki_roots().build()?),
            (None, false) => None,
        };
        let store = match &self.store_path {
            Some(path) => SessionStore::open(path).map_err(Error::Store)?,
            None => SessionStore::memory(),
        };
        let clock = StdClock::new();
        let engine = mqtt_engine::Client::with_store(self.options, store, clock.now())?;
        let inner = Inner {
            engine,
            conn: None,
            requests: crate::requests::Requests::default(),
            connected: None,
            fatal: None,
            last_error: None,
            running: false,
            stopping: false,
            driver_thread: None,
            background: None,
            events_tx: None,
            address_index: 0,
            attempts: 0,
            waiters: 0,
            ever_connected: false,
        };
        let shared = Shared {
            inner: Mutex::new(inner),
            changed: Condvar::new(),
            router: Mutex::new(Router::default()),
            backlog: Arc::default(),
            clock,
            config: Config {
                addresses,
                tls,
                connect_timeout: self.connect_timeout,
                retry_first_connection: self.retry_first_connection,
            },
        };
        Ok(Client {
            shared: Arc::new(shared),
        })
    }
}
