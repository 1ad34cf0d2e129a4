//! Publish/subscribe through a real mosquitto: QoS 0/1/2 in both protocol versions, retained
//! messages, max QoS downgrade, handlers that publish, shared subscriptions, the event stream.

mod broker;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use broker::{collector, wait_until, Broker, BrokerConfig, T};
use transport_std::{Client, Event, ProtocolVersion, QoS, ReasonCode};

fn client(broker: &Broker, id: &str, version: ProtocolVersion) -> Client {
    Client::builder(&broker.url())
        .client_id(id)
        .protocol(version)
        .build()
        .expect("build")
}

#[test]
fn qos_0_1_2_round_trips_in_both_versions() {
    let broker = Broker::start(BrokerConfig::default());
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let sub = client(&broker, &format!("sub-{version:?}"), version);
        let (got, handler) = collector();
        let token = sub
            .subscribe(&format!("rt/{version:?}/#"), QoS::ExactlyOnce, handler)
            .expect("subscribe");
        sub.connect().expect("connect");
        assert_eq!(token.wait(T).expect("suback"), [Ok(QoS::ExactlyOnce)]);
        let publisher = client(&broker, &format!("pub-{version:?}"), version);
        publisher.connect().expect("connect");
        for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .enumerate()
        {
            let token = publisher
                .publish(&format!("rt/{version:?}/{i}"), format!("payload {i}"), qos)
                .expect("publish");
            assert_eq!(token.wait(T).expect("ack"), ReasonCode::Success);
        }
        assert!(
            wait_until(T, || got.lock().expect("lock").len() == 3),
            "{version:?}: {:?}",
            got.lock().expect("lock").len()
        );
        let got = got.lock().expect("lock");
        for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .enumerate()
        {
            let m = got
                .iter()
                .find(|m| m.topic() == format!("rt/{version:?}/{i}"))
                .expect("received");
            assert_eq!(
                (m.qos(), m.payload_str()),
                (qos, Some(format!("payload {i}").as_str()))
            );
        }
        sub.disconnect(T).expect("disconnect");
        publisher.disconnect(T).expect("disconnect");
    }
}

