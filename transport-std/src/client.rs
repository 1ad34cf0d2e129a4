//! The blocking client handle, its builder, and the tokens that wait for acknowledgements.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant as StdInstant};

use mqtt_engine::{Connected, Event, StdClock};
use mqtt_proto::{ByteStr, Publish, QoS, Subscription, TopicFilter, TopicName};

use crate::builder::Builder;
use crate::driver::{self, Connection};
use crate::router::{Handler, Router};
use crate::token::{PublishToken, SubscribeToken, Token, UnsubscribeToken};
use transport_core::{Endpoint, Engine, Error, IntoPayload, Message, Settings, Status};

/// State shared by the handles and the driver thread.
pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    /// Signalled when a request completes or the connection changes.
    pub(crate) changed: Condvar,
    pub(crate) router: Mutex<Router>,
    /// Bytes waiting for the writer thread.
    pub(crate) backlog: Arc<driver::Backlog>,
    pub(crate) clock: StdClock,
    pub(crate) config: Endpoint,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) conn: Option<Connection>,
    /// Requests, the current connection, the last failure, the fatal error.
    pub(crate) status: Status,
    pub(crate) running: bool,
    pub(crate) stopping: bool,
    pub(crate) driver_thread: Option<ThreadId>,
    pub(crate) background: Option<JoinHandle<()>>,
    pub(crate) events_tx: Option<SyncSender<Event>>,
    /// Threads blocked in [`wait_changed`].
    pub(crate) waiters: usize,
    /// The engine's bytes between `poll_transmit` and the outbox (they reach the outbox only
    /// after the session is persisted); kept to be reused.
    pub(crate) wire: Vec<u8>,
}

