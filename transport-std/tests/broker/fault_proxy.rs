//! A seeded fault-injection TCP proxy for tests: it sits between clients and a real broker and,
//! at random times drawn from a seed, aborts connections (RST), closes them cleanly, stalls
//! them, or silently drops one direction (half-open). Every fault is logged with its time, so a
//! failing run can be replayed from its seed.

#![allow(clippy::cast_possible_truncation)] // milliseconds of a test run fit in u64

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Both sides get a TCP RST (SO_LINGER 0, then close).
    Abort,
    /// Both sides get a FIN.
    Close,
    /// Nothing is forwarded, either way, for this long; then traffic resumes.
    Stall(Duration),
    /// Bytes from the client are silently dropped until the connection ends (the client
    /// notices only through its keep-alive).
    HalfOpen,
}

/// What the proxy injects, and how often.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub seed: u64,
    /// Mean time between faults (exponentially distributed).
    pub mean_interval: Duration,
    /// Faults drawn from, each with its weight.
    pub faults: Vec<(u32, FaultKind)>,
}

/// A fault to draw; stalls get a random length in their range.
#[derive(Debug, Clone, Copy)]
pub enum FaultKind {
    Abort,
    Close,
    Stall { min: Duration, max: Duration },
    HalfOpen,
}

impl FaultPlan {
    /// Aborts only, every `mean` on average.
    pub fn aborts(seed: u64, mean: Duration) -> Self {
        Self {
            seed,
            mean_interval: mean,
            faults: vec![(1, FaultKind::Abort)],
        }
    }
}

/// A fault that happened.
#[derive(Debug, Clone)]
pub struct FaultRecord {
    pub at: Duration,
    pub fault: Fault,
    /// Connections it hit.
    pub connections: usize,
}

struct Link {
    client: TcpStream,
    server: TcpStream,
    /// Set before a fault tears the link down: the pumps exit without a FIN of their own.
    torn: Arc<AtomicBool>,
    /// Until when (ms since the proxy started) nothing is forwarded.
    stalled_until: Arc<AtomicU64>,
    drop_upstream: Arc<AtomicBool>,
}

struct State {
    links: Mutex<Vec<Link>>,
    log: Mutex<Vec<FaultRecord>>,
    /// Faults are injected only while armed.
    armed: AtomicBool,
    /// No more faults.
    stop: AtomicBool,
    /// The proxy was dropped: accept nothing more.
    closed: AtomicBool,
    started: Instant,
    accepted: AtomicUsize,
}

pub struct FaultProxy {
    pub port: u16,
    state: Arc<State>,
}

impl FaultProxy {
    /// Starts forwarding to `127.0.0.1:target_port` and injecting faults per `plan`.
    pub fn start(target_port: u16, plan: FaultPlan) -> Self {
        Self::launch(target_port, plan, true)
    }

    /// Forwards without faults until [`FaultProxy::arm`] (clients connect first).
    pub fn start_disarmed(target_port: u16, plan: FaultPlan) -> Self {
        Self::launch(target_port, plan, false)
    }

    /// Starts injecting faults; the plan's schedule starts now.
    pub fn arm(&self) {
        self.state.armed.store(true, Ordering::SeqCst);
    }

