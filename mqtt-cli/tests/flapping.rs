//! `mqtt pub -l` and `mqtt sub` with persistent sessions through a seeded fault proxy that
//! aborts every connection about every 100 ms: every line arrives, QoS 2 exactly once.

#[path = "../../transport-std/tests/broker/mod.rs"]
mod broker;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use broker::fault_proxy::{FaultPlan, FaultProxy};
use broker::{Broker, BrokerConfig};

const LINES: u64 = 20_000;
const RATE: u64 = 2_000;

/// Spawns `mqtt` with `-d`; returns the child and a channel of its stderr lines.
fn spawn(args: &[&str], stdin: bool) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqtt"))
        .args(args)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mqtt");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                // Nobody listens any more: keep draining so the child never blocks.
            }
        }
    });
    (child, rx)
}

fn wait_for(rx: &mpsc::Receiver<String>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if rx.recv_timeout(left).expect("stderr line").contains(needle) {
            return;
        }
    }
    panic!("never saw {needle:?}");
}

fn flapping_run(qos: &str, seed: u64) {
    let b = Broker::start(BrokerConfig {
        // Messages for the subscriber wait while it is offline; mosquitto's default keeps 1000.
        extra: vec!["max_queued_messages 0".into()],
        ..BrokerConfig::default()
    });
    let proxy =
        FaultProxy::start_disarmed(b.port, FaultPlan::aborts(seed, Duration::from_millis(100)));
    let port = proxy.port.to_string();
    let topic = format!("flap/qos{qos}");
    let common = [
        "-h",
        "127.0.0.1",
        "-p",
        port.as_str(),
        "-q",
        qos,
        "-c",
        "-d",
    ];
    let sub_id = format!("flap-sub-{qos}");
    let mut sub_args = vec!["sub", "-t", topic.as_str(), "-i", sub_id.as_str()];
    sub_args.extend_from_slice(&common);
    let (mut sub, sub_log) = spawn(&sub_args, false);
    wait_for(&sub_log, "Subscribed");
    let pub_id = format!("flap-pub-{qos}");
    let mut pub_args = vec!["pub", "-l", "-t", topic.as_str(), "-i", pub_id.as_str()];
    pub_args.extend_from_slice(&common);
    let (mut publisher, pub_log) = spawn(&pub_args, true);
    wait_for(&pub_log, "Connected");

    let (lines_tx, lines_rx) = mpsc::channel();
    let stdout = sub.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    proxy.arm();
    let started = Instant::now();
    let mut stdin = publisher.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        // 2,000 lines a second, 20 every 10 ms on an absolute schedule.
        for batch in 0..LINES / 20 {
            let due = started + Duration::from_millis(batch * 20 * 1_000 / RATE);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let mut text = String::new();
            for n in batch * 20..batch * 20 + 20 {
                text.push_str(&n.to_string());
                text.push('\n');
            }
            stdin
                .write_all(text.as_bytes())
                .expect("feed the publisher");
        }
        // Dropping stdin ends the input: `mqtt pub` then waits for the last acknowledgements.
    });
    let mut received: HashMap<u64, u32> = HashMap::new();
    let mut order_breaks = 0;
    let mut last = None;
    let deadline = started + Duration::from_secs(60);
    while (received.len() as u64) < LINES {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines_rx.recv_timeout(left) else {
            break;
        };
        let n: u64 = line.trim().parse().expect("a number per line");
        *received.entry(n).or_default() += 1;
        if last.is_some_and(|l| n < l) && received[&n] == 1 {
            order_breaks += 1;
        }
        last = Some(n);
    }
    let took = started.elapsed();
    proxy.calm();
    feeder.join().expect("feeder");
    let faults = proxy.faults();
    let injected = proxy.injected();
    let connections = proxy.connections();
    let duplicates: u32 = received.values().map(|c| c - 1).sum();
    let missing = LINES - received.len() as u64;
    let status = wait_exit(&mut publisher, Duration::from_secs(30));
    let _ = sub.kill();
    println!(
        "flapping qos{qos} seed {seed}: lines {LINES} received {} missing {missing} duplicated {duplicates} \
         out-of-order {order_breaks} faults {injected} (hitting a connection {faults}) connections {connections} seconds {:.1} publisher exit {status:?}",
        received.len(),
        took.as_secs_f64()
    );
    assert_eq!(missing, 0, "lost lines; faults:\n{}", proxy.describe());
    if qos == "2" {
        assert_eq!(duplicates, 0, "QoS 2 delivered twice");
    }
    assert!(faults >= 10, "only {faults} faults hit a connection");
    assert_eq!(
        status,
        Some(0),
        "the publisher reports every line acknowledged"
    );
    // The input alone takes 10 s; the bound is 20 s.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

#[test]
fn qos1_lines_survive_a_connection_abort_every_100_ms() {
    flapping_run("1", 0x5EED_0001);
}

#[test]
fn qos2_lines_arrive_exactly_once_through_aborts_every_100_ms() {
    flapping_run("2", 0x5EED_0002);
}
