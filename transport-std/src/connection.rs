//! The current network connection and how its bytes reach the socket.
//!
//! Bytes the engine produces go into an ordered outbox (under the engine lock, so the wire
//! order is the engine's order). Whoever produced them then writes the outbox *after*
//! releasing the engine lock; only one thread writes at a time and it takes everything
//! queued in one write. The driver thread never blocks in a write — a reader blocked in a
//! write while the broker is blocked writing to us would deadlock — so it writes only what the
//! socket takes at once (plain TCP on Linux) and leaves the rest to the connection's writer
//! thread, which also finishes the outbox on close and writes for the links that cannot write
//! without blocking (TLS, WebSocket).
//!
//! Under load, writes gather: within the gathering window after a write ([`GATHER`] by
//! default), the driver thread leaves its bytes queued and writes them when the window has
//! passed (waiting for input meanwhile), and an application thread leaves its publishes to
//! the writer thread, woken once a batch. At a lower rate each is written at once by the
//! thread that produced it, with no hand-off and no wake-up.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::client::lock;
use crate::link::Link;
use transport_core::Error;

use transport_core::outbox::recycle;
pub(crate) use transport_core::outbox::OUTBOX_LIMIT;

/// The default of how long after its last own write the driver thread counts its connection
/// as busy and leaves new bytes queued (`Builder::write_gathering`,
/// [`Outbox::hand_off_unless_idle`]): under load, acknowledgements gather and leave in one
/// write about this long after the one before, without a thread wake-up; at a lower rate each
/// is written at once. Measured on the end-to-end benchmark (QoS 1, 64 B, 50,000 messages,
/// `e2e --child ours`): handing busy bytes to the writer thread, as before, cost a wake-up and
/// two context switches a batch (0.7 s CPU); writing each at once ~1.5× that (on loopback a
/// send also pays for the receiver's side); this window 0.27–0.30 s at a higher rate. 100 µs
/// gathered more but halved the rate (acknowledgements, and the publishes they release, wait,
/// and MQTT 3.1.1 windows are 20 messages); 10 µs ran unevenly.
pub(crate) const GATHER: Duration = Duration::from_micros(25);

/// The most the driver thread leaves queued while the message handlers run (see
/// [`Outbox::hand_off_unless_idle`]): far below [`OUTBOX_LIMIT`], so a handler's `publish`
/// never waits for room that only the driver thread's own write would make.
const DEFER_LIMIT: usize = transport_core::outbox::KEPT_BUFFER;
const _: () = assert!(DEFER_LIMIT < OUTBOX_LIMIT);

/// How many bytes wait for the socket, so that `publish` can wait for room *before* taking
/// the engine lock (waiting with the lock held would block every other call).
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

/// Where a connection's outbox stands.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    #[default]
    Open,
    /// The writer thread should finish the queue and exit.
    Closing,
    /// A write failed: the link is aborted and nothing more is queued.
    Failed,
}

#[derive(Default)]
struct OutboxState {
    /// The bytes queued, in the engine's order: one write takes them all.
    queue: Vec<u8>,
    /// The writing thread's buffer, swapped with `queue` (neither is allocated again while
    /// the connection is busy).
    spare: Vec<u8>,
    /// A thread is writing (it takes whatever is queued before it stops).
    writing: bool,
    phase: Phase,
    /// The writer thread sleeps on `wake` (a notification costs a system call: only then).
    writer_asleep: bool,
}

/// The bytes of one connection on their way to the socket.
pub(crate) struct Outbox {
    state: Mutex<OutboxState>,
    /// Wakes the writer thread (work queued by the driver, or closing) and whoever waits for
    /// the active writer to finish.
    wake: Condvar,
    link: Arc<Link>,
    backlog: Arc<Backlog>,
    /// The driver thread left its bytes queued for after its next read.
    deferred: AtomicBool,
    /// How long the driver thread gathers its bytes on a busy connection (zero: never).
    gather: Duration,
    /// When a write last began (any thread's), in nanoseconds since `epoch`; 0: never.
    last_write: AtomicU64,
    epoch: std::time::Instant,
    /// An application thread asked the writer thread to write (see [`Self::write_pending`]).
    writer_called: AtomicBool,
}