    fn launch(target_port: u16, plan: FaultPlan, armed: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(State {
            links: Mutex::default(),
            log: Mutex::default(),
            armed: AtomicBool::new(armed),
            stop: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            started: Instant::now(),
            accepted: AtomicUsize::new(0),
        });
        let s = state.clone();
        std::thread::spawn(move || accept_loop(&listener, target_port, &s));
        let s = state.clone();
        std::thread::spawn(move || fault_loop(&plan, &s));
        Self { port, state }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// The faults injected so far.
    pub fn log(&self) -> Vec<FaultRecord> {
        self.state.log.lock().expect("lock").clone()
    }

    /// Faults injected (some may have found no connection open).
    pub fn injected(&self) -> usize {
        self.state.log.lock().expect("lock").len()
    }

    /// Faults that hit at least one connection.
    pub fn faults(&self) -> usize {
        self.log().iter().filter(|r| r.connections > 0).count()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// The log as text, one fault a line, for a failure message.
    pub fn describe(&self) -> String {
        self.log()
            .iter()
            .map(|r| {
                format!(
                    "{:>8.3}s {:?} ({} conns)",
                    r.at.as_secs_f64(),
                    r.fault,
                    r.connections
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops injecting faults (connections stay up from now on).
    pub fn calm(&self) {
        self.state.stop.store(true, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.state.closed.store(true, Ordering::SeqCst);
        for link in self.state.links.lock().expect("lock").drain(..) {
            let _ = link.client.shutdown(Shutdown::Both);
            let _ = link.server.shutdown(Shutdown::Both);
        }
        // Wakes the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn accept_loop(listener: &TcpListener, target_port: u16, state: &Arc<State>) {
    for client in listener.incoming() {
        if state.closed.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { return };
        let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
            continue;
        };
        state.accepted.fetch_add(1, Ordering::SeqCst);
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let torn = Arc::new(AtomicBool::new(false));
        let stalled_until = Arc::new(AtomicU64::new(0));
        let drop_upstream = Arc::new(AtomicBool::new(false));
        let (Ok(c1), Ok(c2), Ok(s1), Ok(s2)) = (
            client.try_clone(),
            client.try_clone(),
            server.try_clone(),
            server.try_clone(),
        ) else {
            continue;
        };
        let pump_state = PumpState {
            torn: torn.clone(),
            stalled_until: stalled_until.clone(),
            started: state.started,
        };
        pump(c1, s1, pump_state.clone(), Some(drop_upstream.clone()));
        pump(s2, c2, pump_state, None);
        let mut links = state.links.lock().expect("lock");
        links.retain(|l| !l.torn.load(Ordering::SeqCst));
        links.push(Link {
            client,
            server,
            torn,
            stalled_until,
            drop_upstream,
        });
    }
}

#[derive(Clone)]
struct PumpState {
    torn: Arc<AtomicBool>,
    stalled_until: Arc<AtomicU64>,
    started: Instant,
}

fn pump(mut from: TcpStream, mut to: TcpStream, st: PumpState, drop: Option<Arc<AtomicBool>>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            loop {
                let now = st.started.elapsed().as_millis() as u64;
                let until = st.stalled_until.load(Ordering::SeqCst);
                if now >= until || st.torn.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis((until - now).min(20)));
            }
            if st.torn.load(Ordering::SeqCst) {
                break;
            }
            if drop.as_ref().is_some_and(|d| d.load(Ordering::SeqCst)) {
                continue;
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        if !st.torn.load(Ordering::SeqCst) {
            // The other side closed: pass the close on.
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        }
    });
}

/// xorshift64*: deterministic from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    #[allow(clippy::cast_precision_loss)] // 53 random bits: exact in an f64
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn fault_loop(plan: &FaultPlan, state: &Arc<State>) {
    while !state.armed.load(Ordering::SeqCst) {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let armed_at = state.started.elapsed();
    let mut rng = Rng(plan.seed | 1);
    let total: u32 = plan.faults.iter().map(|(w, _)| w).sum();
    let mut next_at = armed_at;
    loop {
        // Exponential gaps, capped at 10 means so a run never waits for ever.
        let gap = -plan.mean_interval.as_secs_f64() * (1.0 - rng.unit()).ln();
        next_at += Duration::from_secs_f64(gap.min(plan.mean_interval.as_secs_f64() * 10.0));
        let mut pick = (rng.next() % u64::from(total.max(1))) as u32;
        let mut kind = FaultKind::Abort;
        for (w, k) in &plan.faults {
            if pick < *w {
                kind = *k;
                break;
            }
            pick -= w;
        }
        let fault = match kind {
            FaultKind::Abort => Fault::Abort,
            FaultKind::Close => Fault::Close,
            FaultKind::HalfOpen => Fault::HalfOpen,
            FaultKind::Stall { min, max } => {
                let span = max.saturating_sub(min).as_secs_f64();
                Fault::Stall(min + Duration::from_secs_f64(span * rng.unit()))
            }
        };
        if let Some(wait) = next_at.checked_sub(state.started.elapsed()) {
            std::thread::sleep(wait);
        }
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let hit = inject(state, fault);
        state.log.lock().expect("lock").push(FaultRecord {
            at: state.started.elapsed(),
            fault,
            connections: hit,
        });
    }
}

/// Applies `fault` to every open connection; returns how many it hit.
fn inject(state: &State, fault: Fault) -> usize {
    let mut links = state.links.lock().expect("lock");
    links.retain(|l| !l.torn.load(Ordering::SeqCst));
    let hit = links.len();
    match fault {
        Fault::Abort | Fault::Close => {
            for link in links.drain(..) {
                link.torn.store(true, Ordering::SeqCst);
                for sock in [&link.client, &link.server] {
                    if fault == Fault::Abort {
                        let _ = socket2::SockRef::from(sock).set_linger(Some(Duration::ZERO));
                        // Wakes the pumps without a FIN; the last descriptor closed sends RST.
                        let _ = sock.shutdown(Shutdown::Read);
                    } else {
                        let _ = sock.shutdown(Shutdown::Both);
                    }
                }
            }
        }
        Fault::Stall(d) => {
            let until = (state.started.elapsed() + d).as_millis() as u64;
            for link in links.iter() {
                link.stalled_until.store(until, Ordering::SeqCst);
            }
        }
        Fault::HalfOpen => {
            for link in links.iter() {
                link.drop_upstream.store(true, Ordering::SeqCst);
            }
        }
    }
    hit
}
