//! The async driver: opens streams, reads, feeds the engine, writes, routes messages. One task;
//! the engine lock is never held across an `.await`.

use std::cell::Cell;
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use mqtt_engine::{Event, Output, State};
use smol::io::{AsyncRead, AsyncWriteExt};
use transport_core::{BrokerAddress, Error, Message, Requests};

use crate::client::{lock, BoxStream, Inner, Shared};

/// Returned by [`drain`]: its events wait in `Inner::unrouted`, to be delivered by [`route`].
pub(crate) struct Routed;

/// Drains the engine: bytes to the outbox (after persisting the session), completions and
/// connection changes recorded. Called with the lock held.
pub(crate) fn drain(shared: &Shared, inner: &mut Inner) -> Routed {
    let now = shared.clock.now();
    let mut events = Vec::new();
    let mut wrote = inner.engine.poll_transmit(&mut inner.outbox) > 0;
    while let Some(out) = inner.engine.poll_output(now) {
        match out {
            Output::Transmit(b) => {
                inner.outbox.extend_from_slice(&b);
                wrote = true;
            }
            Output::Event(e) => events.push(e),
            Output::Timeout(_) => {}
        }
    }
    // A change reaches the disk (fsync) before the packet that depends on it reaches the
    // network; with nothing to send, it still reaches the file before the caller goes on (a
    // returned publish survives the process being killed).
    let store = inner.engine.store_mut();
    let persisted = if wrote { store.sync() } else { store.flush() };
    if let Err(e) = persisted {
        inner.status.fatal.get_or_insert(Error::Store(e));
        inner.outbox.clear();
    }
    let first_fails = shared.config.first_connection_fails(&inner.status);
    // Every completion wakes the tasks waiting for requests or for the session to drain (each
    // re-checks its own condition); publishers waiting for room wake by the blocking client's
    // rule (`wakes_waiters`) or when the connection or the client's state changed.
    let mut state_changed = false;
    let mut completed = false;
    for e in &events {
        let ends = Requests::ends_a_request(e);
        let woke = inner.status.record(e, first_fails);
        completed |= ends;
        state_changed |= woke && !ends;
    }
    if state_changed || completed {
        shared.changed.notify(usize::MAX);
    }
    if state_changed || (!events.is_empty() && transport_core::wakes_waiters(&inner.engine)) {
        shared.room.notify(usize::MAX);
    }
    // One queue, appended under the lock, delivered only by the driver task: messages reach
    // the application in the order they arrived, whoever drained the engine (the driver or a
    // command such as `publish` on another task).
    inner.unrouted.extend(events);
    Routed
}

/// Delivers the queued events to channels in order, waiting when a channel is full
/// (backpressure, no loss).
async fn route(shared: &Shared, _drained: Routed) {
    loop {
        let events = std::mem::take(&mut lock(&shared.inner).unrouted);
        if events.is_empty() {
            return;
        }
        route_events(shared, events).await;
    }
}

async fn route_events(shared: &Shared, events: Vec<Event>) {
    for event in events {
        let (targets, events_tx) = {
            let inner = lock(&shared.inner);
            let targets: Vec<async_channel::Sender<Message>> = match &event {
                Event::Message(d) => {
                    let matched: Vec<_> = inner
                        .routes
                        .iter()
                        .filter(|(f, _)| mqtt_proto::topic::matches(f, d.topic()))
                        .map(|(_, tx)| tx.clone())
                        .collect();
                    if matched.is_empty() {
                        inner.messages_tx.iter().cloned().collect()
                    } else {
                        matched
                    }
                }
                _ => Vec::new(),
            };
            (targets, inner.events_tx.clone())
        };
        if let Event::Message(d) = &event {
            for tx in targets {
                let _ = tx.send(Message::from(d.clone())).await;
            }
        }
        if let Some(tx) = events_tx {
            let _ = tx.send(event).await;
        }
    }
}