impl Outbox {
    /// Queues `bytes` (called with the engine lock held, in the engine's order).
    fn push(&self, bytes: &[u8]) {
        let mut st = lock(&self.state);
        if st.phase != Phase::Open {
            return;
        }
        self.backlog.add(bytes.len());
        st.queue.extend_from_slice(bytes);
    }

    /// For bytes an application thread queued (its publishes): writes what is queued unless
    /// another thread is already writing (it takes ours too), blocking while the socket does
    /// (the backpressure of a blocking client). On a busy connection — a write began less
    /// than the gathering window ago — the writer thread is woken instead, once for a batch:
    /// publishes made meanwhile join the queue without a system call, and leave in its one
    /// write.
    pub(crate) fn write_pending(&self) {
        if self.busy() {
            // One wake-up a batch: the writer thread clears the flag before it takes the
            // queue and before it sleeps, so bytes queued after either are seen.
            if !self.writer_called.swap(true, Ordering::AcqRel) {
                let asleep = lock(&self.state).writer_asleep;
                if asleep {
                    self.wake.notify_all();
                }
            }
            return;
        }
        self.write_queued(true);
    }

    /// True when a write began less than the gathering window ago.
    fn busy(&self) -> bool {
        let last = self.last_write.load(Ordering::Relaxed);
        last != 0 && self.epoch.elapsed().as_nanos() < u128::from(last) + self.gather.as_nanos()
    }

    /// For bytes the driver thread queued, which it must not block writing (a reader blocked
    /// in a write while the broker is blocked writing to us would deadlock): true when the
    /// driver should write them itself with [`Self::write_without_blocking`] after the message
    /// handlers — on a link that can, when it last wrote at least `gather` ago, with at most
    /// [`DEFER_LIMIT`] bytes queued (more are written at once). A busy connection leaves them
    /// queued ([`Self::deferred_for`]): the driver reads with a timeout of at most `gather`
    /// meanwhile and calls this again after the read, when the bytes leave in one write with
    /// those queued since. Links that cannot write without blocking (TLS, WebSocket) wake the
    /// writer thread and return false.
    pub(crate) fn hand_off_unless_idle(&self) -> bool {
        if !self.link.writes_without_blocking() {
            self.wake_writer();
            return false;
        }
        let st = lock(&self.state);
        if st.queue.len() > DEFER_LIMIT {
            // Queued publishes that acknowledgements released can be large: written now,
            // so that a handler's publish never waits for room behind bytes that only this
            // thread, busy in the handler, would write.
            drop(st);
            self.deferred.store(false, Ordering::Relaxed);
            self.write_queued(false);
            return false;
        }
        if st.queue.is_empty() {
            // Another thread wrote them meanwhile.
            self.deferred.store(false, Ordering::Relaxed);
            return false;
        }
        let busy = self.busy();
        self.deferred.store(busy, Ordering::Relaxed);
        !busy
    }

    /// While bytes the driver thread queued wait for its next read (see
    /// [`Self::hand_off_unless_idle`]): the most they wait.
    pub(crate) fn deferred_for(&self) -> Option<Duration> {
        self.deferred.load(Ordering::Relaxed).then_some(self.gather)
    }

    /// Writes what the socket takes at once of what is queued, and leaves the rest to the
    /// writer thread (for the driver thread: see [`Self::hand_off_unless_idle`]).
    pub(crate) fn write_without_blocking(&self) {
        self.write_queued(false);
    }

