//! The driver: opens connections, reads, feeds the engine, writes what it asks, and routes
//! events. Runs on the thread of `run()` or the background thread. Writing happens on a
//! writer thread per connection, so no lock is ever held during socket I/O and a handler may
//! publish without deadlock.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use mqtt_engine::{Event, Output, State};

use crate::client::{lock, Inner, Shared};
use crate::link::Link;
use transport_core::Error;
use transport_core::Message;

/// Bytes that may wait for the writer before `publish` waits (backpressure).
pub(crate) const OUTBOX_LIMIT: usize = 1 << 20;

/// How many bytes wait for the writer thread, so that `publish` can wait for room *before*
/// taking the engine lock (waiting with the lock held would block every other call).
#[derive(Default)]
pub(crate) struct Backlog {
    bytes: AtomicUsize,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    drained: Condvar,
}

impl Backlog {
    fn add(&self, n: usize) {
        self.bytes.fetch_add(n, Ordering::SeqCst);
    }

    fn written(&self, n: usize) {
        self.bytes.fetch_sub(n, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.drained.notify_all();
        }
    }

    /// Forgets what was queued on a connection that is gone, and wakes the waiters.
    pub(crate) fn reset(&self) {
        self.bytes.store(0, Ordering::SeqCst);
        self.drained.notify_all();
    }

