//! End-to-end benchmark: a publisher and a subscriber in one process, through a local
//! mosquitto on loopback, for our blocking client, our async (smol) client and rumqttc (tokio, one-thread runtime),
//! at QoS 0, 1 and 2. Each (library, QoS) pair runs in its own child process, which reports
//! wall time and its whole CPU time (all threads), so the two libraries are measured alike.
//!
//! `cargo run --release -p benches --bin e2e` (add `--long` for 300,000 messages a run instead
//! of 100,000, `--count N` / `--size S` / `--runs R` to choose). Each row is the median of three
//! runs (`--runs`): a QoS 0 subscriber on this loopback has two steady states, one of them
//! several times costlier (see the README), and one run per row was a draw between them. A child run alone takes `--gap-us G`: its publisher spins
//! G µs between publishes, so that every message finds the client idle (the cost of a wake-up
//! per message; count system calls with `perf stat -e 'syscalls:sys_enter_*'`, the CPU figures
//! include the spin).

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOPIC: &str = "e2e/bench";

/// User and system CPU seconds of the whole process (all threads).
#[derive(Clone, Copy)]
struct Cpu {
    user: f64,
    system: f64,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, before: Cpu) -> Cpu {
        Cpu {
            user: self.user - before.user,
            system: self.system - before.system,
        }
    }
}

fn cpu_seconds() -> Cpu {
    // utime and stime (fields 14 and 15) of the whole process, in clock ticks of 1/100 s.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Cpu {
        user: ticks(11) / 100.0,
        system: ticks(12) / 100.0,
    }
}

/// Spins until `gap` has passed since `last` (no system call: the clock is read through the
/// vDSO), so that a paced publisher finds the client idle on every message.
fn pace(last: &mut Instant, gap: Duration) {
    if gap.is_zero() {
        return;
    }
    while last.elapsed() < gap {
        std::hint::spin_loop();
    }
    *last = Instant::now();
}

struct Run {
    received: u64,
    seconds: f64,
    cpu: Cpu,
}

fn ours(port: u16, qos: u8, count: u64, size: usize, gap: Duration) -> Run {
    use transport_std::{Client, QoS};
    let level = match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    };
    let url = format!("mqtt://127.0.0.1:{port}");
    let received = Arc::new(AtomicU64::new(0));
    let sub = Client::builder(&url)
        .client_id("e2e-ours-sub")
        .build()
        .expect("build");
    let r = received.clone();
    let token = sub
        .subscribe(TOPIC, level, move |_| {
            r.fetch_add(1, Ordering::Relaxed);
        })
        .expect("subscribe");
    sub.connect().expect("connect");
    token.wait(Duration::from_secs(10)).expect("suback");
    let publisher = Client::builder(&url)
        .client_id("e2e-ours-pub")
        .build()
        .expect("build");
    publisher.connect().expect("connect");
    let payload = bytes::Bytes::from(vec![0xA5u8; size]);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut last = start;
    for _ in 0..count {
        pace(&mut last, gap);
        // Waits while the engine has no room (backpressure).
        publisher
            .publish(TOPIC, payload.clone(), level)
            .expect("publish");
    }
    let deadline = start + Duration::from_secs(120);
    while received.load(Ordering::Relaxed) < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(200));
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    Run {
        received: received.load(Ordering::Relaxed),
        seconds,
        cpu,
    }
}

fn ours_async(port: u16, qos: u8, count: u64, size: usize, gap: Duration) -> Run {
    use transport_smol::{Client, QoS};
    let level = match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    };
    let url = format!("mqtt://127.0.0.1:{port}");
    smol::block_on(async move {
        let sub = Client::builder(&url)
            .client_id("e2e-async-sub")
            .build()
            .expect("build");
        let (token, messages) = sub
            .subscribe_channel(TOPIC, level, 1024)
            .expect("subscribe");
        sub.connect().await.expect("connect");
        token.wait(Duration::from_secs(10)).await.expect("suback");
        let publisher = Client::builder(&url)
            .client_id("e2e-async-pub")
            .build()
            .expect("build");
        publisher.connect().await.expect("connect");
        let payload = bytes::Bytes::from(vec![0xA5u8; size]);
        let received = Arc::new(AtomicU64::new(0));
        let r = received.clone();
        let consumer = smol::spawn(async move {
            while r.load(Ordering::Relaxed) < count {
                if messages.recv().await.is_err() {
                    break;
                }
                r.fetch_add(1, Ordering::Relaxed);
            }
        });
        let cpu0 = cpu_seconds();
        let start = Instant::now();
        let mut last = start;
        for _ in 0..count {
            pace(&mut last, gap);
            // Waits while the engine has no room (backpressure).
            publisher
                .publish(TOPIC, payload.clone(), level)
                .await
                .expect("publish");
        }
        let () = smol::future::or(consumer, async {
            smol::Timer::after(Duration::from_secs(120)).await;
        })
        .await;
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        Run {
            received: received.load(Ordering::Relaxed),
            seconds,
            cpu,
        }
    })
}

