//! [`Builder`]: every option of an async [`Client`], checked when it is built.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use event_listener::Event as Signal;
use mqtt_engine::{Options, ReconnectPolicy, StdClock};
use mqtt_proto::{LastWill, ProtocolVersion, QoS};
use transport_std::{BrokerAddress, Error, IntoPayload, Requests, SessionStore, TlsConfig};

use crate::client::{Client, Config, Connector, Inner, Shared};

/// Builds a [`Client`].
pub struct Builder {
    pub(crate) addresses: Vec<String>,
    pub(crate) options: Options,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) store_path: Option<PathBuf>,
    pub(crate) connector: Option<Connector>,
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

    /// `false`: a persistent session (default true).
    #[must_use]
    pub fn clean_session(mut self, clean: bool) -> Self {
        self.options = self.options.clean_session(clean);
        self
    }

    /// User name and password.
    #[must_use]
    pub fn credentials(mut self, username: &str, password: impl IntoPayload) -> Self {
        self.options = self.options.credentials(username, password.into_payload());
        self
    }

    /// Last will.
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

    /// TLS settings (implied with the bundled roots by an `mqtts://` address).
    #[must_use]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Another broker address, tried in turn when reconnecting.
    #[must_use]
    pub fn address(mut self, address: &str) -> Self {
        self.addresses.push(address.to_string());
        self
    }

    /// Persist the session in this file.
    #[must_use]
    pub fn persistence(mut self, path: impl Into<PathBuf>) -> Self {
        self.store_path = Some(path.into());
        self
    }

    /// Reconnect backoff.
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.options = self.options.reconnect(policy);
        self
    }

    /// No automatic reconnect.
    #[must_use]
    pub fn no_reconnect(mut self) -> Self {
        self.options = self.options.no_reconnect();
        self
    }

    /// Time allowed to open the connection and receive CONNACK (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self.options = self.options.connect_timeout(timeout);
        self
    }

    /// Opens connections with `connector` instead of TCP/TLS: bring your own stream (a TLS
    /// library of your choice, a proxy, a socket pair in tests…).
    #[must_use]
    pub fn connector(mut self, connector: Connector) -> Self {
        self.connector = Some(connector);
        self
    }

    /// Keep trying when the very first connection fails (default false). By default a first
    /// connection that cannot succeed — refused, unknown host, TLS failure, bad credentials,
    /// no CONNACK in time — stops the client with that cause at once (`connect()` returns it).
    /// With `true`, the client retries with the reconnect backoff (a service that may start
    /// before its broker); [`Error::ConnectTimeout`] then carries the last failure's cause.
    #[must_use]
    pub fn retry_first_connection(mut self, retry: bool) -> Self {
        self.retry_first_connection = retry;
        self
    }

    /// Any other engine option.
    #[must_use]
    pub fn options(mut self, f: impl FnOnce(Options) -> Options) -> Self {
        self.options = f(self.options);
        self
    }

    /// Validates the settings and creates the client (nothing is connected yet).
    pub fn build(self) -> Result<Client, Error> {
        let addresses = self
            .addresses
            .iter()
            .map(|a| BrokerAddress::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let tls = match (&self.tls, addresses.iter().any(|a| a.tls)) {
            (Some(t), _) => Some(t.client_config()?),
            (None, true) => Some(TlsConfig::webpki_roots().client_config()?),
            (None, false) => None,
        };
        let store = match &self.store_path {
            Some(p) => SessionStore::open(p).map_err(Error::Store)?,
            None => SessionStore::memory(),
        };
        let clock = StdClock::new();
        let engine = mqtt_engine::Client::with_store(self.options, store, clock.now())?;
        let inner = Inner {
            engine,
            outbox: Vec::new(),
            outbox_bytes: 0,
            requests: Requests::default(),
            connected: None,
            fatal: None,
            last_error: None,
            running: false,
            stopping: false,
            routes: Vec::new(),
            messages_tx: None,
            events_tx: None,
            address_index: 0,
            attempts: 0,
            ever_connected: false,
        };
        let config = Config {
            addresses,
            tls,
            connector: self.connector,
            connect_timeout: self.connect_timeout,
            retry_first_connection: self.retry_first_connection,
        };
        let shared = Shared {
            inner: Mutex::new(inner),
            wake_driver: Signal::new(),
            changed: Signal::new(),
            clock,
            config,
        };
        Ok(Client {
            shared: Arc::new(shared),
        })
    }
}