    /// Waits while more than [`OUTBOX_LIMIT`] bytes are queued, checking `go_on` every 100 ms.
    pub(crate) fn wait_for_room(&self, go_on: impl Fn() -> bool) {
        if self.bytes.load(Ordering::SeqCst) <= OUTBOX_LIMIT {
            return;
        }
        let mut guard = lock(&self.lock);
        self.waiters.fetch_add(1, Ordering::SeqCst);
        while self.bytes.load(Ordering::SeqCst) > OUTBOX_LIMIT && go_on() {
            guard = self
                .drained
                .wait_timeout(guard, Duration::from_millis(100))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The current network connection: the link and its writer thread.
pub(crate) struct Connection {
    link: Arc<Link>,
    writer: Option<Sender<Bytes>>,
    writer_thread: Option<JoinHandle<()>>,
}

impl Connection {
    fn new(link: Link, backlog: Arc<Backlog>) -> Result<Self, Error> {
        let link = Arc::new(link);
        let (tx, rx) = mpsc::channel();
        let for_writer = link.clone();
        backlog.reset();
        let writer_thread = std::thread::Builder::new()
            .name("mqtt-writer".into())
            .spawn(move || write_loop(&for_writer, &rx, &backlog))?;
        Ok(Self {
            link,
            writer: Some(tx),
            writer_thread: Some(writer_thread),
        })
    }

    fn send(&self, bytes: Bytes, backlog: &Backlog) {
        backlog.add(bytes.len());
        if let Some(w) = &self.writer {
            // A closed writer means the link failed; the reader notices it too.
            let _ = w.send(bytes);
        }
    }

    /// Lets the writer finish what was queued (e.g. DISCONNECT), then closes the link.
    pub(crate) fn close(mut self) {
        drop(self.writer.take());
        if let Some(t) = self.writer_thread.take() {
            let _ = t.join();
        }
        self.link.shutdown();
    }

    /// Closes at once, dropping what was queued.
    pub(crate) fn abort(mut self) {
        self.link.abort();
        drop(self.writer.take());
        if let Some(t) = self.writer_thread.take() {
            let _ = t.join();
        }
    }
}

fn write_loop(link: &Link, rx: &Receiver<Bytes>, backlog: &Backlog) {
    let mut batch = Vec::new();
    while let Ok(first) = rx.recv() {
        // Coalesce what is already queued into one write.
        let (result, written) = match rx.try_recv() {
            Err(_) => (link.write_all(&first), first.len()),
            Ok(second) => {
                batch.clear();
                batch.extend_from_slice(&first);
                batch.extend_from_slice(&second);
                while batch.len() < 256 * 1024 {
                    match rx.try_recv() {
                        Ok(more) => batch.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                (link.write_all(&batch), batch.len())
            }
        };
        backlog.written(written);
        if result.is_err() {
            link.abort();
            backlog.reset();
            return;
        }
    }
}

/// What the driver does next.
enum Step {
    Stop(Result<(), Error>),
    Connect,
    Wait(std::time::Instant),
    Read(Arc<Link>),
}

/// Events to hand to the application once the lock is released.
pub(crate) struct Dispatch {
    events: Vec<Event>,
    events_tx: Option<SyncSender<Event>>,
}

/// Drains the engine's output: persists the session, queues bytes for the writer, records
/// completions and connection changes. Called with the lock held.
pub(crate) fn drain(shared: &Shared, inner: &mut Inner) -> Dispatch {
    let now = shared.clock.now();
    let mut transmits = Vec::new();
    let mut events = Vec::new();
    while let Some(out) = inner.engine.poll_output(now) {
        match out {
            Output::Transmit(bytes) => transmits.push(bytes),
            Output::Event(e) => events.push(e),
            Output::Timeout(_) => {}
        }
    }
    // A change reaches the disk (fsync) before the packet that depends on it reaches the
    // network; with nothing to send, it still reaches the file before the caller goes on (a
    // returned publish survives the process being killed).
    let store = inner.engine.store_mut();
    let persisted = if transmits.is_empty() {
        store.flush()
    } else {
        store.sync()
    };
    if let Err(e) = persisted {
        inner.status.fatal.get_or_insert(Error::Store(e));
        transmits.clear();
        if let Some(conn) = inner.conn.take() {
            conn.abort();
        }
    }
    if let Some(conn) = &inner.conn {
        for bytes in transmits {
            conn.send(bytes, &shared.backlog);
        }
    }
    let mut changed = false;
    let first_fails = shared.config.first_connection_fails(&inner.status);
    for e in &events {
        changed |= inner.status.record(e, first_fails);
    }
    if changed && inner.waiters > 0 {
        shared.changed.notify_all();
    }
    Dispatch {
        events,
        events_tx: inner.events_tx.clone(),
    }
}

/// Hands events to the handlers and the event channel. Called without the lock.
pub(crate) fn dispatch(shared: &Shared, out: Dispatch) {
    for event in out.events {
        if let Event::Message(delivery) = &event {
            let message = Message::from(delivery.clone());
            let handlers = lock(&shared.router).handlers_for(message.topic());
            for handler in handlers {
                handler(&message);
            }
        }
        if let Some(tx) = &out.events_tx {
            let _ = tx.send(event);
        }
    }
}

fn next_step(shared: &Shared, inner: &mut Inner) -> Step {
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
        State::Connecting { .. } | State::Connected { .. } => {
            if let Some(c) = &inner.conn {
                Step::Read(c.link.clone())
            } else {
                // The link was dropped (write failure): tell the engine.
                inner.engine.connection_lost(shared.clock.now());
                Step::Wait(std::time::Instant::now())
            }
        }
        State::ShutDown => Step::Stop(Ok(())),
    }
}

/// The driver loop.
pub(crate) fn run_loop(shared: &Arc<Shared>) -> Result<(), Error> {
    lock(&shared.inner).driver_thread = Some(std::thread::current().id());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let step = {
            let mut inner = lock(&shared.inner);
            let step = next_step(shared, &mut inner);
            let out = drain(shared, &mut inner);
            drop(inner);
            dispatch(shared, out);
            step
        };
        match step {
            Step::Stop(result) => {
                let mut inner = lock(&shared.inner);
                inner.driver_thread = None;
                let conn = inner.conn.take();
                drop(inner);
                if let Some(conn) = conn {
                    conn.close();
                }
                shared.changed.notify_all();
                return result;
            }
            Step::Connect => connect(shared),
            Step::Wait(until) => {
                let inner = lock(&shared.inner);
                let left = until.saturating_duration_since(std::time::Instant::now());
                let mut inner = if left.is_zero() || inner.stopping {
                    inner
                } else {
                    crate::client::wait_changed(shared, inner, left)
                };
                let now = shared.clock.now();
                inner.engine.handle_timeout(now);
                let out = drain(shared, &mut inner);
                drop(inner);
                dispatch(shared, out);
            }
            Step::Read(link) => read(shared, &link, &mut buf),
        }
    }
}

/// Opens a link to the next address and starts the MQTT connection on it.
fn connect(shared: &Shared) {
    let address = {
        let mut inner = lock(&shared.inner);
        inner.status.next_address(&shared.config.addresses).clone()
    };
    let opened = Link::open(
        &address,
        shared.config.tls.as_ref(),
        shared.config.connect_timeout,
    )
    .and_then(|link| Connection::new(link, shared.backlog.clone()));
    let mut inner = lock(&shared.inner);
    let now = shared.clock.now();
    match opened {
        Ok(conn) if !inner.stopping => {
            inner.conn = Some(conn);
            inner.engine.connect(now);
        }
        Ok(conn) => conn.abort(),
        Err(e) => {
            let first_fails = shared.config.first_connection_fails(&inner.status);
            inner.status.open_failed(&address, e, first_fails);
            inner.engine.connection_lost(now);
        }
    }
    let out = drain(shared, &mut inner);
    drop(inner);
    shared.changed.notify_all();
    dispatch(shared, out);
}

/// One read with the engine's next deadline as timeout, then the engine's reaction.
fn read(shared: &Shared, link: &Arc<Link>, buf: &mut [u8]) {
    let timeout = {
        let inner = lock(&shared.inner);
        inner.engine.poll_timeout().map(|at| {
            shared
                .clock
                .to_std(at)
                .saturating_duration_since(std::time::Instant::now())
        })
    };
    let _ = link.set_read_timeout(
        timeout
            .unwrap_or(Duration::from_secs(1))
            .min(Duration::from_secs(1)),
    );
    let result = link.read(buf);
    let mut inner = lock(&shared.inner);
    let current = inner
        .conn
        .as_ref()
        .is_some_and(|c| Arc::ptr_eq(&c.link, link));
    if !current {
        return;
    }
    let now = shared.clock.now();
    match result {
        Ok(0) => {
            inner.status.last_error = Some("the broker closed the connection".into());
            inner.engine.connection_lost(now);
        }
        Ok(n) => {
            let _ = inner.engine.handle_input(&buf[..n], now);
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Err(e) => {
            inner.status.last_error = Some(e.to_string());
            inner.engine.connection_lost(now);
        }
    }
    inner.engine.handle_timeout(now);
    let out = drain(shared, &mut inner);
    let to_close = if matches!(
        inner.engine.state(),
        State::Connecting { .. } | State::Connected { .. }
    ) {
        None
    } else {
        inner.conn.take()
    };
    drop(inner);
    if let Some(conn) = to_close {
        // After a protocol error the DISCONNECT is written first.
        conn.close();
    }
    dispatch(shared, out);
}
