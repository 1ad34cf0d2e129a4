//! [`Settings`]: every option of a client, shared by the blocking and the async builder, and
//! resolved once into what a driver needs ([`Resolved`]).
//!
//! The setters are written once, in [`for_each_setter!`](crate::for_each_setter): it
//! defines them on [`Settings`] here and, in each transport, the builder methods that forward
//! to them ([`forward_setters!`](crate::forward_setters)).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mqtt_engine::{Options, StdClock};
use mqtt_proto::{LastWill, QoS};
use rustls::ClientConfig;

use crate::address::BrokerAddress;
use crate::error::Error;
use crate::message::IntoPayload;
use crate::status::Status;
use crate::store::SessionStore;
use crate::tls::TlsConfig;

/// The engine of a transport: the session state machine on a [`SessionStore`].
pub type Engine = mqtt_engine::Client<SessionStore>;

/// Every option of a client. Transports wrap it in their `Builder`.
#[derive(Debug)]
pub struct Settings {
    addresses: Vec<String>,
    options: Options,
    tls: Option<TlsConfig>,
    store_path: Option<PathBuf>,
    connect_timeout: Duration,
    retry_first_connection: bool,
    websocket: WebSocketSettings,
    write_gathering: Option<Duration>,
}

/// What a WebSocket connection adds to the address: the request path (when set, instead of
/// the address's) and extra HTTP headers for the upgrade request.
#[derive(Debug, Clone, Default)]
pub(crate) struct WebSocketSettings {
    /// Request path for every `ws://` / `wss://` address, instead of the path in the address.
    pub(crate) path: Option<String>,
    /// Extra headers of the upgrade request (bearer tokens, signed headers), in order.
    pub(crate) headers: Vec<(String, String)>,
}

