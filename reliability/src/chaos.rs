//! One chaos run and its report.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::broker::fault_proxy::{FaultKind, FaultPlan, FaultProxy};
use crate::broker::{Broker, BrokerConfig};
use crate::clients;

/// Which client library runs the publisher and the subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Blocking,
    Async,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Blocking => "std",
            Self::Async => "smol",
        })
    }
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct Config {
    pub transport: Transport,
    /// 3 (MQTT 3.1.1) or 5.
    pub version: u8,
    /// Messages per QoS (QoS 1 and QoS 2 each).
    pub messages: u64,
    pub seed: u64,
    /// Mean time between faults.
    pub mean_fault_interval: Duration,
    /// Faults the run must inject before its last message is published, whatever the
    /// clients' speed: publishing waits for the faults to keep pace (pro rata over the
    /// messages), so that a fast run cannot end with fewer (0: no minimum).
    pub min_faults: usize,
    /// Kill the broker with SIGKILL once, mid-run, and restart it on its persistence file.
    pub kill_broker: bool,
    /// Give up waiting for deliveries after this long.
    pub timeout: Duration,
}

/// The faults a run draws from: mostly connection kills, some stalls and half-open links.
pub fn plan(seed: u64, mean: Duration) -> FaultPlan {
    FaultPlan {
        seed,
        mean_interval: mean,
        faults: vec![
            (4, FaultKind::Abort),
            (2, FaultKind::Close),
            (
                2,
                FaultKind::Stall {
                    min: Duration::from_millis(100),
                    max: Duration::from_secs(5),
                },
            ),
            (1, FaultKind::HalfOpen),
        ],
    }
}

/// One delivery: the message number, its packet identifier and DUP flag.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub n: u64,
    pub packet_id: Option<u16>,
    pub dup: bool,
}

/// What the subscriber saw, per topic (index 0: QoS 1, index 1: QoS 2).
#[derive(Default)]
pub struct Received {
    sequences: [Vec<Arrival>; 2],
}

impl Received {
    pub fn record(&mut self, message: &transport_core::Message) {
        let index = usize::from(message.topic().ends_with("/2"));
        if let Some(n) = message.payload_str().and_then(|s| s.parse().ok()) {
            self.sequences[index].push(Arrival {
                n,
                packet_id: message.delivery().publish.packet_id,
                dup: message.dup(),
            });
        }
    }

    fn distinct(&self, index: usize) -> usize {
        self.sequences[index]
            .iter()
            .map(|a| a.n)
            .collect::<HashSet<_>>()
            .len()
    }
}

/// The outcome of one run, per QoS.
#[derive(Debug, Clone)]
pub struct Report {
    pub config_line: String,
    pub qos: u8,
    pub messages: u64,
    pub faults: usize,
    pub lost: u64,
    pub duplicated: u64,
    /// Duplicates the broker made: the same message sent again with DUP and its packet
    /// identifier after our client had completed it (PUBREL processed). The client must treat
    /// such a PUBLISH as new ([MQTT-4.3.3]); mosquitto 2.0.11 does this after a failed write.
    pub resent_after_release: u64,
    pub reordered: u64,
    pub seconds: f64,
    /// The first lost message numbers (at most ten), for the failure report.
    pub lost_numbers: Vec<u64>,
}

/// How many lost message numbers a failed run names.
const LOST_SHOWN: usize = 10;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chaos {} qos{}: messages {} faults {} lost {} duplicated {} reordered {} seconds {:.0}",
            self.config_line,
            self.qos,
            self.messages,
            self.faults,
            self.lost,
            self.duplicated - self.resent_after_release,
            self.reordered,
            self.seconds
        )?;
        if self.resent_after_release > 0 {
            write!(
                f,
                " (and {} resent by the broker after PUBREL)",
                self.resent_after_release
            )?;
        }
        Ok(())
    }
}

impl Report {
    /// What the client promises: nothing lost, and at QoS 2 no duplicate of its making.
    /// Order per topic is reported, not asserted: mosquitto 2.0.11 itself sends queued
    /// messages out of order after a failed write (its log shows a first transmission sent
    /// after later ones), which no client can repair.
    pub fn holds(&self) -> bool {
        self.lost == 0 && (self.qos == 1 || self.duplicated == self.resent_after_release)
    }
}

/// When message `n` was published, from the publisher's timeline (one mark every
/// [`MARK_EVERY`] messages): the time of the last mark at or before it.
fn published_at(timeline: &[(u64, Duration)], n: u64) -> Option<Duration> {
    timeline
        .iter()
        .take_while(|(m, _)| *m <= n)
        .last()
        .map(|(_, t)| *t)
}

/// The publisher's timeline: `(message, time since the start)`, one mark every [`MARK_EVERY`]
/// messages.
type Timeline = Arc<Mutex<Vec<(u64, Duration)>>>;

/// The publisher's timeline records one mark every this many messages.
const MARK_EVERY: u64 = 100;

