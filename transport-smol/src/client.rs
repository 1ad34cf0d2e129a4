//! The async client handle, its builder, and the futures that wait for acknowledgements.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use event_listener::Event as Signal;
use mqtt_engine::{Connected, Event, StdClock};
use mqtt_proto::{ByteStr, Publish, QoS, ReasonCode, Subscription, TopicFilter, TopicName};
use transport_core::{
    BrokerAddress, Endpoint, Error, IntoPayload, Message, SessionStore, Settings, Status,
};

use crate::builder::Builder;
use crate::driver;
use crate::token::{SubscribeToken, Token};

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

pub(crate) use transport_core::outbox::OUTBOX_LIMIT;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    /// Wakes the driver: bytes to write, or a command changed the engine's deadlines.
    pub(crate) wake_driver: crate::nudge::Nudge,
    /// Wakes waiters: a request completed or the connection changed.
    pub(crate) changed: Signal,
    /// Wakes publishers waiting for room: an eighth of the queue free again (or the session
    /// drained), bytes written, or the connection or the client's state changed. Not every
    /// completion: a publisher at a full queue sleeps through a batch of acknowledgements
    /// instead of being woken (a thread wake-up, a contended lock) for each.
    pub(crate) room: Signal,
    pub(crate) clock: StdClock,
    pub(crate) config: Endpoint,
    /// Opens streams instead of TCP/TLS, when the application brought its own.
    pub(crate) connector: Option<Connector>,
}

impl Shared {
    /// Wakes every waiter: the connection or the client's state changed.
    pub(crate) fn notify_all(&self) {
        self.changed.notify(usize::MAX);
        self.room.notify(usize::MAX);
    }
}