fn rumqttc_run(port: u16, qos: u8, count: u64, size: usize, gap: Duration) -> Run {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let level = match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut sub_opts = MqttOptions::new("e2e-rumqttc-sub", "127.0.0.1", port);
        sub_opts.set_keep_alive(Duration::from_secs(60));
        sub_opts.set_max_packet_size(1 << 20, 1 << 20);
        let (sub, mut sub_loop) = AsyncClient::new(sub_opts, 100);
        sub.subscribe(TOPIC, level).await.expect("subscribe");
        // Run the subscriber until SUBACK.
        loop {
            if let Ok(Event::Incoming(Packet::SubAck(_))) = sub_loop.poll().await {
                break;
            }
        }
        let received = Arc::new(AtomicU64::new(0));
        let r = received.clone();
        let sub_task = tokio::spawn(async move {
            while r.load(Ordering::Relaxed) < count {
                match sub_loop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(_))) => {
                        r.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => panic!("subscriber: {e}"),
                }
            }
            drop(sub);
        });
        let mut pub_opts = MqttOptions::new("e2e-rumqttc-pub", "127.0.0.1", port);
        pub_opts.set_keep_alive(Duration::from_secs(60));
        pub_opts.set_max_packet_size(1 << 20, 1 << 20);
        // mosquitto disconnects a 3.1.1 client with more than `max_inflight_messages` (20)
        // QoS 2 messages awaiting PUBREL; rumqttc's default is 100. (Our client reads the
        // limit from the MQTT 5 CONNACK.)
        pub_opts.set_inflight(20);
        let (publisher, mut pub_loop) = AsyncClient::new(pub_opts, 100);
        let pub_task = tokio::spawn(async move {
            loop {
                if let Err(e) = pub_loop.poll().await {
                    eprintln!("rumqttc publisher event loop: {e}");
                    break;
                }
            }
        });
        let payload = vec![0xA5u8; size];
        let cpu0 = cpu_seconds();
        let start = Instant::now();
        let mut last = start;
        for _ in 0..count {
            pace(&mut last, gap);
            publisher
                .publish(TOPIC, level, false, payload.clone())
                .await
                .expect("publish");
        }
        let _ = tokio::time::timeout(Duration::from_secs(120), sub_task).await;
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        pub_task.abort();
        Run {
            received: received.load(Ordering::Relaxed),
            seconds,
            cpu,
        }
    })
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One end-to-end measurement: which client, through which broker port, at which QoS, how many
/// messages of which size.
#[derive(Clone, Copy)]
struct Case<'a> {
    exe: &'a std::path::Path,
    lib: &'a str,
    port: u16,
    qos: u8,
    count: u64,
    size: usize,
}