enum Step {
    Stop(Result<(), Error>),
    Connect,
    Wait(std::time::Instant),
    Session,
}

fn next_step(shared: &Shared, inner: &Inner) -> Step {
    if inner.stopping {
        return Step::Stop(Ok(()));
    }
    if let Some(e) = &inner.status.fatal {
        return Step::Stop(Err(e.duplicate()));
    }
    match inner.engine.state() {
        State::Idle if inner.status.attempts == 0 => Step::Connect,
        State::Idle => Step::Stop(Err(inner.status.lost())),
        State::ReconnectDue => Step::Connect,
        State::WaitingReconnect { at } => Step::Wait(shared.clock.to_std(at)),
        State::Connecting { .. } | State::Connected { .. } => Step::Session,
        State::ShutDown => Step::Stop(Ok(())),
    }
}

/// The session's deadline timer, kept from one step to the next. Registering a timer makes
/// async-io wake its reactor (an eventfd write, then a wasted turn of the reactor: four more
/// system calls), and a step per message made that a cost per message. The timer is re-armed
/// only when the deadline comes earlier than the armed one, or once that one has passed: a
/// later deadline (keep-alive moving on as packets go out) lets the armed timer fire early,
/// once, and the step after it arms the new one.
struct Alarm {
    timer: smol::Timer,
    at: Option<std::time::Instant>,
}

impl Alarm {
    fn new() -> Self {
        Self {
            timer: smol::Timer::never(),
            at: None,
        }
    }

    /// Makes the timer fire at `until` or before it.
    fn arm(&mut self, until: std::time::Instant) {
        let keep = self
            .at
            .is_some_and(|at| at <= until && at > std::time::Instant::now());
        if !keep {
            self.timer.set_at(until);
            self.at = Some(until);
        }
    }
}

pub(crate) async fn run(shared: &Arc<Shared>) -> Result<(), Error> {
    let mut stream: Option<BoxStream> = None;
    let mut alarm = Alarm::new();
    let mut writing = Vec::new();
    let mut last_write = None;
    loop {
        let step = next_step(shared, &lock(&shared.inner));
        match step {
            Step::Stop(result) => {
                if let Some(mut s) = stream.take() {
                    let pending = std::mem::take(&mut lock(&shared.inner).outbox);
                    let _ = s.write_all(&pending).await;
                    let _ = s.flush().await;
                    let _ = s.close().await;
                }
                shared.notify_all();
                return result;
            }
            Step::Connect => {
                stream = connect(shared).await;
                last_write = None;
            }
            Step::Wait(until) => {
                if !lock(&shared.inner).stopping {
                    smol::future::or(shared.wake_driver.wait(), async {
                        smol::Timer::at(until).await;
                    })
                    .await;
                }
                let routed = {
                    let mut inner = lock(&shared.inner);
                    inner.engine.handle_timeout(shared.clock.now());
                    drain(shared, &mut inner)
                };
                route(shared, routed).await;
            }
            Step::Session => {
                let result = match stream.as_mut() {
                    Some(s) => {
                        session_step(shared, s, &mut alarm, &mut writing, &mut last_write).await
                    }
                    None => Err(io::Error::new(ErrorKind::NotConnected, "no stream")),
                };
                if let Err(e) = result {
                    lock(&shared.inner).status.last_error = Some(e.to_string());
                    stream = None;
                    let routed = {
                        let mut inner = lock(&shared.inner);
                        inner.engine.connection_lost(shared.clock.now());
                        drain(shared, &mut inner)
                    };
                    route(shared, routed).await;
                }
            }
        }
        // The engine left the connection (protocol error, server DISCONNECT): write what it
        // queued (e.g. our DISCONNECT) and close.
        let closing = !matches!(
            lock(&shared.inner).engine.state(),
            State::Connecting { .. } | State::Connected { .. }
        );
        if closing {
            if let Some(mut s) = stream.take() {
                let pending = std::mem::take(&mut lock(&shared.inner).outbox);
                let _ = s.write_all(&pending).await;
                let _ = s.close().await;
            }
        }
    }
}