    /// The active writer's loop: everything queued, in one write each time, until the queue
    /// is empty; a non-`blocking` writer leaves what the socket would not take at once to the
    /// writer thread.
    fn write_queued(&self, blocking: bool) {
        let mut st = lock(&self.state);
        if st.writing || st.queue.is_empty() {
            return;
        }
        st.writing = true;
        // Nanoseconds since `epoch`, at least 1 (0: never).
        let began = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_write.store(began.max(1), Ordering::Relaxed);
        let mut data = std::mem::take(&mut st.spare);
        loop {
            // Everything queued, in one write.
            std::mem::swap(&mut data, &mut st.queue);
            if data.is_empty() {
                st.writing = false;
                // Both buffers are empty here (`queue` is the one just written): each is
                // kept for the next burst, or freed if this one left it large.
                recycle(&mut st.queue);
                recycle(&mut data);
                st.spare = data;
                // Only a closing writer thread waits for the active writer to finish.
                let closing = st.phase == Phase::Closing && st.writer_asleep;
                drop(st);
                if closing {
                    self.wake.notify_all();
                }
                return;
            }
            drop(st);
            let result = if blocking {
                self.link.write_all(&data).map(|()| data.len())
            } else {
                self.link.try_write(&data)
            };
            self.backlog.written(*result.as_ref().unwrap_or(&0));
            st = lock(&self.state);
            match result {
                Ok(n) if n == data.len() => data.clear(),
                Ok(n) => {
                    // The rest goes first, ahead of what was queued meanwhile.
                    data.drain(..n);
                    data.extend_from_slice(&st.queue);
                    st.queue.clear();
                    std::mem::swap(&mut data, &mut st.queue);
                    st.spare = data;
                    st.writing = false;
                    let asleep = st.writer_asleep;
                    drop(st);
                    if asleep {
                        self.wake.notify_all();
                    }
                    return;
                }
                Err(_) => {
                    // The reader sees the link fail and reports the loss.
                    self.link.abort();
                    st.phase = Phase::Failed;
                    st.queue.clear();
                    st.writing = false;
                    drop(st);
                    self.backlog.reset();
                    self.wake.notify_all();
                    return;
                }
            }
        }
    }

    /// Asks the writer thread to write what is queued.
    fn wake_writer(&self) {
        let st = lock(&self.state);
        if st.writer_asleep && !st.writing && !st.queue.is_empty() {
            drop(st);
            self.wake.notify_all();
        }
    }

    fn writer_loop(&self) {
        let mut st = lock(&self.state);
        loop {
            self.writer_called.store(false, Ordering::Release);
            if !st.writing && !st.queue.is_empty() {
                drop(st);
                self.write_queued(true);
                st = lock(&self.state);
                continue;
            }
            if st.phase != Phase::Open && !st.writing && st.queue.is_empty() {
                return;
            }
            st.writer_asleep = true;
            st = self
                .wake
                .wait(st)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            st.writer_asleep = false;
        }
    }

    fn stop(&self, drop_queued: bool) {
        let mut st = lock(&self.state);
        if st.phase == Phase::Open {
            st.phase = Phase::Closing;
        }
        if drop_queued {
            st.queue.clear();
        }
        drop(st);
        self.wake.notify_all();
    }
}

/// The current network connection: the link, its outbox and its writer thread.
pub(crate) struct Connection {
    pub(crate) link: Arc<Link>,
    pub(crate) outbox: Arc<Outbox>,
    writer_thread: Option<JoinHandle<()>>,
}

impl Connection {
    pub(crate) fn new(link: Link, backlog: Arc<Backlog>, gather: Duration) -> Result<Self, Error> {
        let link = Arc::new(link);
        backlog.reset();
        let outbox = Arc::new(Outbox {
            state: Mutex::new(OutboxState::default()),
            wake: Condvar::new(),
            link: link.clone(),
            backlog,
            deferred: AtomicBool::new(false),
            gather,
            last_write: AtomicU64::new(0),
            epoch: std::time::Instant::now(),
            writer_called: AtomicBool::new(false),
        });
        let for_writer = outbox.clone();
        let writer_thread = std::thread::Builder::new()
            .name("mqtt-writer".into())
            .spawn(move || for_writer.writer_loop())?;
        Ok(Self {
            link,
            outbox,
            writer_thread: Some(writer_thread),
        })
    }

    /// Queues bytes for the socket (with the engine lock held).
    pub(crate) fn send(&self, bytes: &[u8]) {
        self.outbox.push(bytes);
    }

    /// Lets what was queued (e.g. DISCONNECT) be written, then closes the link.
    pub(crate) fn close(mut self) {
        self.outbox.stop(false);
        if let Some(t) = self.writer_thread.take() {
            let _ = t.join();
        }
        self.link.shutdown();
    }

