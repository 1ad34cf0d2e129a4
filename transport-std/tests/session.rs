//! Sessions and faults against a real mosquitto: offline delivery to a persistent session,
//! broker restart mid-stream, last will, address failover, a restarted process resending
//! from its session file.

mod broker;

use std::collections::BTreeSet;
use std::time::Duration;

use broker::{collector, wait_until, Broker, BrokerConfig, Proxy, TempDir, T};
use transport_std::{Client, ProtocolVersion, QoS, ReconnectPolicy};

fn fast_reconnect() -> ReconnectPolicy {
    ReconnectPolicy {
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
        stable_after: Duration::from_secs(5),
    }
}

#[test]
fn persistent_session_receives_what_was_published_while_offline() {
    let broker = Broker::start(BrokerConfig::default());
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let id = format!("offline-{version:?}");
        let topic = format!("inbox/{version:?}");
        let first = Client::builder(&broker.url())
            .client_id(&id)
            .protocol(version)
            .clean_session(false)
            .build()
            .expect("build");
        let token = first
            .subscribe(&format!("{topic}/#"), QoS::ExactlyOnce, |_| {})
            .expect("subscribe");
        first.connect().expect("connect");
        token.wait(T).expect("suback");
        first.disconnect(T).expect("disconnect");

        let publisher = Client::builder(&broker.url())
            .client_id(&format!("p-{version:?}"))
            .protocol(version)
            .build()
            .expect("build");
        publisher.connect().expect("connect");
        publisher
            .publish(
                &format!("{topic}/1"),
                "while you were out (QoS 1)",
                QoS::AtLeastOnce,
            )
            .expect("publish")
            .wait(T)
            .expect("ack");
        publisher
            .publish(
                &format!("{topic}/2"),
                "while you were out (QoS 2)",
                QoS::ExactlyOnce,
            )
            .expect("publish")
            .wait(T)
            .expect("ack");

        // Same id, persistent session, handler registered before connecting.
        let again = Client::builder(&broker.url())
            .client_id(&id)
            .protocol(version)
            .clean_session(false)
            .build()
            .expect("build");
        let (got, handler) = collector();
        again.on_message(handler);
        let connected = again.connect().expect("reconnect");
        assert!(connected.session_present);
        assert!(
            wait_until(T, || got.lock().expect("lock").len() == 2),
            "{version:?}"
        );
        let got = got.lock().expect("lock");
        let qos: Vec<QoS> = got.iter().map(transport_std::Message::qos).collect();
        assert_eq!(qos, [QoS::AtLeastOnce, QoS::ExactlyOnce]);
    }
}

#[test]
fn broker_restart_mid_stream_loses_no_qos1_or_qos2_message() {
    let mut broker = Broker::start(BrokerConfig {
        persistence: true,
        ..Default::default()
    });
    let build = |id: &str| {
        Client::builder(&broker.url())
            .client_id(id)
            .clean_session(false)
            .reconnect(fast_reconnect())
            .build()
            .expect("build")
    };
    let sub = build("stream-sub");
    let (got, handler) = collector();
    let token = sub
        .subscribe("stream/#", QoS::ExactlyOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect");
    token.wait(T).expect("suback");
    let publisher = build("stream-pub");
    publisher.connect().expect("connect");
    let mut tokens = Vec::new();
    for i in 0..200 {
        let qos = if i % 2 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        tokens.push(
            publisher
                .publish(&format!("stream/{i}"), format!("{i}"), qos)
                .expect("publish"),
        );
        if i == 100 {
            broker.restart();
        }
    }
    for t in &tokens {
        t.wait(Duration::from_secs(30))
            .expect("every publish completes after the restart");
    }
    let received = || -> BTreeSet<String> {
        got.lock()
            .expect("lock")
            .iter()
            .map(|m| m.payload_str().unwrap_or_default().to_string())
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(30), || received().len() == 200),
        "received {} of 200",
        received().len()
    );
}