/// Runs one measurement in a child process: messages received, seconds, user and system CPU
/// seconds.
fn child(case: Case<'_>) -> Option<[f64; 4]> {
    let Case {
        exe,
        lib,
        port,
        qos,
        count,
        size,
    } = case;
    let out = Command::new(exe)
        .args([
            "--child",
            lib,
            "--port",
            &port.to_string(),
            "--qos",
            &qos.to_string(),
            "--count",
            &count.to_string(),
            "--size",
            &size.to_string(),
        ])
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 5 {
        eprintln!(
            "{lib} QoS {qos} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some([v[0], v[1], v[2], v[3]])
}

/// Runs `runs` children for one row, prints the row of the median run by CPU per message with
/// the range of all runs, and returns its rate and CPU µs per message.
fn measure(case: Case<'_>, runs: usize) -> Option<(f64, f64)> {
    let Case { lib, qos, size, .. } = case;
    // (CPU µs per message, rate, user µs, system µs, received)
    let mut measured: Vec<[f64; 5]> = (0..runs)
        .filter_map(|_| child(case))
        .map(|[received, seconds, user, system]| {
            let per = |s: f64| s / received.max(1.0) * 1e6;
            [
                per(user + system),
                received / seconds,
                per(user),
                per(system),
                received,
            ]
        })
        .collect();
    measured.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let [cpu_per, rate, user, system, received] = *measured.get(measured.len() / 2)?;
    let (low, high) = (measured[0][0], measured[measured.len() - 1][0]);
    println!(
        "| {qos} | {size} B | {lib} | {rate:.0} | {user:.2} | {system:.2} | {cpu_per:.2} | {low:.2}–{high:.2} | {received:.0} |"
    );
    Some((rate, cpu_per))
}

const USAGE: &str = "\
usage: e2e [--long] [--count N] [--size S] [--runs R]
       e2e --child ours|ours-async|rumqttc --port P --qos Q [--count N] [--size S] [--gap-us G]

Without --child: starts a local mosquitto and prints the end-to-end table (publisher and
subscriber in one process, per library and QoS; 100,000 messages a run, 300,000 with --long,
each row the median of --runs runs). With --child: one run against the broker on port P,
printing `received seconds user system count`.";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let size: usize = arg(&args, "--size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let long = args.iter().any(|a| a == "--long");
    let count: u64 = arg(&args, "--count")
        .and_then(|s| s.parse().ok())
        .unwrap_or(if long { 300_000 } else { 100_000 });
    let runs: usize = arg(&args, "--runs")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    if let Some(lib) = arg(&args, "--child") {
        let port: u16 = arg(&args, "--port")
            .and_then(|s| s.parse().ok())
            .expect("--port");
        let qos: u8 = arg(&args, "--qos")
            .and_then(|s| s.parse().ok())
            .expect("--qos");
        let gap = Duration::from_micros(
            arg(&args, "--gap-us")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
        );
        let run = match lib.as_str() {
            "ours" => ours(port, qos, count, size, gap),
            "ours-async" => ours_async(port, qos, count, size, gap),
            "rumqttc" => rumqttc_run(port, qos, count, size, gap),
            other => panic!("unknown client {other}"),
        };
        println!(
            "{} {} {} {} {}",
            run.received, run.seconds, run.cpu.user, run.cpu.system, count
        );
        return;
    }
    let (mut broker, port, dir) = benches::start_mosquitto("e2e", &["max_queued_messages 0"]);
    let exe = std::env::current_exe().expect("exe");
    println!("end to end through mosquitto on 127.0.0.1: {count} messages, publisher + subscriber in one process; CPU is the whole process's (all threads), per message received; each row is the median of {runs} runs by CPU per message, with the range of the runs");
    println!(
        "| QoS | payload | client | msgs/s | user µs/msg | system µs/msg | CPU µs/msg | CPU range | received |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    let size_flag = arg(&args, "--size").is_some();
    let rows: Vec<(u8, usize)> = if size_flag {
        (0..=2u8).map(|q| (q, size)).collect()
    } else {
        vec![(0, 64), (1, 64), (2, 64), (1, 1024)]
    };
    for (qos, size) in rows {
        let mut results = Vec::new();
        for lib in ["ours", "ours-async", "rumqttc"] {
            let case = Case {
                exe: &exe,
                lib,
                port,
                qos,
                count,
                size,
            };
            if let Some(result) = measure(case, runs) {
                results.push(result);
            }
        }
        if let [(our_rate, our_cpu), (async_rate, async_cpu), (their_rate, their_cpu)] = results[..]
        {
            ratios.push((
                qos,
                size,
                "blocking",
                our_rate / their_rate,
                our_cpu / their_cpu,
            ));
            ratios.push((
                qos,
                size,
                "async",
                async_rate / their_rate,
                async_cpu / their_cpu,
            ));
        }
    }
    println!();
    for (qos, size, which, rate, cpu) in ratios {
        println!(
            "QoS {qos}, {size} B: ours ({which})/rumqttc msgs/s = {rate:.2}x, CPU per message = {cpu:.2}x"
        );
    }
    let _ = broker.kill();
    let _ = broker.wait();
    let _ = std::fs::remove_dir_all(dir);
}