/// What ended the wait of a session step.
enum Woke {
    Input(usize),
    Command,
    Timer,
}

/// The default of how long after its last write the driver counts the connection as busy and
/// leaves new bytes in the outbox (`Builder::write_gathering`): under load, acknowledgements
/// and publishes gather and leave in one write about this long after the one before. Measured
/// on the end-to-end benchmark (QoS 1, 64 B, 50,000 messages, `e2e --child ours-async`): CPU
/// 0.66–0.92 s writing at once, 0.47–0.50 s with 50 µs, 0.37–0.40 s with 75 µs at a 1.7×
/// higher rate than rumqttc's; 150 µs and more slowed the rate (MQTT 3.1.1 windows are 20
/// messages). Longer than the blocking client's window: a timer of the async runtime wakes
/// later than a `poll` timeout, and a wake-up costs the reactor more system calls.
const GATHER: Duration = Duration::from_micros(75);

/// Writes the outbox — unless the connection is busy (see [`GATHER`]) — then waits for
/// input, a command, the engine's deadline or the end of the gathering window.
async fn session_step(
    shared: &Arc<Shared>,
    stream: &mut BoxStream,
    alarm: &mut Alarm,
    writing: &mut Vec<u8>,
    last_write: &mut Option<std::time::Instant>,
) -> io::Result<()> {
    // The outbox is swapped with the driver's own buffer: one write of everything queued,
    // and neither buffer is allocated again while the connection is busy.
    let gather = shared.config.write_gathering.unwrap_or(GATHER);
    let now = std::time::Instant::now();
    let busy = last_write.is_some_and(|t| now.duration_since(t) < gather);
    let (deadline, over_limit, deferred) = {
        let mut inner = lock(&shared.inner);
        let over_limit = inner.outbox.len() > crate::client::OUTBOX_LIMIT;
        let deferred = busy && !over_limit && !inner.outbox.is_empty();
        if !deferred {
            std::mem::swap(&mut inner.outbox, writing);
        }
        (inner.engine.poll_timeout(), over_limit, deferred)
    };
    if !writing.is_empty() {
        *last_write = Some(now);
        let result = stream.write_all(writing).await;
        transport_core::outbox::recycle(writing);
        result?;
        stream.flush().await?;
        if over_limit {
            // Publishers waiting for the outbox may go on (those waiting for the engine's
            // queue wake by `drain`'s rule).
            shared.room.notify(usize::MAX);
        }
    }
    let mut until = deadline.map_or_else(
        || std::time::Instant::now() + Duration::from_secs(3600),
        |d| shared.clock.to_std(d),
    );
    if deferred {
        if let Some(t) = *last_write {
            until = until.min(t + gather);
        }
    }
    alarm.arm(until);
    let woke = smol::future::or(
        async {
            match read_into_engine(shared, stream).await {
                Ok(n) => Ok(Woke::Input(n)),
                Err(e) => Err(e),
            }
        },
        smol::future::or(
            async {
                shared.wake_driver.wait().await;
                Ok(Woke::Command)
            },
            async {
                (&mut alarm.timer).await;
                Ok(Woke::Timer)
            },
        ),
    )
    .await?;
    let now = shared.clock.now();
    let routed = {
        let mut inner = lock(&shared.inner);
        match woke {
            Woke::Input(0) => {
                drop(inner);
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the broker closed the connection",
                ));
            }
            // The bytes already went to the engine in `read_into_engine`.
            Woke::Input(_) | Woke::Command | Woke::Timer => {}
        }
        inner.engine.handle_timeout(now);
        drain(shared, &mut inner)
    };
    route(shared, routed).await;
    Ok(())
}

/// Size of the read buffer shared by the connections of one thread.
const READ_BUFFER: usize = 64 * 1024;

