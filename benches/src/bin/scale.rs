//! Scale: how many connections one process holds. Opens N async connections on one smol
//! executor (one thread) to a local mosquitto, each subscribed to its own topic, and reports
//! the time to connect them all and the resident memory per idle connection (process RSS
//! before and after); then P of them publish QoS 1 at R msg/s each for S seconds to another
//! connection's topic, and every message is counted at its receiver. rumqttc (one
//! current-thread tokio runtime, one event-loop task per connection) is measured the same way
//! for the idle memory, each client in its own child process.
//!
//! `cargo run --release -p benches --bin scale` (5,000 connections, 1,000 publishers at 10
//! msg/s for 60 s); `--connections N --publishers P --rate R --seconds S` to choose; `--quick`
//! for 1,000 connections and a 10 s phase. The benchmark raises its open-file limit and writes
//! the broker configuration it needs.

use std::cell::RefCell;
use std::collections::HashSet;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Connections opened at once (mosquitto's listen backlog is small).
const BATCH: usize = 100;

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// Resident memory of this process, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Raises the open-file limit to its hard maximum (children, the broker included, inherit it).
fn raise_file_limit(needed: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum;
    let want = hard.map_or(needed, |h| h.min(needed.max(h)));
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(want),
            maximum: hard,
        },
    );
    let now = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    assert!(
        now >= needed,
        "the open-file limit is {now}; {needed} are needed (raise the hard limit: ulimit -Hn)"
    );
}

struct Settle {
    connections: usize,
    connect_seconds: f64,
    kib_per_connection: f64,
}

#[allow(clippy::cast_precision_loss)] // memory and connection counts as ratios
fn settle(rss_before: u64, connections: usize, started: Instant) -> Settle {
    let connect_seconds = started.elapsed().as_secs_f64();
    // Let buffers of the connection phase go idle before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let rss_after = rss_kib();
    Settle {
        connections,
        connect_seconds,
        kib_per_connection: rss_after.saturating_sub(rss_before) as f64 / connections as f64,
    }
}

#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn ours(port: u16, n: usize, publishers: usize, rate: u64, seconds: u64) {
    use transport_smol::{Client, QoS};
    let url = format!("mqtt://127.0.0.1:{port}");
    let ex = Rc::new(smol::LocalExecutor::new());
    let run = ex.clone();
    smol::block_on(run.run(async move {
        let rss_before = rss_kib();
        let started = Instant::now();
        let mut clients = Vec::with_capacity(n);
        let mut inboxes = Vec::with_capacity(n);
        for batch in (0..n).collect::<Vec<_>>().chunks(BATCH) {
            let mut tokens = Vec::new();
            for &i in batch {
                let client = Client::builder(&url)
                    .client_id(&format!("scale-{i}"))
                    .retry_first_connection(true)
                    .build()
                    .expect("build");
                let (token, inbox) = client
                    .subscribe_channel(&format!("scale/{i}"), QoS::AtLeastOnce, 1)
                    .expect("subscribe");
                let driver = client.clone();
                ex.spawn(async move { driver.run().await }).detach();
                tokens.push(token);
                clients.push(client);
                inboxes.push(inbox);
            }
            for token in tokens {
                token.wait(Duration::from_secs(60)).await.expect("suback");
            }
        }
        let idle = settle(rss_before, clients.len(), started);
        println!(
            "ours {} {:.2} {:.1}",
            idle.connections, idle.connect_seconds, idle.kib_per_connection
        );
        if publishers == 0 || seconds == 0 {
            return;
        }
        // Publisher i sends to the topic of connection n-1-i; its receiver records sequence
        // numbers.
        let per_publisher = rate * seconds;
        let received: Rc<RefCell<Vec<HashSet<u64>>>> =
            Rc::new(RefCell::new(vec![HashSet::new(); publishers]));
        let mut receivers = Vec::new();
        for i in 0..publishers {
            let inbox = inboxes[n - 1 - i].clone();
            let received = received.clone();
            receivers.push(ex.spawn(async move {
                while let Ok(m) = inbox.recv().await {
                    if let Some(k) = m.payload_str().and_then(|p| p.parse().ok()) {
                        received.borrow_mut()[i].insert(k);
                    }
                    if received.borrow()[i].len() as u64 >= per_publisher {
                        break;
                    }
                }
            }));
        }
        let phase = Instant::now();
        let mut senders = Vec::new();
        for client in clients.iter().take(publishers) {
            let client = client.clone();
            let topic = format!("scale/{}", n - 1 - senders.len());
            senders.push(ex.spawn(async move {
                for k in 0..per_publisher {
                    smol::Timer::at(phase + Duration::from_millis(k * 1000 / rate)).await;
                    client
                        .publish(&topic, k.to_string(), QoS::AtLeastOnce)
                        .await
                        .expect("publish");
                }
            }));
        }
        for s in senders {
            s.await;
        }
        let drained = smol::future::or(
            async {
                for r in receivers {
                    r.await;
                }
                true
            },
            async {
                smol::Timer::after(Duration::from_secs(30)).await;
                false
            },
        )
        .await;
        let got: usize = received.borrow().iter().map(HashSet::len).sum();
        let sent = per_publisher as usize * publishers;
        println!(
            "phase {publishers} {rate} {seconds} {sent} {got} {:.1} {drained}",
            phase.elapsed().as_secs_f64()
        );
    }));
}