/// Waits (up to `timeout`) for a change signalled on `shared.changed`, counting the waiter so
/// that signalling costs nothing when nobody waits.
pub(crate) fn wait_changed<'a>(
    shared: &'a Shared,
    mut inner: MutexGuard<'a, Inner>,
    timeout: Duration,
) -> MutexGuard<'a, Inner> {
    inner.waiters += 1;
    let mut inner = shared
        .changed
        .wait_timeout(inner, timeout)
        .unwrap_or_else(PoisonError::into_inner)
        .0;
    inner.waiters -= 1;
    inner
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A blocking MQTT client. Cheap to clone (`Clone + Send + Sync`): every clone drives the same
/// connection, from any thread, including from inside message handlers.
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
        }
    }

    /// Runs the connection on the current thread until [`Client::disconnect`] (from another
    /// thread or a handler) or a fatal error.
    pub fn run(&self) -> Result<(), Error> {
        {
            let mut inner = lock(&self.shared.inner);
            if inner.running {
                return Err(Error::AlreadyRunning);
            }
            inner.running = true;
        }
        let result = driver::run_loop(&self.shared);
        lock(&self.shared.inner).running = false;
        self.shared.changed.notify_all();
        result
    }

    /// Runs the connection on a background thread and returns at once. The thread does not
    /// keep the process alive: when `main` returns, the program exits.
    pub fn start_background(&self) -> Result<(), Error> {
        let mut inner = lock(&self.shared.inner);
        if inner.running {
            return Err(Error::AlreadyRunning);
        }
        inner.running = true;
        let shared = self.shared.clone();
        let handle = std::thread::Builder::new()
            .name("mqtt-driver".into())
            .spawn(move || {
                let result = driver::run_loop(&shared);
                let mut inner = lock(&shared.inner);
                inner.running = false;
                if let Err(e) = result {
                    if inner.status.fatal.is_none() {
                        inner.status.fatal = Some(e);
                    }
                }
                drop(inner);
                shared.changed.notify_all();
            })?;
        inner.background = Some(handle);
        Ok(())
    }

    /// Starts the background thread and waits for the first CONNACK. A refusal comes back as
    /// [`Error::ConnectionRefused`], a TLS failure as [`Error::Tls`].
    pub fn connect(&self) -> Result<Connected, Error> {
        self.start_background()?;
        self.wait_connected(self.shared.config.connect_timeout + Duration::from_secs(1))
    }

    /// Waits until the client is connected.
    pub fn wait_connected(&self, timeout: Duration) -> Result<Connected, Error> {
        let deadline = StdInstant::now() + timeout;
        let mut inner = lock(&self.shared.inner);
        loop {
            if let Some(c) = &inner.status.connected {
                return Ok(c.clone());
            }
            if let Some(e) = &inner.status.fatal {
                return Err(e.duplicate());
            }
            if inner.stopping {
                return Err(Error::ShutDown);
            }
            let left = deadline.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Err(inner.status.connect_timeout());
            }
            inner = crate::client::wait_changed(&self.shared, inner, left);
        }
    }

    /// True while connected.
    pub fn is_connected(&self) -> bool {
        lock(&self.shared.inner).status.connected.is_some()
    }

    /// The client identifier in use (the broker's choice if it assigned one).
    pub fn client_id(&self) -> String {
        lock(&self.shared.inner)
            .engine
            .options()
            .client_id()
            .to_string()
    }

    /// Publishes `payload` on `topic`; the token waits for the broker's acknowledgement (QoS
    /// 1/2). While offline, the message waits in the engine's (bounded) queue.
    ///
    /// Backpressure: when there is no room (the engine's queue is full, every packet
    /// identifier is in use, or more than 1 MiB waits for the socket) the call **blocks** until
    /// there is, woken by the acknowledgements that make room. [`Client::disconnect`] and
    /// [`Client::abort`] wake it with [`Error::ShutDown`]. It does not wait when the client is
    /// not running (nothing would make room) or when called from a message handler (the
    /// handler runs on the thread that makes room): then, as [`Client::try_publish`], it returns
    /// the engine's `QueueFull` error at once.
    pub fn publish(
        &self,
        topic: &str,
        payload: impl IntoPayload,
        qos: QoS,
    ) -> Result<PublishToken, Error> {
        self.publish_message(
            Publish::new(TopicName::new(topic)?, payload.into_payload()).with_qos(qos),
        )
    }

    /// Publishes a retained message.
    pub fn publish_retained(
        &self,
        topic: &str,
        payload: impl IntoPayload,
        qos: QoS,
    ) -> Result<PublishToken, Error> {
        self.publish_message(
            Publish::new(TopicName::new(topic)?, payload.into_payload())
                .with_qos(qos)
                .with_retain(true),
        )
    }

    /// Publishes a fully specified message (MQTT 5 properties, retain…); waits for room as
    /// [`Client::publish`] does.
    pub fn publish_message(&self, publish: Publish) -> Result<PublishToken, Error> {
        // Backpressure: when the network is slower than the application, wait here (without
        // any lock held) instead of queueing without bound.
        self.shared.backlog.wait_for_room(|| {
            let inner = lock(&self.shared.inner);
            inner.status.connected.is_some() && !inner.stopping
        });
        let qos = publish.qos;
        let mut inner = lock(&self.shared.inner);
        let mut waited = false;
        loop {
            if inner.stopping {
                return Err(Error::ShutDown);
            }
            if let Some(e) = &inner.status.fatal {
                return Err(e.duplicate());
            }
            let on_driver = inner.driver_thread == Some(std::thread::current().id());
            let room = if waited {
                inner.engine.has_room_to_resume(qos)
            } else {
                inner.engine.has_room(qos)
            };
            if room || !inner.running || on_driver {
                break;
            }
            waited = true;
            // Woken by the engine's `PublishReady` (acknowledgements made room), a stop, or
            // a fatal error; the timeout only bounds a single wait.
            inner = wait_changed(&self.shared, inner, Duration::from_secs(60));
        }
        self.publish_locked(inner, publish)
    }

    /// Publishes without waiting: when there is no room, the engine's
    /// [`QueueFull`](mqtt_engine::Error::QueueFull) comes back at once (as
    /// [`Error::Engine`]) and nothing is queued.
    pub fn try_publish(
        &self,
        topic: &str,
        payload: impl IntoPayload,
        qos: QoS,
    ) -> Result<PublishToken, Error> {
        let publish = Publish::new(TopicName::new(topic)?, payload.into_payload()).with_qos(qos);
        self.publish_locked(lock(&self.shared.inner), publish)
    }

    fn publish_locked(
        &self,
        inner: MutexGuard<'_, Inner>,
        publish: Publish,
    ) -> Result<PublishToken, Error> {
        let (id, ticket) = self.command_locked(inner, |inner, now| {
            let id = inner.engine.publish(publish, now)?;
            Ok((id, id.map(|id| inner.status.requests.register(id))))
        })?;
        Ok(PublishToken {
            token: Token {
                shared: self.shared.clone(),
                ticket,
            },
            packet_id: id,
        })
    }

    /// Subscribes to `filter` with `max_qos`, routing matching messages to `handler`. May be
    /// called before connecting: the subscription is sent right after CONNACK, so no message
    /// stored for a persistent session is lost.
    pub fn subscribe(
        &self,
        filter: &str,
        max_qos: QoS,
        handler: impl Fn(&Message) + Send + Sync + 'static,
    ) -> Result<SubscribeToken, Error> {
        let subscription = Subscription::new(TopicFilter::new(filter)?, max_qos);
        lock(&self.shared.router).add(filter, Arc::new(handler) as Handler);
        let result = self.subscribe_many(vec![subscription]);
        if result.is_err() {
            lock(&self.shared.router).remove(filter);
        }
        result
    }

    /// Subscribes without a handler of its own (messages go to matching handlers or the
    /// default handler, and to [`Client::events`]).
    pub fn subscribe_many(
        &self,
        subscriptions: Vec<Subscription>,
    ) -> Result<SubscribeToken, Error> {
        let ticket = self.command(|inner, now| {
            let id = inner.engine.subscribe(subscriptions, now)?;
            Ok(inner.status.requests.register(id))
        })?;
        Ok(SubscribeToken {
            token: Token {
                shared: self.shared.clone(),
                ticket: Some(ticket),
            },
        })
    }

    /// Unsubscribes from `filter` and removes its handler.
    pub fn unsubscribe(&self, filter: &str) -> Result<UnsubscribeToken, Error> {
        lock(&self.shared.router).remove(filter);
        let ticket = self.command(|inner, now| {
            let id = inner.engine.unsubscribe(vec![ByteStr::from(filter)], now)?;
            Ok(inner.status.requests.register(id))
        })?;
        Ok(UnsubscribeToken {
            token: Token {
                shared: self.shared.clone(),
                ticket: Some(ticket),
            },
        })
    }

    /// Handler for messages that match no subscription's handler.
    pub fn on_message(&self, handler: impl Fn(&Message) + Send + Sync + 'static) {
        lock(&self.shared.router).set_default(Arc::new(handler));
    }

    /// Every engine event (connection changes, acknowledgements, messages…), for the full
    /// client. The channel holds `capacity` events; when it is full the driver waits for the
    /// reader (backpressure rather than loss). A second call replaces the first receiver.
    pub fn events(&self, capacity: usize) -> Receiver<Event> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        lock(&self.shared.inner).events_tx = Some(tx);
        rx
    }

    /// Manual-ack mode: acknowledges `message` (PUBACK / PUBREC go out in arrival order).
    pub fn ack(&self, message: &Message) {
        let Some(token) = message.ack_token() else {
            return;
        };
        let _ = self.command(|inner, now| {
            inner.engine.ack(token, now);
            Ok(())
        });
    }

    /// Runs one engine command under the lock, hands the resulting bytes to the writer, then
    /// (without the lock) the resulting events to the handlers.
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
        let out = driver::drain(&self.shared, &mut inner);
        drop(inner);
        driver::dispatch(&self.shared, out);
        result
    }

    /// Disconnects gracefully: waits up to `timeout` for queued and in-flight messages to be
    /// acknowledged, sends DISCONNECT (the broker then discards the will) and stops the driver.
    pub fn disconnect(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = StdInstant::now() + timeout;
        let mut inner = lock(&self.shared.inner);
        while !inner.engine.is_idle() && inner.running && !inner.stopping {
            let left = deadline.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                break;
            }
            inner = crate::client::wait_changed(&self.shared, inner, left);
        }
        let now = self.shared.clock.now();
        inner.engine.disconnect(now);
        let out = driver::drain(&self.shared, &mut inner);
        inner.stopping = true;
        let conn = inner.conn.take();
        let background = inner.background.take();
        let on_driver = inner.driver_thread == Some(std::thread::current().id());
        drop(inner);
        self.shared.changed.notify_all();
        if let Some(conn) = conn {
            conn.close();
        }
        driver::dispatch(&self.shared, out);
        if let (Some(handle), false) = (background, on_driver) {
            let _ = handle.join();
        }
        Ok(())
    }

    /// Closes the network connection abruptly, without DISCONNECT, as a crash would: the broker
    /// publishes the last will. The client stops.
    pub fn abort(&self) {
        let mut inner = lock(&self.shared.inner);
        inner.stopping = true;
        let conn = inner.conn.take();
        drop(inner);
        self.shared.changed.notify_all();
        self.shared.backlog.reset();
        if let Some(conn) = conn {
            conn.abort();
        }
    }
}
