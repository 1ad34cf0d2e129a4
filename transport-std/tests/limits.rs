//! MQTT 5 limits announced by mosquitto in CONNACK, honoured by the client.

mod broker;

use std::collections::BTreeSet;

use broker::{collector, wait_until, Broker, BrokerConfig, T};
use transport_std::{Client, Error, QoS};

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