    /// Closes at once, dropping what was queued.
    pub(crate) fn abort(mut self) {
        self.link.abort();
        self.outbox.stop(true);
        if let Some(t) = self.writer_thread.take() {
            let _ = t.join();
        }
        self.outbox.backlog.reset();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::AtomicU64;
    use std::sync::mpsc;

    use super::*;

    /// On a busy connection the driver thread's bytes wait: a round within [`GATHER`] of its
    /// last write leaves them queued, and the first round after the window writes them
    /// together with what was queued since.
    #[test]
    fn a_busy_driver_gathers_its_bytes_until_the_window_has_passed() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (mut peer, _) = listener.accept().expect("accept");
        let link = Link::Plain(client, AtomicU64::new(0));
        let conn = Connection::new(link, Arc::new(Backlog::default()), GATHER).expect("connection");
        let outbox = &conn.outbox;
        let queued = || lock(&outbox.state).queue.clone();
        let mut expected = Vec::new();
        let mut gathered = 0;
        // The writer thread, once asleep, is woken only to close.
        while !lock(&outbox.state).writer_asleep {
            std::thread::yield_now();
        }
        // A thread preempted for longer than the window sees it pass: tried a few times.
        for round in 0..20u8 {
            std::thread::sleep(GATHER);
            outbox.push(&[round, 1]);
            expected.extend([round, 1]);
            if outbox.hand_off_unless_idle() {
                outbox.write_without_blocking();
            }
            outbox.push(&[round, 2]);
            outbox.push(&[round, 3]);
            expected.extend([round, 2, round, 3]);
            if outbox.hand_off_unless_idle() {
                outbox.write_without_blocking();
                continue;
            }
            assert!(outbox.deferred_for().is_some());
            assert_eq!(queued(), [round, 2, round, 3]);
            gathered += 1;
            std::thread::sleep(GATHER);
            assert!(outbox.hand_off_unless_idle(), "the window has passed");
            outbox.write_without_blocking();
            assert!(queued().is_empty() && outbox.deferred_for().is_none());
        }
        assert!(
            gathered > 0,
            "never busy: the test did not exercise gathering"
        );
        let mut received = vec![0u8; expected.len()];
        peer.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        peer.read_exact(&mut received).expect("read");
        assert_eq!(received, expected);
        conn.close();
    }

    /// The driver's own write never blocks: with the peer not reading, what the socket does not
    /// take goes to the writer thread, ahead of what is queued after it, and every byte
    /// arrives once and in order when the peer reads.
    #[test]
    fn driver_writes_what_the_socket_takes_and_hands_the_rest_on_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (mut peer, _) = listener.accept().expect("accept");
        let link = Link::Plain(client, AtomicU64::new(0));
        let conn = Connection::new(link, Arc::new(Backlog::default()), GATHER).expect("connection");
        // Far more than the socket buffers hold, then small pieces queued behind it.
        let data: Vec<u8> = (0..(8u32 << 20) + 1000).map(|i| (i % 251) as u8).collect();
        let (first, rest) = data.split_at(8 << 20);
        let (done_tx, done_rx) = mpsc::channel();
        let outbox = conn.outbox.clone();
        let rest = rest.to_vec();
        let first = first.to_vec();
        let queue = std::thread::spawn(move || {
            let driver_round = || {
                if outbox.hand_off_unless_idle() {
                    outbox.write_without_blocking();
                }
            };
            outbox.push(&first);
            driver_round();
            for piece in rest.chunks(10) {
                outbox.push(piece);
                driver_round();
            }
            // What the driver does after its next read (none comes here): the bytes left for
            // the busy window go once it has passed.
            while outbox.deferred_for().is_some() {
                std::thread::sleep(GATHER);
                driver_round();
            }
            let _ = done_tx.send(());
        });
        // Nothing is read yet: a blocking write here would never return.
        done_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the driver's write blocked");
        queue.join().expect("queueing thread");
        let mut received = vec![0u8; data.len()];
        peer.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        peer.read_exact(&mut received).expect("read");
        assert!(received == data, "bytes lost, repeated or out of order");
        conn.close();
    }
}
