//! Crash recovery with the session file: a child process publishes numbered QoS 1 / QoS 2
//! messages through `SessionStore` and is killed with `SIGKILL` at random (seeded) moments,
//! over and over, then restarted with the same file and client id. The subscriber checks that
//! every message whose `publish` call returned arrives, and that no QoS 2 message arrives
//! twice.

mod broker;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use broker::{Broker, BrokerConfig, TempDir, T};
use transport_std::{Client, QoS};

const KILLS: u32 = 20;

/// The child: publishes `life:n` for n = 0.. until killed (or `CRASH_COUNT` messages, then
/// a graceful disconnect), printing `n` once `publish` returned.
#[test]
#[ignore = "helper: run by the crash tests in a child process"]
fn crash_child_publisher() {
    let Ok(store) = std::env::var("CRASH_STORE") else {
        return;
    };
    let env = |k: &str| std::env::var(k).expect(k);
    let qos = if env("CRASH_QOS") == "2" {
        QoS::ExactlyOnce
    } else {
        QoS::AtLeastOnce
    };
    let count: u64 = env("CRASH_COUNT").parse().expect("count");
    let life = env("CRASH_LIFE");
    let client = Client::builder(&env("CRASH_URL"))
        .client_id(&format!("crash-pub-{}", env("CRASH_QOS")))
        .clean_session(false)
        .persistence(&store)
        .options(|o| o.max_inflight(10).max_queued(200))
        .build()
        .expect("build");
    client.connect().expect("connect");
    let mut out = std::io::stdout().lock();
    for n in 0..count {
        client
            .publish("crash/n", format!("{life}:{n}"), qos)
            .expect("publish");
        // Only now does the message count as published.
        std::io::Write::write_all(&mut out, format!("{n}\n").as_bytes()).expect("stdout");
    }
    client
        .disconnect(Duration::from_secs(30))
        .expect("disconnect");
}

/// Runs the publisher once; kills it after `kill_after` (or lets it finish). Returns the
/// messages whose `publish` returned, as `life:n`.
fn one_life(
    broker: &Broker,
    store: &std::path::Path,
    qos: &str,
    life: u32,
    kill_after: Option<Duration>,
) -> Vec<String> {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "crash_child_publisher",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CRASH_STORE", store)
        .env("CRASH_URL", broker.url())
        .env("CRASH_QOS", qos)
        .env("CRASH_LIFE", life.to_string())
        .env(
            "CRASH_COUNT",
            if kill_after.is_some() {
                "1000000"
            } else {
                "300"
            },
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the publisher");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !line.is_empty() && line.chars().all(|c| c.is_ascii_digit()) {
                let _ = tx.send(line);
            }
        }
    });
    if let Some(after) = kill_after {
        std::thread::sleep(after);
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    } else {
        let status = child.wait().expect("wait");
        assert!(status.success(), "the last life finishes cleanly");
    }
    let _ = reader.join();
    rx.try_iter().map(|n| format!("{life}:{n}")).collect()
}

/// One run: `KILLS` killed lives and a last one that finishes; returns what the subscriber got.
fn crash_run(qos: &str, seed: u64) {
    let broker = Broker::start(BrokerConfig {
        extra: vec!["max_queued_messages 0".into()],
        ..BrokerConfig::default()
    });
    let dir = TempDir::new("crash");
    let store = dir.path("session.log");
    let received: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let sub = Client::builder(&broker.url())
        .client_id(&format!("crash-sub-{qos}"))
        .clean_session(false)
        .build()
        .expect("build");
    let r = received.clone();
    let level = if qos == "2" {
        QoS::ExactlyOnce
    } else {
        QoS::AtLeastOnce
    };
    let token = sub
        .subscribe("crash/n", level, move |m| {
            *r.lock()
                .expect("lock")
                .entry(m.payload_str().unwrap_or_default().to_string())
                .or_default() += 1;
        })
        .expect("subscribe");
    sub.connect().expect("connect");
    token.wait(T).expect("suback");

    let mut rng = seed | 1;
    let mut returned: Vec<String> = Vec::new();
    for life in 0..=KILLS {
        // Killed 50–350 ms into the life: during connect, resends, steady publishing, fsyncs.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let kill_after = (life < KILLS).then(|| Duration::from_millis(50 + rng % 300));
        returned.extend(one_life(&broker, &store, qos, life, kill_after));
    }
    // Every returned publish arrives (at QoS 1 possibly twice; at QoS 2 exactly once).
    let deadline = Instant::now() + Duration::from_secs(30);
    let missing = loop {
        let got = received.lock().expect("lock");
        let missing: Vec<&String> = returned.iter().filter(|m| !got.contains_key(*m)).collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        drop(got);
        std::thread::sleep(Duration::from_millis(50));
    };
    let got = received.lock().expect("lock");
    let duplicated = got.values().filter(|c| **c > 1).count();
    println!(
        "crash qos{qos} seed {seed}: kills {KILLS}, publishes returned {}, received {} distinct, \
         missing {}, duplicated {duplicated}",
        returned.len(),
        got.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "lost after publish returned: {missing:?}"
    );
    if qos == "2" {
        assert_eq!(duplicated, 0, "QoS 2 delivered twice");
    }
    assert!(returned.len() > 300, "the killed lives published too");
    drop(got);
    let _ = sub.disconnect(T);
}

#[test]
fn qos1_publishes_that_returned_survive_20_sigkills() {
    crash_run("1", 0xC0FF_EE01);
}

#[test]
fn qos2_publishes_that_returned_survive_20_sigkills_exactly_once() {
    crash_run("2", 0xC0FF_EE02);
}