/// Calls `$callback!` with the list of setters: each with its documentation, its arguments,
/// and its effect on a `Settings` named by the closure-like `|s|`. One table feeds both
/// [`Settings`] and every transport's builder.
#[doc(hidden)]
#[macro_export]
macro_rules! for_each_setter {
    ($callback:ident) => {
        $crate::$callback! {
            /// Client identifier (default: empty, the broker assigns one).
            fn client_id(id: &str) |s| s.edit(|o| o.with_client_id(id));
            /// MQTT version (default 5).
            fn protocol(version: $crate::ProtocolVersion) |s| s.edit(|o| o.protocol(version));
            /// Keep-alive in seconds (default 60; 0 disables it).
            fn keep_alive(secs: u16) |s| s.edit(|o| o.keep_alive_secs(secs));
            /// `false`: a persistent session; messages for the subscriptions are stored by the
            /// broker while the client is offline and delivered when it reconnects (default true).
            fn clean_session(clean: bool) |s| s.edit(|o| o.clean_session(clean));
            /// MQTT 5 Session Expiry Interval in seconds.
            fn session_expiry(secs: u32) |s| s.edit(|o| o.session_expiry_secs(secs));
            /// User name and password.
            fn credentials(username: &str, password: impl $crate::IntoPayload) |s| s.set_credentials(username, password);
            /// Last will: published by the broker if the connection ends without DISCONNECT.
            fn last_will(topic: &str, payload: impl $crate::IntoPayload, qos: $crate::QoS, retain: bool) |s| s.set_last_will(topic, payload, qos, retain);
            /// TLS settings (implied with [`TlsConfig::webpki_roots`]($crate::TlsConfig::webpki_roots)
            /// by an `mqtts://` address).
            fn tls(tls: $crate::TlsConfig) |s| s.tls = Some(tls);
            /// Another broker address, tried in turn (clustered brokers).
            fn address(address: &str) |s| s.addresses.push(address.to_string());
            /// Persist the session in this file ([`SessionStore`]($crate::SessionStore)), so a
            /// restarted process resends what was in flight.
            fn persistence(path: impl Into<std::path::PathBuf>) |s| s.store_path = Some(path.into());
            /// Reconnect backoff (default: 0.1 s doubling up to 30 s, with jitter; a connection
            /// that worked resets it).
            fn reconnect(policy: $crate::ReconnectPolicy) |s| s.edit(|o| o.reconnect(policy));
            /// No automatic reconnect: the client stops when the connection is lost.
            fn no_reconnect() |s| s.edit(|o| o.no_reconnect());
            /// Acknowledge QoS 1/2 messages only when the application calls `ack`.
            fn manual_acks(manual: bool) |s| s.edit(|o| o.manual_acks(manual));
            /// Time allowed to open the connection and receive CONNACK (default 10 s).
            fn connect_timeout(timeout: std::time::Duration) |s| s.set_connect_timeout(timeout);
            /// Keep trying when the very first connection fails (default false). By default a
            /// first connection that cannot succeed at any address — refused, unknown host, TLS
            /// failure, bad credentials, no CONNACK in time — stops the client with that cause at
            /// once (`connect()` returns it), as `mosquitto_pub` does. With `true`, the client
            /// retries with the reconnect backoff (a service that may start before its broker);
            /// [`Error::ConnectTimeout`]($crate::Error::ConnectTimeout) then carries the last
            /// failure's cause. Once connected, reconnects always follow the backoff.
            fn retry_first_connection(retry: bool) |s| s.retry_first_connection = retry;
            /// The request path of `ws://` / `wss://` addresses, instead of the one in the address
            /// (for tools whose URL path means something else, such as the CLI's topic).
            fn ws_path(path: &str) |s| s.websocket.path = Some(path.to_string());
            /// An extra HTTP header on the WebSocket upgrade request (e.g. `Authorization`);
            /// may be given several times.
            fn ws_header(name: &str, value: &str) |s| s.websocket.headers.push((name.to_string(), value.to_string()));
            /// How long, under load, the driver gathers what it has to send (acknowledgements,
            /// publishes) before it writes them in one system call: bytes produced within this
            /// window after its last write wait for the window to pass. Default 25 µs for the
            /// blocking client (plain TCP on Linux; its TLS and WebSocket connections gather in
            /// their writer thread instead) and 75 µs for the async one: on the end-to-end
            /// benchmark (README) this cut the CPU per QoS 1/2 message by half or more, at a
            /// higher rate; at middling rates it costs latency (a held acknowledgement holds the
            /// broker's next small message back: p50 ~60 → ~100 µs at 20,000 messages a second
            /// through mosquitto). `Duration::ZERO` writes at once, each time.
            fn write_gathering(window: std::time::Duration) |s| s.write_gathering = Some(window);
            /// Any other engine option (receive maximum, queue limit, in-flight window, topic
            /// aliases, ping timeout…).
            fn options(f: impl FnOnce($crate::Options) -> $crate::Options) |s| s.edit(f);
        }
    };
}

/// Defines the setters on [`Settings`] (used by [`for_each_setter!`] in this crate).
#[doc(hidden)]
#[macro_export]
macro_rules! settings_setters {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) |$s:ident| $body:expr;)*) => {
        impl $crate::Settings {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self $(, $arg: $ty)*) -> Self {
                    let $s = &mut self;
                    $body;
                    self
                }
            )*
        }
    };
}

/// Defines, inside a transport's `impl Builder`, one method per setting that forwards to the
/// builder's `settings: Settings` field.
#[doc(hidden)]
#[macro_export]
macro_rules! builder_setters {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) |$s:ident| $body:expr;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self $(, $arg: $ty)*) -> Self {
                self.settings = self.settings.$name($($arg),*);
                self
            }
        )*
    };
}

/// Expands to every setting's builder method, forwarding to a field `settings: Settings`.
/// Use inside `impl Builder { … }`.
#[macro_export]
macro_rules! forward_setters {
    () => {
        $crate::for_each_setter!(builder_setters);
    };
}

for_each_setter!(settings_setters);

