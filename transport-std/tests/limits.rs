//! MQTT 5 limits announced by mosquitto in CONNACK, honoured by the client; our own maximum
//! packet size, which MQTT 3.1.1 cannot announce.

mod broker;

use std::collections::BTreeSet;

use broker::{collector, wait_until, Broker, BrokerConfig, T};
use transport_std::{Client, Error, Event, ProtocolVersion, QoS};

fn broker_with(lines: &[&str]) -> Broker {
    Broker::start(BrokerConfig {
        extra: lines.iter().map(|l| (*l).to_string()).collect(),
        ..Default::default()
    })
}

#[test]
fn receive_maximum_is_respected_under_load() {
    let broker = broker_with(&["max_inflight_messages 2"]);
    let c = Client::builder(&broker.url())
        .client_id("flow")
        .build()
        .expect("build");
    let connected = c.connect().expect("connect");
    assert_eq!(connected.properties.receive_maximum, Some(2));
    let tokens: Vec<_> = (0..200)
        .map(|i| {
            c.publish(
                &format!("flow/{i}"),
                vec![0u8; 100],
                if i % 2 == 0 {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                },
            )
        })
        .collect::<Result<_, _>>()
        .expect("queued");
    for t in tokens {
        assert!(t.wait(T).expect("completes").is_success());
    }
    assert!(
        c.is_connected(),
        "mosquitto never had to disconnect us for exceeding the quota"
    );
}

#[test]
fn maximum_packet_size_refuses_oversized_publish() {
    let broker = broker_with(&["max_packet_size 1000"]);
    let c = Client::builder(&broker.url()).build().expect("build");
    let connected = c.connect().expect("connect");
    assert_eq!(connected.properties.maximum_packet_size, Some(1000));
    match c.publish("big", vec![0u8; 2000], QoS::AtLeastOnce) {
        Err(Error::Engine(mqtt_engine::Error::PacketTooLarge { max: 1000, .. })) => {}
        other => panic!(
            "expected PacketTooLarge, got {:?}",
            other.map(|t| t.packet_id())
        ),
    }
    c.publish("small", vec![0u8; 500], QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("fits");
}

#[test]
fn retain_unavailable_and_maximum_qos() {
    let broker = broker_with(&["retain_available false", "max_qos 1"]);
    let c = Client::builder(&broker.url()).build().expect("build");
    let connected = c.connect().expect("connect");
    assert_eq!(connected.properties.retain_available, Some(false));
    assert!(matches!(
        c.publish_retained("r", "x", QoS::AtMostOnce),
        Err(Error::Engine(mqtt_engine::Error::RetainNotSupported))
    ));
    assert!(matches!(
        c.publish("q", "x", QoS::ExactlyOnce),
        Err(Error::Engine(mqtt_engine::Error::QoSNotSupported { .. }))
    ));
    c.publish("q", "x", QoS::AtLeastOnce)
        .expect("QoS 1 allowed")
        .wait(T)
        .expect("ack");
}

#[test]
fn topic_aliases_are_used_and_resolved() {
    let broker = broker_with(&["max_topic_alias 3"]);
    let sub = Client::builder(&broker.url())
        .client_id("alias-sub")
        .build()
        .expect("build");
    let (got, handler) = collector();
    let token = sub
        .subscribe("alias/#", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect");
    token.wait(T).expect("suback");
    let publisher = Client::builder(&broker.url())
        .client_id("alias-pub")
        .build()
        .expect("build");
    let connected = publisher.connect().expect("connect");
    assert_eq!(connected.properties.topic_alias_maximum, Some(3));
    // Five topics over three aliases, each sent several times.
    for round in 0..4 {
        for t in 0..5 {
            publisher
                .publish(
                    &format!("alias/topic-{t}"),
                    format!("{round}"),
                    QoS::AtLeastOnce,
                )
                .expect("publish")
                .wait(T)
                .expect("ack");
        }
    }
    assert!(wait_until(T, || got.lock().expect("lock").len() == 20));
    let topics: BTreeSet<String> = got
        .lock()
        .expect("lock")
        .iter()
        .map(|m| m.topic().to_string())
        .collect();
    assert_eq!(
        topics.len(),
        5,
        "every topic arrives under its full name: {topics:?}"
    );
}

/// MQTT 3.1.1 cannot tell mosquitto our maximum packet size: a larger message is acknowledged,
/// reported and dropped, and the persistent session goes on — the message after it arrives,
/// the connection stays up, and the next connection does not get the large one again.
#[test]
fn v311_a_message_over_our_maximum_is_skipped_and_the_session_goes_on() {
    let broker = Broker::start(BrokerConfig::default());
    let reader = || {
        Client::builder(&broker.url())
            .client_id("small-reader")
            .protocol(ProtocolVersion::V311)
            .clean_session(false)
            .options(|o| o.max_incoming_packet_size(16 * 1024))
            .build()
            .expect("build")
    };
    let sub = reader();
    let events = sub.events(64);
    let (got, handler) = collector();
    sub.subscribe("big/#", QoS::ExactlyOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect");
    let publisher = Client::builder(&broker.url())
        .client_id("big-writer")
        .build()
        .expect("build");
    publisher.connect().expect("connect");
    for (topic, size, qos) in [
        ("big/1", 200_000, QoS::AtLeastOnce),
        ("big/2", 100_000, QoS::ExactlyOnce),
        ("big/3", 10, QoS::AtLeastOnce),
    ] {
        publisher
            .publish(topic, vec![7u8; size], qos)
            .expect("publish")
            .wait(T)
            .expect("acknowledged by mosquitto");
    }
    assert!(
        wait_until(T, || got.lock().expect("lock").len() == 1),
        "the small message arrives"
    );
    assert_eq!(got.lock().expect("lock")[0].topic(), "big/3");
    let mut too_large = Vec::new();
    while let Ok(event) = events.recv_timeout(std::time::Duration::from_millis(300)) {
        match event {
            Event::MessageTooLarge { topic, size, .. } => {
                too_large.push((topic.as_str().to_owned(), size));
            }
            Event::Disconnected(reason) => panic!("the connection ended: {reason:?}"),
            _ => {}
        }
    }
    assert_eq!(
        too_large,
        [
            ("big/1".to_owned(), 1 + 3 + 2 + 5 + 2 + 200_000),
            ("big/2".to_owned(), 1 + 3 + 2 + 5 + 2 + 100_000)
        ]
    );
    sub.disconnect(T).expect("disconnect");

    // The session kept nothing of them: the next connection receives nothing.
    let again = reader();
    let events = again.events(64);
    let (got, handler) = collector();
    again
        .subscribe("big/#", QoS::ExactlyOnce, handler)
        .expect("subscribe");
    assert!(again.connect().expect("connect").session_present);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(got.lock().expect("lock").is_empty());
    assert!(!events
        .try_iter()
        .any(|e| matches!(e, Event::MessageTooLarge { .. })));
    again.disconnect(T).expect("disconnect");
}
