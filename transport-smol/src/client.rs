//! The async client handle, its builder, and the futures that wait for acknowledgements.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use event_listener::Event as Signal;
use mqtt_engine::{Connected, Event, Options, ReconnectPolicy, StdClock};
use mqtt_proto::{ByteStr, LastWill, ProtocolVersion, Publish, QoS, ReasonCode, Subscription};
use transport_std::{
    BrokerAddress, Completion, Error, IntoPayload, Message, Requests, SessionStore, TlsConfig,
};

use crate::driver;

/// A byte stream to the broker: anything `AsyncRead + AsyncWrite` (TCP, TLS, a proxy…).
pub trait Stream: smol::io::AsyncRead + smol::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: smol::io::AsyncRead + smol::io::AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A boxed [`Stream`].
pub type BoxStream = Box<dyn Stream>;

/// Opens a stream to a broker address (for bringing your own transport).
pub type Connector = Arc<
    dyn Fn(BrokerAddress) -> Pin<Box<dyn Future<Output = io::Result<BoxStream>> + Send>>
        + Send
        + Sync,
>;

/// Bytes that may wait for the driver before `publish` waits (backpressure).
pub(crate) const OUTBOX_LIMIT: usize = 1 << 20;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct Config {
    pub(crate) addresses: Vec<BrokerAddress>,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) connector: Option<Connector>,
    pub(crate) connect_timeout: Duration,
}

pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    /// Wakes the driver: bytes to write, or a command changed the engine's deadlines.
    pub(crate) wake_driver: Signal,
    /// Wakes waiters: a request completed or the connection changed.
    pub(crate) changed: Signal,
    pub(crate) clock: StdClock,
    pub(crate) config: Config,
}

pub(crate) struct Inner {
    pub(crate) engine: mqtt_engine::Client<SessionStore>,
    /// Bytes the driver has yet to write, in order.
    pub(crate) outbox: Vec<Bytes>,
    /// Their total size: `publish` waits while it exceeds [`OUTBOX_LIMIT`].
    pub(crate) outbox_bytes: usize,
    pub(crate) requests: Requests,
    pub(crate) connected: Option<Connected>,
    pub(crate) fatal: Option<Error>,
    pub(crate) last_error: Option<String>,
    pub(crate) running: bool,
    pub(crate) stopping: bool,
    pub(crate) routes: Vec<(String, async_channel::Sender<Message>)>,
    pub(crate) messages_tx: Option<async_channel::Sender<Message>>,
    pub(crate) events_tx: Option<async_channel::Sender<Event>>,
    pub(crate) address_index: usize,
    pub(crate) attempts: u32,
}