/// What a driver needs, checked and built from [`Settings`].
pub struct Resolved {
    /// Where and how to connect.
    pub endpoint: Endpoint,
    /// The engine, on the session file or in memory.
    pub engine: Engine,
    /// The clock the engine's time comes from.
    pub clock: StdClock,
}

/// Where and how a driver connects: the fixed settings both drivers read.
#[derive(Debug)]
pub struct Endpoint {
    /// Broker addresses, tried in turn.
    pub addresses: Vec<BrokerAddress>,
    /// The rustls configuration, when an address or the settings ask for TLS.
    pub tls: Option<Arc<ClientConfig>>,
    /// Time allowed to open a connection and receive CONNACK.
    pub connect_timeout: Duration,
    /// Retry a first connection that fails, instead of stopping with its cause.
    pub retry_first_connection: bool,
    /// Extra headers of WebSocket upgrade requests (the path is already in `addresses`).
    pub ws_headers: Vec<(String, String)>,
    /// How long the driver gathers its writes under load; `None`: the transport's default.
    pub write_gathering: Option<Duration>,
}

impl Endpoint {
    /// True when a failure now ends the client: it was never connected, every address was
    /// tried, and the application did not ask to retry the first connection.
    pub fn first_connection_fails(&self, status: &Status) -> bool {
        !status.ever_connected
            && !self.retry_first_connection
            && status.attempts as usize >= self.addresses.len()
    }
}

impl Settings {
    /// Settings for a broker at `address` (`mqtt://host:port`, `mqtts://host`, `host:port`).
    pub fn new(address: &str) -> Self {
        Self {
            addresses: vec![address.to_string()],
            options: Options::new(""),
            tls: None,
            store_path: None,
            connect_timeout: Duration::from_secs(10),
            retry_first_connection: false,
            websocket: WebSocketSettings::default(),
            write_gathering: None,
        }
    }

    fn edit(&mut self, f: impl FnOnce(Options) -> Options) {
        let options = std::mem::replace(&mut self.options, Options::new(""));
        self.options = f(options);
    }

    fn set_credentials(&mut self, username: &str, password: impl IntoPayload) {
        self.edit(|o| o.credentials(username, password.into_payload()));
    }

    fn set_last_will(&mut self, topic: &str, payload: impl IntoPayload, qos: QoS, retain: bool) {
        let will = LastWill::new(topic, payload.into_payload())
            .with_qos(qos)
            .with_retain(retain);
        self.edit(|o| o.last_will(will));
    }

    fn set_connect_timeout(&mut self, timeout: Duration) {
        self.connect_timeout = timeout;
        self.edit(|o| o.connect_timeout(timeout));
    }

    /// Checks the settings: parses the addresses, builds the TLS configuration, opens the
    /// session file and creates the engine (which refuses options the protocol forbids).
    pub fn resolve(self) -> Result<Resolved, Error> {
        let mut addresses = self
            .addresses
            .iter()
            .map(|a| BrokerAddress::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(path) = &self.websocket.path {
            for a in &mut addresses {
                if let Some(p) = &mut a.websocket {
                    p.clone_from(path);
                }
            }
        }
        let tls = match (&self.tls, addresses.iter().any(|a| a.tls)) {
            (Some(t), _) => Some(t.client_config()?),
            (None, true) => Some(TlsConfig::webpki_roots().client_config()?),
            (None, false) => None,
        };
        let store = match &self.store_path {
            Some(path) => SessionStore::open(path).map_err(Error::Store)?,
            None => SessionStore::memory(),
        };
        let clock = StdClock::new();
        let engine = Engine::with_store(self.options, store, clock.now())?;
        Ok(Resolved {
            endpoint: Endpoint {
                addresses,
                tls,
                connect_timeout: self.connect_timeout,
                retry_first_connection: self.retry_first_connection,
                ws_headers: self.websocket.headers,
                write_gathering: self.write_gathering,
            },
            engine,
            clock,
        })
    }
}