/// What one topic's arrivals say (see [`Report`] for each count).
struct Analysis {
    lost: u64,
    duplicated: u64,
    resent_after_release: u64,
    reordered: u64,
    /// The first [`LOST_SHOWN`] lost message numbers.
    lost_numbers: Vec<u64>,
}

/// Lost (and the first of them), duplicated, of those resent by the broker after release, and
/// reordered.
fn analyse(sequence: &[Arrival], messages: u64, qos2: bool) -> Analysis {
    let mut first: HashMap<u64, Arrival> = HashMap::new();
    let mut duplicated = 0;
    let mut resent = 0;
    let mut reordered = 0;
    let mut highest: Option<u64> = None;
    for a in sequence {
        let n = a.n;
        if let Some(earlier) = first.get(&n) {
            duplicated += 1;
            // A resend (DUP, same identifier) that the client delivered again: it only does
            // that once it has processed PUBREL for that identifier.
            if qos2 && a.dup && a.packet_id.is_some() && a.packet_id == earlier.packet_id {
                resent += 1;
            }
            continue;
        }
        first.insert(n, *a);
        // Order per topic: every first arrival comes after the ones before it.
        if highest.is_some_and(|h| n < h) {
            reordered += 1;
        }
        highest = Some(highest.map_or(n, |h| h.max(n)));
    }
    let mut lost = 0;
    let mut lost_numbers = Vec::new();
    for n in (0..messages).filter(|n| !first.contains_key(n)) {
        lost += 1;
        if lost_numbers.len() < LOST_SHOWN {
            lost_numbers.push(n);
        }
    }
    Analysis {
        lost,
        duplicated,
        resent_after_release: resent,
        reordered,
        lost_numbers,
    }
}