/// Builds a [`Client`].
pub struct Builder {
    addresses: Vec<String>,
    options: Options,
    tls: Option<TlsConfig>,
    store_path: Option<PathBuf>,
    connector: Option<Connector>,
    connect_timeout: Duration,
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
        };
        let config = Config {
            addresses,
            tls,
            connector: self.connector,
            connect_timeout: self.connect_timeout,
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

/// An async MQTT client. Cheap to clone; every clone drives the same connection. The
/// connection runs in [`Client::run`] (or the task [`Client::start`] spawns).
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("addresses", &self.shared.config.addresses)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for a broker at `address` (`mqtt://host:port`, `mqtts://host`, `host:port`).
    pub fn builder(address: &str) -> Builder {
        Builder {
            addresses: vec![address.to_string()],
            options: Options::new(""),
            tls: None,
            store_path: None,
            connector: None,
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Drives the connection until [`Client::disconnect`] or a fatal error (bad credentials,
    /// untrusted certificate, connection lost without reconnect).
    pub async fn run(&self) -> Result<(), Error> {
        {
            let mut inner = lock(&self.shared.inner);
            if inner.running {
                return Err(Error::AlreadyRunning);
            }
            inner.running = true;
        }
        let result = Box::pin(driver::run(&self.shared)).await;
        lock(&self.shared.inner).running = false;
        self.shared.changed.notify(usize::MAX);
        result
    }

    /// Spawns [`Client::run`] on smol's global executor. The task does not keep the program
    /// alive; dropping the returned handle does not stop it (it is detached).
    pub fn start(&self) {
        let client = self.clone();
        smol::spawn(async move {
            if let Err(e) = Box::pin(client.run()).await {
                let mut inner = lock(&client.shared.inner);
                inner.fatal.get_or_insert(e);
                drop(inner);
                client.shared.changed.notify(usize::MAX);
            }
        })
        .detach();
    }

    /// Starts the connection and waits for the first CONNACK; refusals and TLS failures come
    /// back as errors.
    pub async fn connect(&self) -> Result<Connected, Error> {
        self.start();
        self.wait_connected(self.shared.config.connect_timeout + Duration::from_secs(1))
            .await
    }

    /// Waits until connected.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<Connected, Error> {
        self.wait_for(timeout, |inner| {
            if let Some(c) = &inner.connected {
                return Some(Ok(c.clone()));
            }
            inner.fatal.as_ref().map(|e| Err(e.duplicate()))
        })
        .await
    }

    /// Waits until `check` returns a value, up to `timeout`.
    async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&mut Inner) -> Option<Result<T, Error>>,
    ) -> Result<T, Error> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let listener = self.shared.changed.listen();
            {
                let mut inner = lock(&self.shared.inner);
                if let Some(result) = check(&mut inner) {
                    return result;
                }
                if inner.stopping {
                    return Err(Error::ShutDown);
                }
            }
            let timer = smol::Timer::at(deadline);
            let woke = smol::future::or(
                async {
                    listener.await;
                    true
                },
                async {
                    timer.await;
                    false
                },
            )
            .await;
            if !woke {
                return Err(Error::Timeout);
            }
        }
    }

    /// True while connected.
    pub fn is_connected(&self) -> bool {
        lock(&self.shared.inner).connected.is_some()
    }

    /// Runs one engine command and wakes the driver to write what it produced.
    fn command<T>(
        &self,
        f: impl FnOnce(&mut Inner, mqtt_engine::Instant) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = self.shared.clock.now();
        let mut inner = lock(&self.shared.inner);
        if inner.stopping {
            return Err(Error::ShutDown);
        }
        let result = f(&mut inner, now);
        let events = driver::drain(&self.shared, &mut inner);
        drop(inner);
        self.shared.wake_driver.notify(1);
        driver::route_without_waiting(&self.shared, events);
        result
    }

    /// Publishes `payload` on `topic`; the token resolves on PUBACK/PUBCOMP (QoS 0: at once).
    /// Waits while more than 1 MiB is waiting to be written (backpressure: the network sets the
    /// pace and memory stays bounded).
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl IntoPayload,
        qos: QoS,
    ) -> Result<Token<ReasonCode>, Error> {
        self.publish_message(Publish::new(topic, payload.into_payload()).with_qos(qos))
            .await
    }

    /// Publishes a fully specified message (retain, MQTT 5 properties…).
    pub async fn publish_message(&self, publish: Publish) -> Result<Token<ReasonCode>, Error> {
        loop {
            let listener = self.shared.changed.listen();
            {
                let inner = lock(&self.shared.inner);
                if inner.stopping {
                    return Err(Error::ShutDown);
                }
                if inner.outbox_bytes <= OUTBOX_LIMIT || inner.connected.is_none() {
                    break;
                }
            }
            listener.await;
        }
        let ticket = self.command(|inner, now| {
            let id = inner.engine.publish(publish, now)?;
            Ok(id.map(|id| inner.requests.register(id)))
        })?;
        Ok(Token::new(self.shared.clone(), ticket))
    }

    /// Subscribes; the token resolves on SUBACK with the granted QoS or refusal per filter.
    /// Messages go to [`Client::messages`] (or the channel of [`Client::subscribe_channel`]).
    pub fn subscribe(
        &self,
        filter: &str,
        max_qos: QoS,
    ) -> Result<Token<Vec<Result<QoS, ReasonCode>>>, Error> {
        self.subscribe_many(vec![Subscription::new(filter, max_qos)])
    }

    /// Subscribes to several filters in one SUBSCRIBE.
    pub fn subscribe_many(
        &self,
        subscriptions: Vec<Subscription>,
    ) -> Result<Token<Vec<Result<QoS, ReasonCode>>>, Error> {
        let ticket = self.command(|inner, now| {
            let id = inner.engine.subscribe(subscriptions, now)?;
            Ok(Some(inner.requests.register(id)))
        })?;
        Ok(Token::new(self.shared.clone(), ticket))
    }

    /// Subscribes and returns a channel of the messages matching `filter` (bounded: when it is
    /// full the driver waits, so nothing is dropped).
    pub fn subscribe_channel(
        &self,
        filter: &str,
        max_qos: QoS,
        capacity: usize,
    ) -> Result<(SubscribeToken, async_channel::Receiver<Message>), Error> {
        let (tx, rx) = async_channel::bounded(capacity.max(1));
        lock(&self.shared.inner)
            .routes
            .push((filter.to_string(), tx));
        Ok((self.subscribe(filter, max_qos)?, rx))
    }

    /// Unsubscribes from `filter` (and closes its channel).
    pub fn unsubscribe(&self, filter: &str) -> Result<Token<Vec<ReasonCode>>, Error> {
        let ticket = self.command(|inner, now| {
            inner.routes.retain(|(f, _)| f != filter);
            let id = inner.engine.unsubscribe(vec![ByteStr::from(filter)], now)?;
            Ok(Some(inner.requests.register(id)))
        })?;
        Ok(Token::new(self.shared.clone(), ticket))
    }

    /// Messages no [`Client::subscribe_channel`] route takes. Bounded; a second call replaces
    /// the first receiver.
    pub fn messages(&self, capacity: usize) -> async_channel::Receiver<Message> {
        let (tx, rx) = async_channel::bounded(capacity.max(1));
        lock(&self.shared.inner).messages_tx = Some(tx);
        rx
    }

    /// Every engine event. Bounded; a second call replaces the first receiver.
    pub fn events(&self, capacity: usize) -> async_channel::Receiver<Event> {
        let (tx, rx) = async_channel::bounded(capacity.max(1));
        lock(&self.shared.inner).events_tx = Some(tx);
        rx
    }

    /// Disconnects gracefully: waits up to `timeout` for queued and in-flight messages, sends
    /// DISCONNECT, and stops the driver.
    pub async fn disconnect(&self, timeout: Duration) -> Result<(), Error> {
        let _ = self
            .wait_for(timeout, |inner| {
                (inner.engine.is_idle() || !inner.running).then_some(Ok(()))
            })
            .await;
        let now = self.shared.clock.now();
        {
            let mut inner = lock(&self.shared.inner);
            inner.engine.disconnect(now);
            let _ = driver::drain(&self.shared, &mut inner);
            inner.stopping = true;
        }
        self.shared.wake_driver.notify(usize::MAX);
        self.shared.changed.notify(usize::MAX);
        // The driver writes the DISCONNECT, closes the stream and returns.
        let _ = self
            .wait_for(timeout, |inner| (!inner.running).then_some(Ok(())))
            .await;
        Ok(())
    }
}