#[test]
fn last_will_is_published_when_the_connection_dies() {
    let broker = Broker::start(BrokerConfig::default());
    let watcher = Client::builder(&broker.url())
        .client_id("watcher")
        .build()
        .expect("build");
    let (got, handler) = collector();
    let token = watcher
        .subscribe("status/#", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    watcher.connect().expect("connect");
    token.wait(T).expect("suback");
    let device = Client::builder(&broker.url())
        .client_id("device-7")
        .last_will("status/device-7", "offline", QoS::AtLeastOnce, false)
        .build()
        .expect("build");
    device.connect().expect("connect");
    std::thread::sleep(Duration::from_millis(100));
    device.abort();
    assert!(
        wait_until(T, || !got.lock().expect("lock").is_empty()),
        "will received"
    );
    assert_eq!(got.lock().expect("lock")[0].payload_str(), Some("offline"));

    // A graceful disconnect discards the will.
    let polite = Client::builder(&broker.url())
        .client_id("device-8")
        .last_will("status/device-8", "offline", QoS::AtLeastOnce, false)
        .build()
        .expect("build");
    polite.connect().expect("connect");
    polite.disconnect(T).expect("disconnect");
    std::thread::sleep(Duration::from_millis(300));
    assert!(got
        .lock()
        .expect("lock")
        .iter()
        .all(|m| m.topic() != "status/device-8"));
}

#[test]
fn next_address_is_tried_when_the_first_is_down() {
    let broker = Broker::start(BrokerConfig::default());
    let dead = broker::free_port();
    let c = Client::builder(&format!("mqtt://127.0.0.1:{dead}"))
        .address(&broker.url())
        .reconnect(fast_reconnect())
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("build");
    c.start_background().expect("start");
    c.wait_connected(T)
        .expect("connected through the second address");
}

#[test]
fn reconnects_after_the_connection_is_cut_and_resumes_the_session() {
    let broker = Broker::start(BrokerConfig::default());
    let proxy = Proxy::start(broker.port);
    let c = Client::builder(&proxy.url())
        .client_id("cut-me")
        .clean_session(false)
        .reconnect(fast_reconnect())
        .build()
        .expect("build");
    let (got, handler) = collector();
    let token = c
        .subscribe("cut/#", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    c.connect().expect("connect");
    token.wait(T).expect("suback");
    proxy.cut();
    let publisher = Client::builder(&broker.url())
        .client_id("cut-pub")
        .build()
        .expect("build");
    publisher.connect().expect("connect");
    publisher
        .publish("cut/1", "after the cut", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    assert!(
        wait_until(T, || !got.lock().expect("lock").is_empty()),
        "delivered after reconnecting"
    );
    assert!(c.is_connected());
}

#[test]
fn restarted_process_resends_from_its_session_file() {
    let broker = Broker::start(BrokerConfig::default());
    let proxy = Proxy::start(broker.port);
    let dir = TempDir::new("filestore");
    let file = dir.path("session.log");
    let sub = Client::builder(&broker.url())
        .client_id("fs-sub")
        .build()
        .expect("build");
    let (got, handler) = collector();
    let token = sub
        .subscribe("fs/#", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect");
    token.wait(T).expect("suback");

    // First process: connected through a path that goes dead, so the PUBLISH never arrives.
    let first = Client::builder(&proxy.url())
        .client_id("fs-pub")
        .clean_session(false)
        .persistence(&file)
        .build()
        .expect("build");
    first.connect().expect("connect");
    proxy.stall();
    let token = first
        .publish("fs/1", "survives a crash", QoS::AtLeastOnce)
        .expect("publish");
    assert!(
        token.wait(Duration::from_millis(300)).is_err(),
        "no PUBACK through the dead path"
    );
    first.abort(); // the process "crashes"
    drop(token);
    drop(first);
    assert!(got.lock().expect("lock").is_empty());

    // Second process: same session file, same client id, direct connection.
    let second = Client::builder(&broker.url())
        .client_id("fs-pub")
        .clean_session(false)
        .persistence(&file)
        .build()
        .expect("build");
    second.connect().expect("connect");
    assert!(
        wait_until(T, || !got.lock().expect("lock").is_empty()),
        "resent from the session file"
    );
    let m = got.lock().expect("lock")[0].clone();
    assert_eq!(m.payload_str(), Some("survives a crash"));
}

#[test]
fn qos0_publishing_blocks_on_a_slow_network_instead_of_buffering_without_bound() {
    let broker = Broker::start(BrokerConfig::default());
    let proxy = Proxy::start(broker.port);
    let c = Client::builder(&proxy.url())
        .client_id("slow-net-std")
        .build()
        .expect("build");
    c.connect().expect("connect");
    proxy.freeze();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (publisher, count) = (c.clone(), accepted.clone());
    std::thread::spawn(move || {
        let payload = vec![0u8; 64 * 1024];
        for _ in 0..100_000 {
            if publisher
                .publish("slow/x", payload.as_slice(), QoS::AtMostOnce)
                .is_err()
            {
                return;
            }
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    std::thread::sleep(Duration::from_secs(2));
    let first = accepted.load(std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    let second = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        first, second,
        "publish keeps returning while nothing can be written"
    );
    assert!(first < 100_000, "{first} messages of 64 KiB accepted");
    c.abort();
}

/// Under load the driver gathers its acknowledgements for a moment and writes them together;
/// none may stay behind when the input stops. A persistent subscriber that gathers for 20 ms
/// (so that the last acknowledgements of a burst surely wait) takes a burst and, a moment
/// later, its process "crashes" (`abort`: whatever is still queued is dropped); the next
/// process resumes the session and the broker has nothing to send again, so every PUBACK,
/// the last ones included, had reached it.
#[test]
fn every_acknowledgement_of_a_burst_reaches_the_broker_the_last_ones_too() {
    const BURST: usize = 300;
    let broker = Broker::start(BrokerConfig {
        extra: vec!["max_queued_messages 0".into()],
        ..BrokerConfig::default()
    });
    let subscriber = || {
        Client::builder(&broker.url())
            .client_id("burst-sub")
            .clean_session(false)
            .write_gathering(Duration::from_millis(20))
            .build()
            .expect("build")
    };
    let (got, handler) = collector();
    let handler = std::sync::Arc::new(handler);
    let first = subscriber();
    let h = handler.clone();
    let token = first
        .subscribe("burst/#", QoS::AtLeastOnce, move |m| h(m))
        .expect("subscribe");
    first.connect().expect("connect");
    token.wait(T).expect("suback");
    let publisher = Client::builder(&broker.url())
        .client_id("burst-pub")
        .build()
        .expect("build");
    publisher.connect().expect("connect");
    for i in 0..BURST {
        publisher
            .publish(&format!("burst/{i}"), "x", QoS::AtLeastOnce)
            .expect("publish");
    }
    assert!(
        wait_until(T, || got.lock().expect("lock").len() >= BURST),
        "burst delivered"
    );
    // Far longer than the driver gathers, far shorter than the keep-alive (whose PINGREQ
    // would carry anything left queued).
    std::thread::sleep(Duration::from_millis(300));
    first.abort();
    drop(first);
    let second = subscriber();
    second.on_message(move |m| handler(m));
    second.connect().expect("connect");
    // Anything sent again on the resumed session comes before this marker.
    publisher
        .publish("burst/marker", "end", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    assert!(
        wait_until(T, || got.lock().expect("lock").len() > BURST),
        "marker delivered to the resumed session"
    );
    let topics: Vec<String> = got
        .lock()
        .expect("lock")
        .iter()
        .map(|m| m.topic().to_string())
        .collect();
    let unique: BTreeSet<&String> = topics.iter().collect();
    assert_eq!(
        topics.len() - unique.len(),
        0,
        "messages sent again to the resumed session: their PUBACK never left"
    );
    assert_eq!(topics.last().map(String::as_str), Some("burst/marker"));
}
