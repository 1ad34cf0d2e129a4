//! `mqtt bench`: N publishing clients (and, with `both`, one subscriber per publisher) against
//! a broker; reports messages per second and end-to-end latency percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use transport_std::{Client, QoS};

use crate::args::{BenchArgs, BenchMode};
use crate::connect::{build, failure, qos, Failure};

struct Stats {
    published: u64,
    received: u64,
    seconds: f64,
    latencies_us: Vec<u64>,
}

#[allow(clippy::cast_precision_loss, clippy::cast_sign_loss)] // ranks of at most millions of samples
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn run(args: &BenchArgs) -> Result<(), Failure> {
    if args.size < 8 {
        return Err(Failure::usage("--size must be at least 8 bytes"));
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.timeout);
    let level = qos(args.qos);
    let publishers = if args.mode == BenchMode::Sub {
        0
    } else {
        args.clients
    };
    let subscribers = if args.mode == BenchMode::Pub {
        0
    } else {
        args.clients
    };
    let expected = u64::from(args.clients) * args.count;
    let bar = ProgressBar::new(expected);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(
        usize::try_from(expected).unwrap_or(0),
    )));
    let subs = start_subscribers(args, subscribers, level, start, &received, &latencies, &bar)?;
    let begin = Instant::now();
    let mut threads = Vec::new();
    for i in 0..publishers {
        let mut conn = args.conn.clone();
        conn.id = Some(format!(
            "{}-pub-{i}-{}",
            args.topic.replace('/', "-"),
            std::process::id()
        ));
        let (client, target) = build(&conn, None)?;
        client.connect().map_err(|e| failure(&e, &target))?;
        let (topic, count, size, rate, b, track) = (
            format!("{}/{i}", args.topic),
            args.count,
            args.size,
            args.rate,
            bar.clone(),
            subscribers == 0,
        );
        threads.push(std::thread::spawn(move || {
            publish_loop(
                &client, &topic, count, size, level, rate, start, deadline, &b, track,
            )
        }));
    }
    let mut published = 0;
    for t in threads {
        published += t
            .join()
            .map_err(|_| Failure::other("a publisher thread panicked"))??;
    }
    if subscribers > 0 {
        let want = if publishers > 0 { published } else { expected };
        while received.load(Ordering::Relaxed) < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let seconds = begin.elapsed().as_secs_f64();
    bar.finish_and_clear();
    for s in subs {
        let _ = s.disconnect(Duration::from_secs(2));
    }
    let mut lat = latencies.lock().map(|v| v.clone()).unwrap_or_default();
    lat.sort_unstable();
    report(
        args,
        &Stats {
            published,
            received: received.load(Ordering::Relaxed),
            seconds,
            latencies_us: lat,
        },
    );
    if Instant::now() >= deadline {
        return Err(Failure::timeout(
            "the benchmark did not finish within --timeout",
        ));
    }
    Ok(())
}

/// One subscriber per publisher topic, each recording end-to-end latency.
fn start_subscribers(
    args: &BenchArgs,
    subscribers: u32,
    level: QoS,
    start: Instant,
    received: &Arc<AtomicU64>,
    latencies: &Arc<Mutex<Vec<u64>>>,
    bar: &ProgressBar,
) -> Result<Vec<Client>, Failure> {
    let mut subs = Vec::new();
    for i in 0..subscribers {
        let mut conn = args.conn.clone();
        conn.id = Some(format!(
            "{}-sub-{i}-{}",
            args.topic.replace('/', "-"),
            std::process::id()
        ));
        let (client, target) = build(&conn, None)?;
        let (r, l, b) = (received.clone(), latencies.clone(), bar.clone());
        let token = client
            .subscribe(&format!("{}/{i}", args.topic), level, move |m| {
                let Some(stamp) = m.payload().get(..8) else {
                    return;
                };
                let mut sent = [0u8; 8];
                sent.copy_from_slice(stamp);
                let now = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                if let Ok(mut v) = l.lock() {
                    v.push(now.saturating_sub(u64::from_le_bytes(sent)) / 1_000);
                }
                r.fetch_add(1, Ordering::Relaxed);
                b.inc(1);
            })
            .map_err(|e| failure(&e, &target))?;
        client.connect().map_err(|e| failure(&e, &target))?;
        token
            .wait(Duration::from_secs(10))
            .map_err(|e| failure(&e, &target))?;
        subs.push(client);
    }
    Ok(subs)
}

#[allow(clippy::too_many_arguments, clippy::cast_precision_loss)]
fn publish_loop(
    client: &Client,
    topic: &str,
    count: u64,
    size: usize,
    level: QoS,
    rate: u64,
    start: Instant,
    deadline: Instant,
    bar: &ProgressBar,
    track: bool,
) -> Result<u64, Failure> {
    let mut payload = vec![0u8; size];
    let began = Instant::now();
    for n in 0..count {
        if rate > 0 {
            let due = began + Duration::from_secs_f64(n as f64 / rate as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let stamp = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        payload[..8].copy_from_slice(&stamp.to_le_bytes());
        // Waits while the engine has no room (backpressure).
        client
            .publish(topic, payload.as_slice(), level)
            .map_err(|e| Failure::other(format!("publish: {e}")))?;
        if track {
            bar.inc(1);
        }
    }
    // Waits for every acknowledgement, then disconnects.
    let left = deadline.saturating_duration_since(Instant::now());
    client
        .disconnect(left)
        .map_err(|e| Failure::other(e.to_string()))?;
    Ok(count)
}

#[allow(clippy::cast_precision_loss)] // message counts as rates
fn report(args: &BenchArgs, s: &Stats) {
    let lat = &s.latencies_us;
    let (p50, p99, max) = (
        percentile(lat, 50.0),
        percentile(lat, 99.0),
        lat.last().copied().unwrap_or(0),
    );
    let pub_rate = s.published as f64 / s.seconds.max(1e-9);
    let recv_rate = s.received as f64 / s.seconds.max(1e-9);
    if args.json {
        let out = serde_json::json!({
            "mode": format!("{:?}", args.mode).to_lowercase(),
            "clients": args.clients, "qos": args.qos, "size": args.size,
            "published": s.published, "received": s.received, "seconds": s.seconds,
            "publish_msgs_per_sec": pub_rate, "receive_msgs_per_sec": recv_rate,
            "latency_us": { "p50": p50, "p99": p99, "max": max },
        });
        println!("{out}");
        return;
    }
    println!(
        "clients {} · QoS {} · {} B payload",
        args.clients, args.qos, args.size
    );
    if s.published > 0 {
        println!(
            "published {} in {:.3} s: {:.0} msg/s",
            s.published, s.seconds, pub_rate
        );
    }
    if s.received > 0 {
        println!(
            "received  {} in {:.3} s: {:.0} msg/s",
            s.received, s.seconds, recv_rate
        );
        println!("latency   p50 {p50} µs · p99 {p99} µs · max {max} µs");
    }
}