fn rumqttc_idle(port: u16, n: usize) {
    use rumqttc::{AsyncClient, MqttOptions, QoS};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let rss_before = rss_kib();
        let started = Instant::now();
        let mut clients = Vec::with_capacity(n);
        for batch in (0..n).collect::<Vec<_>>().chunks(BATCH) {
            let mut subscribed = Vec::new();
            for &i in batch {
                let options = MqttOptions::new(format!("scale-r-{i}"), "127.0.0.1", port);
                let (client, mut eventloop) = AsyncClient::new(options, 10);
                client
                    .subscribe(format!("scale/r/{i}"), QoS::AtLeastOnce)
                    .await
                    .expect("subscribe");
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio::spawn(async move {
                    let mut tx = Some(tx);
                    loop {
                        match eventloop.poll().await {
                            Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                                if let Some(tx) = tx.take() {
                                    let _ = tx.send(());
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                eprintln!("rumqttc: {e}");
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                    }
                });
                subscribed.push(rx);
                clients.push(client);
            }
            for rx in subscribed {
                let _ = rx.await;
            }
        }
        let idle = settle(rss_before, clients.len(), started);
        println!(
            "rumqttc {} {:.2} {:.1}",
            idle.connections, idle.connect_seconds, idle.kib_per_connection
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let n: usize = arg(&args, "--connections").unwrap_or(if quick { 1_000 } else { 5_000 });
    let publishers: usize = arg(&args, "--publishers").unwrap_or(if quick { 200 } else { 1_000 });
    let rate: u64 = arg(&args, "--rate").unwrap_or(10);
    let seconds: u64 = arg(&args, "--seconds").unwrap_or(if quick { 10 } else { 60 });
    raise_file_limit(2 * n as u64 + 1_000);
    if let Some(client) = args
        .iter()
        .position(|a| a == "--child")
        .and_then(|i| args.get(i + 1))
    {
        let port: u16 = arg(&args, "--port").expect("--port");
        match client.as_str() {
            "ours" => ours(port, n, publishers.min(n / 2), rate, seconds),
            "rumqttc" => rumqttc_idle(port, n),
            other => panic!("unknown client {other}"),
        }
        return;
    }
    let (mut broker, port, dir) = benches::start_mosquitto("scale", &["max_queued_messages 0"]);
    let exe = std::env::current_exe().expect("exe");
    println!(
        "scale through mosquitto on 127.0.0.1: {n} connections on one executor thread, \
         each subscribed to its own topic; then {publishers} publish QoS 1 at {rate} msg/s for {seconds} s"
    );
    let mut idle = Vec::new();
    for client in ["ours", "rumqttc"] {
        let out = Command::new(&exe)
            .args(args.iter().skip(1))
            .args(["--child", client, "--port", &port.to_string()])
            .output()
            .expect("child");
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            eprintln!("{client} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [name, conns, secs, kib] => {
                    println!("{name}: {conns} connections in {secs} s, {kib} KiB resident per idle connection");
                    idle.push(kib.parse::<f64>().unwrap_or(f64::NAN));
                }
                ["phase", senders, rate, secs, sent, got, took, drained] => println!(
                    "ours: {senders} publishers × {rate} msg/s × {secs} s: sent {sent}, received {got} \
                     (lost {}), phase {took} s{}",
                    sent.parse::<i64>().unwrap_or(0) - got.parse::<i64>().unwrap_or(0),
                    if *drained == "true" {
                        ""
                    } else {
                        ", NOT all received within 30 s"
                    }
                ),
                _ => println!("{line}"),
            }
        }
    }
    if let [ours, rumqttc] = idle.as_slice() {
        println!(
            "idle memory per connection, ours / rumqttc: {:.2}× ({ours:.1} / {rumqttc:.1} KiB)",
            ours / rumqttc
        );
    }
    let _ = broker.kill();
    let _ = broker.wait();
    let _ = std::fs::remove_dir_all(dir);
}