#[test]
fn retained_message_is_delivered_to_a_later_subscriber() {
    let broker = Broker::start(BrokerConfig::default());
    let publisher = client(&broker, "retainer", ProtocolVersion::V5);
    publisher.connect().expect("connect");
    publisher
        .publish_retained("status/door", "open", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    let sub = client(&broker, "late", ProtocolVersion::V311);
    let (got, handler) = collector();
    sub.subscribe("status/#", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect");
    assert!(wait_until(T, || !got.lock().expect("lock").is_empty()));
    let m = got.lock().expect("lock")[0].clone();
    assert_eq!(
        (m.topic(), m.payload_str(), m.retain()),
        ("status/door", Some("open"), true)
    );
}

#[test]
fn max_qos_of_the_subscription_downgrades_delivery() {
    let broker = Broker::start(BrokerConfig::default());
    let sub = client(&broker, "sub", ProtocolVersion::V5);
    let (got, handler) = collector();
    let token = sub
        .subscribe("down/#", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect");
    assert_eq!(token.wait(T).expect("suback"), [Ok(QoS::AtLeastOnce)]);
    let publisher = client(&broker, "pub", ProtocolVersion::V5);
    publisher.connect().expect("connect");
    publisher
        .publish("down/x", "q2", QoS::ExactlyOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    assert!(wait_until(T, || !got.lock().expect("lock").is_empty()));
    assert_eq!(got.lock().expect("lock")[0].qos(), QoS::AtLeastOnce);
}

#[test]
fn handler_that_publishes_does_not_deadlock() {
    let broker = Broker::start(BrokerConfig::default());
    let echo = client(&broker, "echo", ProtocolVersion::V5);
    let replier = echo.clone();
    let waited_in_handler = Arc::new(AtomicUsize::new(0));
    let w = waited_in_handler.clone();
    let echo_requests_subscribed = echo
        .subscribe("ping", QoS::AtLeastOnce, move |m| {
            let token = replier
                .publish("pong", m.payload_bytes(), QoS::AtLeastOnce)
                .expect("publish from a handler");
            // Waiting here would block the thread that receives the PUBACK: refused, not hung.
            if matches!(
                token.wait(Duration::from_secs(1)),
                Err(transport_std::Error::WaitInHandler)
            ) {
                w.fetch_add(1, Ordering::SeqCst);
            }
        })
        .expect("subscribe");
    let pongs = Arc::new(AtomicUsize::new(0));
    let p = pongs.clone();
    let echo_replies_subscribed = echo
        .subscribe("pong", QoS::AtLeastOnce, move |_| {
            p.fetch_add(1, Ordering::SeqCst);
        })
        .expect("subscribe");
    echo.connect().expect("connect");
    echo_requests_subscribed.wait(T).expect("suback");
    echo_replies_subscribed.wait(T).expect("suback");
    let pinger = client(&broker, "pinger", ProtocolVersion::V5);
    pinger.connect().expect("connect");
    for i in 0..50 {
        pinger
            .publish("ping", format!("{i}"), QoS::AtLeastOnce)
            .expect("publish");
    }
    assert!(
        wait_until(T, || pongs.load(Ordering::SeqCst) == 50),
        "pongs: {}",
        pongs.load(Ordering::SeqCst)
    );
    assert_eq!(waited_in_handler.load(Ordering::SeqCst), 50);
}

#[test]
fn shared_subscription_splits_a_stream_without_loss() {
    let broker = Broker::start(BrokerConfig::default());
    let (a_got, a_handler) = collector();
    let (b_got, b_handler) = collector();
    let a = client(&broker, "worker-a", ProtocolVersion::V5);
    let b = client(&broker, "worker-b", ProtocolVersion::V5);
    a.subscribe("$share/workers/jobs/#", QoS::AtLeastOnce, a_handler)
        .expect("subscribe");
    b.subscribe("$share/workers/jobs/#", QoS::AtLeastOnce, b_handler)
        .expect("subscribe");
    a.connect().expect("connect");
    b.connect().expect("connect");
    // Both SUBACKs are in once each client has answered a round trip.
    let probe = client(&broker, "probe", ProtocolVersion::V5);
    probe.connect().expect("connect");
    std::thread::sleep(Duration::from_millis(200));
    let publisher = client(&broker, "producer", ProtocolVersion::V5);
    publisher.connect().expect("connect");
    let tokens: Vec<_> = (0..100)
        .map(|i| {
            publisher
                .publish(&format!("jobs/{i}"), format!("{i}"), QoS::AtLeastOnce)
                .expect("publish")
        })
        .collect();
    for t in tokens {
        t.wait(T).expect("ack");
    }
    let payloads = |got: &std::sync::Mutex<Vec<transport_std::Message>>| -> BTreeSet<String> {
        got.lock()
            .expect("lock")
            .iter()
            .map(|m| m.payload_str().unwrap_or_default().to_string())
            .collect()
    };
    assert!(wait_until(T, || payloads(&a_got).len()
        + payloads(&b_got).len()
        >= 100));
    let (pa, pb) = (payloads(&a_got), payloads(&b_got));
    let all: BTreeSet<String> = pa.union(&pb).cloned().collect();
    assert_eq!(all.len(), 100, "nothing lost");
    assert!(
        !pa.is_empty() && !pb.is_empty(),
        "both consumers got work: {} / {}",
        pa.len(),
        pb.len()
    );
}

#[test]
fn broker_assigned_client_id() {
    let broker = Broker::start(BrokerConfig::default());
    let c = Client::builder(&broker.url()).build().expect("build");
    let connected = c.connect().expect("connect");
    assert!(!connected.client_id.is_empty(), "mosquitto assigns an id");
    assert_eq!(c.client_id(), connected.client_id.as_str());
    let v3 = Client::builder(&broker.url())
        .protocol(ProtocolVersion::V311)
        .build()
        .expect("build");
    v3.connect()
        .expect("3.1.1 with an empty id and a clean session is accepted");
}

#[test]
fn event_stream_and_manual_acks() {
    let broker = Broker::start(BrokerConfig::default());
    let c = Client::builder(&broker.url())
        .client_id("full")
        .manual_acks(true)
        .build()
        .expect("build");
    let events = c.events(64);
    let subscribed = c
        .subscribe_many(vec![transport_std::Subscription::new(
            "ev/#".try_into().expect("filter"),
            QoS::AtLeastOnce,
        )])
        .expect("subscribe");
    c.connect().expect("connect");
    // The SUBSCRIBE goes out after CONNACK: publishing before its SUBACK could reach the
    // broker first (once in CI, the message then went to nobody).
    subscribed.wait(T).expect("suback");
    let publisher = client(&broker, "ev-pub", ProtocolVersion::V5);
    publisher.connect().expect("connect");
    publisher
        .publish("ev/1", "hello", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    let mut seen_connected = false;
    let message = loop {
        match events.recv_timeout(T).expect("event") {
            Event::Connected(_) => seen_connected = true,
            Event::Message(d) => break d,
            _ => {}
        }
    };
    assert!(seen_connected);
    assert_eq!(message.topic(), "ev/1");
    assert!(
        message.ack_token().is_some(),
        "manual-ack mode hands out a token"
    );
    c.ack(&transport_std::Message::from(message));
    c.disconnect(T).expect("disconnect");
}

/// Publishes made while the connection is busy are gathered for the writer thread, woken once
/// a batch; the last of a burst must still leave at once, with nothing after it to carry it.
/// The publisher gathers for 20 ms, so that the burst surely falls in the window.
#[test]
fn the_last_publishes_of_a_gathered_burst_leave_without_waiting_for_more() {
    const BURST: usize = 50;
    let broker = Broker::start(BrokerConfig::default());
    let sub = client(&broker, "gather-sub", ProtocolVersion::V311);
    let (got, handler) = collector();
    let token = sub
        .subscribe("gather/#", QoS::AtMostOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect");
    token.wait(T).expect("suback");
    let publisher = Client::builder(&broker.url())
        .client_id("gather-pub")
        .write_gathering(Duration::from_millis(20))
        .build()
        .expect("build");
    publisher.connect().expect("connect");
    for i in 0..BURST {
        publisher
            .publish(&format!("gather/{i}"), "x", QoS::AtMostOnce)
            .expect("publish");
    }
    // Far shorter than the keep-alive, whose PINGREQ would carry anything left queued.
    assert!(
        wait_until(Duration::from_secs(5), || got.lock().expect("lock").len()
            >= BURST),
        "received {} of {BURST}",
        got.lock().expect("lock").len()
    );
}

/// A topic or filter that breaks a rule of MQTT 4.7 is refused when the call builds its
/// `TopicName` / `TopicFilter` — the engine's `Invalid` error naming the rule, before any wait
/// or send — no handler is left for the refused filter, and the client carries on.
#[test]
fn a_broken_topic_or_filter_is_refused_with_its_rule_and_the_client_carries_on() {
    use mqtt_proto::EncodeError;
    use transport_std::Error;

    let broker = Broker::start(BrokerConfig::default());
    let c = client(&broker, "broken-names", ProtocolVersion::V5);
    let (refused_got, refused_handler) = collector();
    let refused = c.subscribe("names/#/x", QoS::AtLeastOnce, refused_handler);
    assert!(
        matches!(
            refused,
            Err(Error::Engine(mqtt_engine::Error::Invalid(
                EncodeError::InvalidTopicFilter
            )))
        ),
        "{:?}",
        refused.err()
    );
    let (got, handler) = collector();
    c.subscribe("names/+/x", QoS::AtLeastOnce, handler)
        .expect("a valid filter");
    c.connect().expect("connect");
    for (topic, rule) in [
        ("names/+/x", EncodeError::WildcardInTopicName),
        ("names/#", EncodeError::WildcardInTopicName),
        ("names/\0", EncodeError::NullCharacter),
        ("", EncodeError::EmptyTopicName),
    ] {
        let r = c.publish(topic, "no", QoS::AtLeastOnce);
        assert!(
            matches!(&r, Err(Error::Engine(mqtt_engine::Error::Invalid(e))) if *e == rule),
            "{topic:?}: {:?}",
            r.err()
        );
    }
    c.publish("names/a/x", "yes", QoS::AtLeastOnce)
        .expect("a valid topic")
        .wait(T)
        .expect("acknowledged");
    assert!(wait_until(T, || got.lock().expect("lock").len() == 1));
    let m = got.lock().expect("lock")[0].clone();
    assert_eq!((m.topic(), m.payload_str()), ("names/a/x", Some("yes")));
    assert!(refused_got.lock().expect("lock").is_empty());
}