thread_local! {
    /// The read buffer of every connection driven on this thread: it is used only inside one
    /// `poll_read`, never across an `.await`, so an idle connection holds no read buffer of
    /// its own (thousands of idle connections cost little memory) while a busy one still
    /// reads in large chunks.
    static READ_BUF: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Waits for bytes from `stream` and feeds them to the engine; returns how many (0: the stream
/// ended).
async fn read_into_engine(shared: &Shared, stream: &mut BoxStream) -> io::Result<usize> {
    std::future::poll_fn(|cx| {
        // Taken, not borrowed: a stream that re-enters (another client inside a custom stream)
        // finds an empty buffer and allocates its own instead of panicking.
        let mut buf = READ_BUF.take();
        if buf.len() < READ_BUFFER {
            buf.resize(READ_BUFFER, 0);
        }
        let result = match Pin::new(&mut *stream).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(n)) if n > 0 => {
                let now = shared.clock.now();
                let _ = lock(&shared.inner).engine.handle_input(&buf[..n], now);
                Poll::Ready(Ok(n))
            }
            other => other,
        };
        READ_BUF.set(buf);
        result
    })
    .await
}

/// Opens a stream to the next address and sends CONNECT.
async fn connect(shared: &Arc<Shared>) -> Option<BoxStream> {
    let address = {
        let mut inner = lock(&shared.inner);
        inner.status.next_address(&shared.config.addresses).clone()
    };
    let timeout = shared.config.connect_timeout;
    let opened = smol::future::or(open(shared, address.clone()), async {
        smol::Timer::after(timeout).await;
        Err(Error::ConnectTimeout(format!(
            "no connection opened within {timeout:?}"
        )))
    })
    .await;
    let routed = {
        let mut inner = lock(&shared.inner);
        let now = shared.clock.now();
        match &opened {
            Ok(_) => {
                // Bytes queued for the previous connection died with it (the engine resends
                // what matters): CONNECT must be the first packet [MQTT-3.1.0-1].
                inner.outbox.clear();
                inner.engine.connect(now);
            }
            Err(e) => {
                let first_fails = shared.config.first_connection_fails(&inner.status);
                inner
                    .status
                    .open_failed(&address, e.duplicate(), first_fails);
                inner.engine.connection_lost(now);
            }
        }
        drain(shared, &mut inner)
    };
    shared.notify_all();
    route(shared, routed).await;
    opened.ok()
}

async fn open(shared: &Shared, address: BrokerAddress) -> Result<BoxStream, Error> {
    let stream = open_raw(shared, &address).await?;
    if address.websocket.is_none() {
        return Ok(stream);
    }
    crate::ws::upgrade(stream, &address, &shared.config.ws_headers).await
}

/// The byte stream under MQTT (or under its WebSocket): TCP, TLS, or the application's own.
async fn open_raw(shared: &Shared, address: &BrokerAddress) -> Result<BoxStream, Error> {
    if let Some(connector) = &shared.connector {
        return Ok(connector(address.clone()).await?);
    }
    let tcp = smol::net::TcpStream::connect((address.host.as_str(), address.port)).await?;
    transport_core::refuse_self_connection(tcp.local_addr(), tcp.peer_addr())?;
    tcp.set_nodelay(true)?;
    let tcp = crate::tcp::TcpLink::new(tcp);
    let Some(config) = &shared.config.tls else {
        return Ok(Box::new(tcp));
    };
    let name = rustls_pki_types::ServerName::try_from(address.host.clone())
        .map_err(|_| Error::Certificate(format!("invalid TLS server name {:?}", address.host)))?;
    let connector = futures_rustls::TlsConnector::from(config.clone());
    match connector.connect(name, tcp).await {
        Ok(tls) => Ok(Box::new(tls)),
        Err(e) => Err(
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(tls) => Error::Tls(tls.clone()),
                None => Error::Io(e),
            },
        ),
    }
}
