//! The driver: opens connections, reads, feeds the engine, queues what it asks to write, and
//! routes events. Runs on the thread of `run()` or the background thread. No lock is held
//! during socket I/O, and the driver thread never blocks in a write (see [`crate::connection`]).

use std::io::ErrorKind;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use mqtt_engine::{Event, Output, State};

use crate::client::{lock, Inner, Shared};
use crate::connection::Outbox;
pub(crate) use crate::connection::{Backlog, Connection};
use crate::link::Link;
use transport_core::Error;
use transport_core::Message;

/// What the driver does next.
enum Step {
    Stop(Result<(), Error>),
    Connect,
    Wait(std::time::Instant),
    Read(Arc<Link>),
}

/// Bytes to write and events to hand to the application once the lock is released.
pub(crate) struct Dispatch {
    events: Vec<Event>,
    events_tx: Option<SyncSender<Event>>,
    /// The outbox that received bytes, and whether the driver thread drained them.
    written: Option<(Arc<Outbox>, bool)>,
}

/// Drains the engine's output: persists the session, queues bytes for the writer, records
/// completions and connection changes. Called with the lock held.
pub(crate) fn drain(shared: &Shared, inner: &mut Inner) -> Dispatch {
    let now = shared.clock.now();
    // `wire` is empty here: every call ends by recycling it.
    inner.engine.poll_transmit(&mut inner.wire);
    let mut events = Vec::new();
    while let Some(out) = inner.engine.poll_output(now) {
        match out {
            Output::Transmit(bytes) => inner.wire.extend_from_slice(&bytes),
            Output::Event(e) => events.push(e),
            Output::Timeout(_) => {}
        }
    }
    // A change reaches the disk (fsync) before the packet that depends on it reaches the
    // network; with nothing to send, it still reaches the file before the caller goes on (a
    // returned publish survives the process being killed).
    let store = inner.engine.store_mut();
    let persisted = if inner.wire.is_empty() {
        store.flush()
    } else {
        store.sync()
    };
    if let Err(e) = persisted {
        inner.status.fatal.get_or_insert(Error::Store(e));
        inner.wire.clear();
        if let Some(conn) = inner.conn.take() {
            conn.abort();
        }
    }
    let mut written = None;
    if let Some(conn) = &inner.conn {
        let on_driver = inner.driver_thread == Some(std::thread::current().id());
        if !inner.wire.is_empty() {
            written = Some((conn.outbox.clone(), on_driver));
            conn.send(&inner.wire);
        } else if on_driver && conn.outbox.deferred_for().is_some() {
            // What an earlier round left for after this read.
            written = Some((conn.outbox.clone(), true));
        }
    }
    transport_core::outbox::recycle(&mut inner.wire);
    let first_fails = shared.config.first_connection_fails(&inner.status);
    let mut changed = !events.is_empty() && transport_core::wakes_waiters(&inner.engine);
    for e in &events {
        changed |= inner.status.record(e, first_fails);
    }
    if changed && inner.waiters > 0 {
        shared.changed.notify_all();
    }
    Dispatch {
        events,
        events_tx: inner.events_tx.clone(),
        written,
    }
}

/// Writes what `drain` queued (or has the writer thread write it) and hands events to the
/// handlers and the event channel. Called without the lock.
pub(crate) fn dispatch(shared: &Shared, out: Dispatch) {
    let write_after = match out.written {
        Some((outbox, true)) => outbox.hand_off_unless_idle().then_some(outbox),
        Some((outbox, false)) => {
            outbox.write_pending();
            None
        }
        None => None,
    };
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
    // The driver's own write comes after the handlers: a message reaches its handler first
    // (writing its acknowledgement before added ~10 µs to the delivery latency at 2,000
    // messages a second, `mqtt bench both --rate 2000`).
    if let Some(outbox) = write_after {
        outbox.write_without_blocking();
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
        &shared.config.ws_headers,
    )
    .and_then(|link| {
        let gather = shared
            .config
            .write_gathering
            .unwrap_or(crate::connection::GATHER);
        Connection::new(link, shared.backlog.clone(), gather)
    });
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
    let (timeout, deferred) = {
        let inner = lock(&shared.inner);
        let timeout = inner.engine.poll_timeout().map(|at| {
            shared
                .clock
                .to_std(at)
                .saturating_duration_since(std::time::Instant::now())
        });
        let deferred = inner.conn.as_ref().and_then(|c| c.outbox.deferred_for());
        (timeout, deferred)
    };
    let timeout = timeout
        .unwrap_or(Duration::from_secs(1))
        .min(Duration::from_secs(1));
    let result = if deferred.is_some_and(|most| !link.wait_readable(timeout.min(most))) {
        // Bytes wait for the busy window to pass (see `Outbox::hand_off_unless_idle`).
        Err(ErrorKind::TimedOut.into())
    } else {
        let _ = link.set_read_timeout(timeout);
        link.read(buf)
    };
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