pub(crate) struct Inner {
    pub(crate) engine: mqtt_engine::Client<SessionStore>,
    /// Bytes the driver has yet to write, in the engine's order; `publish` waits while more
    /// than [`OUTBOX_LIMIT`] wait here.
    pub(crate) outbox: Vec<u8>,
    /// Requests, the current connection, the last failure, the fatal error.
    pub(crate) status: Status,
    pub(crate) running: bool,
    pub(crate) stopping: bool,
    pub(crate) routes: Vec<(String, async_channel::Sender<Message>)>,
    pub(crate) messages_tx: Option<async_channel::Sender<Message>>,
    pub(crate) events_tx: Option<async_channel::Sender<Event>>,
    /// Events drained from the engine, not yet delivered to channels (the driver delivers them,
    /// in order).
    pub(crate) unrouted: Vec<Event>,
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
            settings: Settings::new(address),
            connector: None,
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
        self.shared.notify_all();
        result
    }

    /// Spawns [`Client::run`] on smol's global executor. The task does not keep the program
    /// alive; dropping the returned handle does not stop it (it is detached).
    pub fn start(&self) {
        let client = self.clone();
        smol::spawn(async move {
            if let Err(e) = Box::pin(client.run()).await {
                let mut inner = lock(&client.shared.inner);
                inner.status.fatal.get_or_insert(e);
                drop(inner);
                client.shared.notify_all();
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
        let result = self
            .wait_for(timeout, |inner| {
                if let Some(c) = &inner.status.connected {
                    return Some(Ok(c.clone()));
                }
                inner.status.fatal.as_ref().map(|e| Err(e.duplicate()))
            })
            .await;
        match result {
            Err(Error::Timeout) => Err(lock(&self.shared.inner).status.connect_timeout()),
            other => other,
        }
    }

    /// Waits until `check` returns a value, up to `timeout`.
    pub(crate) async fn wait_for<T>(
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
        lock(&self.shared.inner).status.connected.is_some()
    }

    /// Runs one engine command and wakes the driver to write what it produced.
    fn command<T>(
        &self,
        f: impl FnOnce(&mut Inner, mqtt_engine::Instant) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.command_locked(lock(&self.shared.inner), f)
    }

    /// [`Client::command`] with the lock already taken.
    fn command_locked<T>(
        &self,
        mut inner: MutexGuard<'_, Inner>,
        f: impl FnOnce(&mut Inner, mqtt_engine::Instant) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = self.shared.clock.now();
        if inner.stopping {
            return Err(Error::ShutDown);
        }
        let result = f(&mut inner, now);
        // The events wait in order for the driver, which the notification wakes: the caller
        // never waits on a channel, and messages are never delivered out of order.
        let _queued = driver::drain(&self.shared, &mut inner);
        drop(inner);
        self.shared.wake_driver.nudge();
        result
    }

    /// Publishes `payload` on `topic`; the token resolves on PUBACK/PUBCOMP (QoS 0: at once).
    ///
    /// Backpressure: while there is no room (the engine's queue is full, every packet
    /// identifier is in use, or more than 1 MiB waits to be written) the future **waits**,
    /// woken by the acknowledgements that make room; the network sets the pace and memory stays
    /// bounded. [`Client::disconnect`] wakes it with [`Error::ShutDown`]. It does not wait when
    /// the client is not running (nothing would make room): then, as [`Client::try_publish`],
    /// it returns the engine's `QueueFull` error at once.
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl IntoPayload,
        qos: QoS,
    ) -> Result<Token<ReasonCode>, Error> {
        self.publish_message(
            Publish::new(TopicName::new(topic)?, payload.into_payload()).with_qos(qos),
        )
        .await
    }

    /// Publishes a fully specified message (retain, MQTT 5 properties…); waits for room as
    /// [`Client::publish`] does.
    pub async fn publish_message(&self, publish: Publish) -> Result<Token<ReasonCode>, Error> {
        let qos = publish.qos;
        // A listener only once there is no room: registering one takes the signal's lock,
        // which the driver takes too (measured: 6 % of the CPU went to that contention).
        let mut listener = None;
        loop {
            {
                let inner = lock(&self.shared.inner);
                if inner.stopping {
                    return Err(Error::ShutDown);
                }
                if let Some(e) = &inner.status.fatal {
                    return Err(e.duplicate());
                }
                let written =
                    inner.outbox.len() <= OUTBOX_LIMIT || inner.status.connected.is_none();
                let room = inner.engine.has_room(qos);
                if (written && room) || !inner.running {
                    return self.publish_locked(inner, publish);
                }
            }
            match listener.take() {
                // Woken by `Shared::room`: an eighth of the queue free again, a written
                // outbox, a connection change, a stop or a fatal error.
                Some(l) => l.await,
                // Listening from now on, then checking again: no wake-up is missed.
                None => listener = Some(self.shared.room.listen()),
            }
        }
    }

    /// Publishes without waiting: when there is no room, the engine's
    /// [`QueueFull`](mqtt_engine::Error::QueueFull) comes back at once (as
    /// [`Error::Engine`]) and nothing is queued.
    pub fn try_publish(
        &self,
        topic: &str,
        payload: impl IntoPayload,
        qos: QoS,
    ) -> Result<Token<ReasonCode>, Error> {
        let publish = Publish::new(TopicName::new(topic)?, payload.into_payload()).with_qos(qos);
        self.publish_locked(lock(&self.shared.inner), publish)
    }

    fn publish_locked(
        &self,
        inner: MutexGuard<'_, Inner>,
        publish: Publish,
    ) -> Result<Token<ReasonCode>, Error> {
        let ticket = self.command_locked(inner, |inner, now| {
            let id = inner.engine.publish(publish, now)?;
            Ok(id.map(|id| inner.status.requests.register(id)))
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
        self.subscribe_many(vec![Subscription::new(TopicFilter::new(filter)?, max_qos)])
    }

    /// Subscribes to several filters in one SUBSCRIBE.
    pub fn subscribe_many(
        &self,
        subscriptions: Vec<Subscription>,
    ) -> Result<Token<Vec<Result<QoS, ReasonCode>>>, Error> {
        let ticket = self.command(|inner, now| {
            let id = inner.engine.subscribe(subscriptions, now)?;
            Ok(Some(inner.status.requests.register(id)))
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
            Ok(Some(inner.status.requests.register(id)))
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

    /// Manual-ack mode ([`Builder::manual_acks`]): acknowledges `message` (PUBACK / PUBREC go
    /// out in arrival order). Does nothing for QoS 0 or outside manual-ack mode.
    pub fn ack(&self, message: &Message) {
        let Some(token) = message.ack_token() else {
            return;
        };
        let _ = self.command(|inner, now| {
            inner.engine.ack(token, now);
            Ok(())
        });
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
        self.shared.wake_driver.nudge();
        self.shared.notify_all();
        // The driver writes the DISCONNECT, closes the stream and returns.
        let _ = self
            .wait_for(timeout, |inner| (!inner.running).then_some(Ok(())))
            .await;
        Ok(())
    }
}

/// Keeps `Bytes` in the public vocabulary.
pub type Payload = Bytes;