/// Runs one chaos run; returns the QoS 1 and QoS 2 reports.
pub fn run(config: &Config) -> [Report; 2] {
    let mut broker = Broker::start(BrokerConfig {
        persistence: true,
        extra: vec![
            "max_queued_messages 0".into(),
            // Save after every change, so a SIGKILLed broker forgets as little as it can.
            "autosave_on_changes true".into(),
            "autosave_interval 1".into(),
        ],
        ..BrokerConfig::default()
    });
    let proxy = Arc::new(FaultProxy::start_disarmed(
        broker.port,
        plan(config.seed, config.mean_fault_interval),
    ));
    let received: Arc<Mutex<Received>> = Arc::default();
    let tag = format!("{}-v{}-{}", config.transport, config.version, config.seed);
    let pair = clients::connect(config, &proxy.url(), &tag, received.clone());
    proxy.arm();
    let started = Instant::now();
    let killer = config.kill_broker.then(|| {
        // Mid-run: after about a third of the expected publishing time.
        Duration::from_millis(config.messages.min(20_000) / 2)
    });
    let timeline: Timeline = Arc::default();
    let publishing = spawn_publisher(&pair, config, &proxy, (started, &timeline));
    let mut broker_killed = None;
    if let Some(after) = killer {
        std::thread::sleep(after);
        let at = started.elapsed();
        broker.kill_and_restart();
        broker_killed = Some((at, started.elapsed()));
    }
    let published = publishing.join().expect("publisher thread");
    assert!(published.is_ok(), "{tag}: publishing failed: {published:?}");
    // Every publish returned: stop the faults and let the last deliveries through.
    let faults = proxy.faults();
    proxy.calm();
    let deadline = Instant::now() + config.timeout;
    while Instant::now() < deadline {
        let done = {
            let r = received.lock().expect("lock");
            r.distinct(0) as u64 >= config.messages && r.distinct(1) as u64 >= config.messages
        };
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A moment for late duplicates to show.
    std::thread::sleep(Duration::from_millis(300));
    let seconds = started.elapsed().as_secs_f64();
    pair.close();
    let r = received.lock().expect("lock");
    let config_line = format!("{} v{}", config.transport, config.version);
    let report = |index: usize| {
        let a = analyse(&r.sequences[index], config.messages, index == 1);
        Report {
            config_line: config_line.clone(),
            qos: index as u8 + 1,
            messages: config.messages,
            faults,
            lost: a.lost,
            duplicated: a.duplicated,
            resent_after_release: a.resent_after_release,
            reordered: a.reordered,
            seconds,
            lost_numbers: a.lost_numbers,
        }
    };
    let reports = [report(0), report(1)];
    if let Ok(dir) = std::env::var("CHAOS_KEEP_LOGS") {
        // The broker's own account, for checking who did what (e.g. a resend after PUBREL).
        let _ = std::fs::write(format!("{dir}/chaos-broker-{tag}.log"), broker.log());
    }
    let timeline = timeline.lock().expect("lock");
    for rep in &reports {
        if !rep.holds() {
            eprintln!("{tag}: {rep}");
            if let Some((at, back)) = broker_killed {
                eprintln!(
                    "  broker SIGKILLed at {:.3}s, restarted by {:.3}s",
                    at.as_secs_f64(),
                    back.as_secs_f64()
                );
            }
            for &n in &rep.lost_numbers {
                let when = published_at(&timeline, n)
                    .map_or_else(|| "?".into(), |t| format!("{:.3}s", t.as_secs_f64()));
                eprintln!("  lost message {n}: publishing reached it at about {when}");
            }
            eprintln!("  faults:\n{}", proxy.describe());
        }
    }
    reports
}

/// Publishes the run's messages on a thread of its own, marking the timeline every
/// [`MARK_EVERY`] messages and keeping pace with the faults (see [`keep_pace`]).
fn spawn_publisher(
    pair: &clients::Pair,
    config: &Config,
    proxy: &Arc<FaultProxy>,
    (started, timeline): (Instant, &Timeline),
) -> std::thread::JoinHandle<Result<(), transport_core::Error>> {
    let pair = pair.clone();
    let messages = config.messages;
    let timeline = timeline.clone();
    let proxy = proxy.clone();
    let (min_faults, give_up) = (config.min_faults, config.timeout);
    std::thread::spawn(move || {
        pair.publish_all(messages, |n| {
            if n % MARK_EVERY == 0 {
                timeline.lock().expect("lock").push((n, started.elapsed()));
            }
            if n % MARK_EVERY == 0 || n + 1 == messages {
                keep_pace(&proxy, min_faults, (n + 1, messages), started + give_up);
            }
        })
    })
}

/// Waits, before message `n` of `messages` is published, until the proxy has injected its
/// share of `min_faults` (`min_faults × n / messages`, rounded up: all of them before the
/// last message), or until `deadline`.
fn keep_pace(proxy: &FaultProxy, min_faults: usize, (n, messages): (u64, u64), deadline: Instant) {
    let share = (min_faults as u64 * n).div_ceil(messages.max(1));
    while (proxy.faults() as u64) < share && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The short seeded run of `scripts/chaos.sh --quick` and of the test suite: ≥ 100 faults in
/// well under 30 s.
pub fn quick(transport: Transport, version: u8, seed: u64) -> Config {
    Config {
        transport,
        version,
        messages: 4_000,
        seed,
        mean_fault_interval: Duration::from_millis(60),
        min_faults: 100,
        kill_broker: false,
        timeout: Duration::from_secs(60),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{analyse, published_at, Arrival};

    /// Lost, duplicated, resent after release, reordered.
    fn counts(sequence: &[Arrival], messages: u64, qos2: bool) -> (u64, u64, u64, u64) {
        let a = analyse(sequence, messages, qos2);
        (a.lost, a.duplicated, a.resent_after_release, a.reordered)
    }

    fn seq(items: &[(u64, u16, bool)]) -> Vec<Arrival> {
        items
            .iter()
            .map(|&(n, id, dup)| Arrival {
                n,
                packet_id: Some(id),
                dup,
            })
            .collect()
    }

    #[test]
    fn analysis_counts_losses_duplicates_resends_and_reorders() {
        let plain = seq(&[(0, 1, false), (1, 2, false), (2, 3, false), (3, 4, false)]);
        assert_eq!(counts(&plain, 4, true), (0, 0, 0, 0));
        let dup = seq(&[
            (0, 1, false),
            (1, 2, false),
            (1, 9, false),
            (2, 3, false),
            (3, 4, false),
        ]);
        assert_eq!(counts(&dup, 4, true), (0, 1, 0, 0));
        let resent = seq(&[
            (0, 1, false),
            (1, 2, false),
            (1, 2, true),
            (2, 3, false),
            (3, 4, false),
        ]);
        assert_eq!(counts(&resent, 4, true), (0, 1, 1, 0));
        assert_eq!(
            counts(&resent, 4, false),
            (0, 1, 0, 0),
            "QoS 1: a plain duplicate"
        );
        let swapped = seq(&[(0, 1, false), (2, 3, false), (1, 2, false), (3, 4, false)]);
        assert_eq!(counts(&swapped, 4, true), (0, 0, 0, 1));
        let lost = seq(&[(0, 1, false), (1, 2, false), (3, 4, false)]);
        assert_eq!(counts(&lost, 4, true), (1, 0, 0, 0));
        assert_eq!(analyse(&lost, 6, true).lost_numbers, [2, 4, 5]);
    }

    #[test]
    fn a_lost_message_is_dated_by_the_last_mark_before_it() {
        let ms = Duration::from_millis;
        let timeline = [(0, ms(0)), (100, ms(40)), (200, ms(90))];
        assert_eq!(published_at(&timeline, 150), Some(ms(40)));
        assert_eq!(published_at(&timeline, 200), Some(ms(90)));
        assert_eq!(published_at(&timeline, 5_000), Some(ms(90)));
        assert_eq!(published_at(&[], 3), None);
    }
}