/// The token of a subscribe: per filter, the granted QoS or the refusal code.
pub type SubscribeToken = Token<Vec<Result<QoS, ReasonCode>>>;

/// Resolves when the broker acknowledges one request: `token.wait().await`.
pub struct Token<T> {
    shared: Arc<Shared>,
    ticket: Option<(u64, u16)>,
    kind: core::marker::PhantomData<fn() -> T>,
}

impl<T> Token<T> {
    fn new(shared: Arc<Shared>, ticket: Option<(u64, u16)>) -> Self {
        Self {
            shared,
            ticket,
            kind: core::marker::PhantomData,
        }
    }

    /// The packet identifier (`None` for QoS 0).
    pub fn packet_id(&self) -> Option<u16> {
        self.ticket.map(|(_, id)| id)
    }

    async fn completion(&self, timeout: Duration) -> Result<Option<Completion>, Error> {
        let Some((ticket, _)) = self.ticket else {
            return Ok(None);
        };
        let client = Client {
            shared: self.shared.clone(),
        };
        client
            .wait_for(timeout, |inner| {
                if let Some(done) = inner.requests.take(ticket) {
                    return Some(Ok(Some(done)));
                }
                inner.fatal.as_ref().map(|e| Err(e.duplicate()))
            })
            .await
    }
}

impl Token<ReasonCode> {
    /// Waits for PUBACK / PUBCOMP and returns the broker's reason code.
    pub async fn wait(&self, timeout: Duration) -> Result<ReasonCode, Error> {
        match self.completion(timeout).await? {
            Some(Completion::Published(code)) => Ok(code),
            Some(Completion::Failed(reason)) => Err(Error::PublishFailed(reason)),
            _ => Ok(ReasonCode::Success),
        }
    }
}

impl Token<Vec<Result<QoS, ReasonCode>>> {
    /// Waits for SUBACK.
    pub async fn wait(&self, timeout: Duration) -> Result<Vec<Result<QoS, ReasonCode>>, Error> {
        match self.completion(timeout).await? {
            Some(Completion::Subscribed(r)) => Ok(r),
            _ => Ok(Vec::new()),
        }
    }
}

impl Token<Vec<ReasonCode>> {
    /// Waits for UNSUBACK.
    pub async fn wait(&self, timeout: Duration) -> Result<Vec<ReasonCode>, Error> {
        match self.completion(timeout).await? {
            Some(Completion::Unsubscribed(r)) => Ok(r),
            _ => Ok(Vec::new()),
        }
    }
}

impl<T> Drop for Token<T> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            lock(&self.shared.inner).requests.forget(ticket);
        }
    }
}

/// Keeps `Bytes` in the public vocabulary.
pub type Payload = Bytes;
