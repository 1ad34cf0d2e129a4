//! MQTT over WebSocket with the async client, against a real rumqttd: QoS 0/1/2 both ways, a
//! packet larger than a frame, `wss://` with certificates generated here, a persistent session
//! resumed over WebSocket, a refused upgrade, and a WebSocket connection cut mid-stream by the
//! test proxy with nothing lost.

#[path = "../../transport-std/tests/broker/mod.rs"]
mod broker;

use std::collections::BTreeSet;
use std::time::Duration;

use broker::fault_proxy::{FaultKind, FaultPlan, FaultProxy};
use broker::rumqttd::Rumqttd;
use broker::{Pki, Proxy, T};
use transport_smol::{Client, Error, ProtocolVersion, QoS, ReasonCode, TlsConfig};

fn ws_client(url: &str, id: &str) -> Client {
    Client::builder(url)
        .client_id(id)
        .protocol(ProtocolVersion::V311) // rumqttd's WebSocket listener speaks MQTT 3.1.1
        .build()
        .expect("build")
}

#[test]
fn qos_0_1_2_both_ways_and_a_packet_larger_than_a_frame() {
    let broker = Rumqttd::start(None);
    let url = broker.ws_url("/mqtt");
    smol::block_on(async {
        let sub = ws_client(&url, "aws-sub");
        let (token, messages) = sub
            .subscribe_channel("aws/#", QoS::ExactlyOnce, 64)
            .expect("subscribe");
        sub.connect().await.expect("connect over ws://");
        token.wait(T).await.expect("suback");
        let publisher = ws_client(&url, "aws-pub");
        publisher.connect().await.expect("connect over ws://");
        let big = vec![0xA5u8; 200 * 1024];
        for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .enumerate()
        {
            let token = publisher
                .publish(&format!("aws/{i}"), format!("payload {i}"), qos)
                .await
                .expect("publish");
            assert_eq!(token.wait(T).await.expect("ack"), ReasonCode::Success);
        }
        publisher
            .publish("aws/big", big.clone(), QoS::AtLeastOnce)
            .await
            .expect("publish")
            .wait(T)
            .await
            .expect("ack");
        let mut payloads = Vec::new();
        for _ in 0..4 {
            let m = smol::future::or(async { messages.recv().await.ok() }, async {
                smol::Timer::after(T).await;
                None
            })
            .await
            .expect("message");
            payloads.push((m.topic().to_string(), m.payload().to_vec()));
        }
        for i in 0..3 {
            assert!(payloads
                .iter()
                .any(|(t, p)| *t == format!("aws/{i}") && *p == format!("payload {i}").as_bytes()));
        }
        assert!(payloads.iter().any(|(t, p)| t == "aws/big" && *p == big));
        publisher.disconnect(T).await.expect("disconnect");
        sub.disconnect(T).await.expect("disconnect");
    });
}

#[test]
fn wss_verifies_the_broker_certificate() {
    let pki = Pki::generate();
    let broker = Rumqttd::start(Some(pki.broker_files(false)));
    let url = format!("wss://localhost:{}/mqtt", broker.ws_port);
    smol::block_on(async {
        let client = Client::builder(&url)
            .client_id("awss-ok")
            .protocol(ProtocolVersion::V311)
            .tls(
                TlsConfig::from_pem(&pki.ca_pem)
                    .expect("ca")
                    .client_cert(&pki.client_cert_pem, &pki.client_key_pem)
                    .expect("client cert"),
            )
            .build()
            .expect("build");
        client.connect().await.expect("connect over wss://");
        client
            .publish("awss/x", "over TLS", QoS::AtLeastOnce)
            .await
            .expect("publish")
            .wait(T)
            .await
            .expect("ack");
        client.disconnect(T).await.expect("disconnect");
        let untrusted = Client::builder(&url)
            .client_id("awss-untrusted")
            .protocol(ProtocolVersion::V311)
            .tls(
                TlsConfig::webpki_roots()
                    .client_cert(&pki.client_cert_pem, &pki.client_key_pem)
                    .expect("client cert"),
            )
            .build()
            .expect("build");
        match untrusted.connect().await {
            Err(Error::Tls(_)) => {}
            other => panic!("expected a TLS error, got {other:?}"),
        }
    });
}

#[test]
fn a_persistent_session_resumes_over_websocket() {
    let broker = Rumqttd::start(None);
    let url = broker.ws_url("/mqtt");
    smol::block_on(async {
        let build = || {
            Client::builder(&url)
                .client_id("aws-persistent")
                .protocol(ProtocolVersion::V311)
                .clean_session(false)
                .build()
                .expect("build")
        };
        let first = build();
        let (token, _messages) = first
            .subscribe_channel("aresume/#", QoS::AtLeastOnce, 16)
            .expect("subscribe");
        first.connect().await.expect("connect");
        token.wait(T).await.expect("suback");
        first.disconnect(T).await.expect("disconnect");
        let publisher = ws_client(&url, "aws-resume-pub");
        publisher.connect().await.expect("connect");
        for i in 0..5 {
            publisher
                .publish(
                    &format!("aresume/{i}"),
                    format!("stored {i}"),
                    QoS::AtLeastOnce,
                )
                .await
                .expect("publish")
                .wait(T)
                .await
                .expect("ack");
        }
        let again = build();
        let messages = again.messages(16);
        let connected = again.connect().await.expect("reconnect");
        assert!(connected.session_present, "the broker kept the session");
        let mut got = BTreeSet::new();
        while got.len() < 5 {
            let m = smol::future::or(async { messages.recv().await.ok() }, async {
                smol::Timer::after(T).await;
                None
            })
            .await
            .expect("a stored message");
            got.insert(m.topic().to_string());
        }
    });
}

/// A subscriber on `filter` over `url` and a task counting the distinct payloads it receives
/// (up to `count`); and a persistent-session publisher through the proxy on `proxy_port`.
async fn subscriber_and_publisher(
    url: &str,
    proxy_port: u16,
    name: &str,
    count: usize,
) -> (Client, Client, smol::Task<usize>) {
    let sub = ws_client(url, &format!("{name}-sub"));
    let (token, messages) = sub
        .subscribe_channel(&format!("{name}/#"), QoS::AtLeastOnce, 1024)
        .expect("subscribe");
    sub.connect().await.expect("connect");
    token.wait(T).await.expect("suback");
    let publisher = Client::builder(&format!("ws://127.0.0.1:{proxy_port}/mqtt"))
        .client_id(&format!("{name}-pub"))
        .protocol(ProtocolVersion::V311)
        .clean_session(false)
        .build()
        .expect("build");
    let counter = smol::spawn(async move {
        let mut got = BTreeSet::new();
        while got.len() < count {
            let Ok(m) = messages.recv().await else { break };
            got.insert(m.payload_str().unwrap_or_default().to_string());
        }
        got.len()
    });
    (sub, publisher, counter)
}

#[test]
fn a_connection_cut_mid_stream_loses_nothing() {
    const COUNT: usize = 2_000;
    let broker = Rumqttd::start(None);
    let proxy = Proxy::start(broker.ws_port);
    smol::block_on(async {
        let (_sub, publisher, counter) =
            subscriber_and_publisher(&broker.ws_url("/mqtt"), proxy.port, "acut", COUNT).await;
        let events = publisher.events(4096);
        publisher.connect().await.expect("connect");
        let mut tokens = std::collections::VecDeque::new();
        for i in 0..COUNT {
            if i == COUNT / 3 || i == 2 * COUNT / 3 {
                // Once the connection carries traffic (the message published 100 before this
                // one is acknowledged; the last 100 may still be in flight), every WebSocket
                // through the proxy is closed.
                while tokens.len() > 100 {
                    let t: transport_smol::Token<ReasonCode> = tokens.pop_front().expect("token");
                    if tokens.len() == 100 {
                        t.wait(T).await.expect("acknowledged before the cut");
                    }
                }
                proxy.cut();
            }
            let token = publisher
                .publish("acut/x", format!("{i}"), QoS::AtLeastOnce)
                .await
                .expect("publish");
            tokens.push_back(token);
        }
        let received = smol::future::or(counter, async {
            smol::Timer::after(Duration::from_secs(30)).await;
            0
        })
        .await;
        assert_eq!(received, COUNT, "distinct messages received after two cuts");
        let mut connections = 0;
        while let Ok(e) = events.try_recv() {
            connections += usize::from(matches!(e, transport_smol::Event::Connected(_)));
        }
        assert!(
            connections >= 3,
            "the cuts closed the WebSocket: {connections} connections"
        );
    });
}

#[test]
fn the_chaos_proxy_aborting_and_closing_websockets_loses_nothing() {
    // Seeded: the same faults at the same moments on every run (see the proxy's log on failure).
    const COUNT: usize = 3_000;
    let broker = Rumqttd::start(None);
    let plan = FaultPlan {
        seed: 14,
        mean_interval: Duration::from_millis(150),
        faults: vec![(2, FaultKind::Abort), (1, FaultKind::Close)],
    };
    let proxy = FaultProxy::start_disarmed(broker.ws_port, plan);
    smol::block_on(async {
        let (_sub, publisher, counter) =
            subscriber_and_publisher(&broker.ws_url("/mqtt"), proxy.port, "achaos", COUNT).await;
        publisher.connect().await.expect("connect");
        proxy.arm();
        for i in 0..COUNT {
            if i % 50 == 0 {
                smol::Timer::after(Duration::from_millis(20)).await; // a stream, not a burst
            }
            publisher
                .publish("achaos/x", format!("{i}"), QoS::AtLeastOnce)
                .await
                .expect("publish");
        }
        proxy.calm();
        eprintln!(
            "chaos over WebSocket: {} faults hit a connection, {} connections",
            proxy.faults(),
            proxy.connections()
        );
        let received = smol::future::or(counter, async {
            smol::Timer::after(Duration::from_secs(30)).await;
            0
        })
        .await;
        assert_eq!(
            received,
            COUNT,
            "distinct messages received; faults:\n{}",
            proxy.describe()
        );
        assert!(
            proxy.faults() >= 3,
            "faults that hit a connection: {}\n{}",
            proxy.faults(),
            proxy.describe()
        );
    });
}

#[test]
fn a_refused_upgrade_is_a_typed_error() {
    // The broker's plain MQTT port is no HTTP server: the upgrade fails with an error, and
    // nothing hangs.
    let broker = Rumqttd::start(None);
    smol::block_on(async {
        let client = ws_client(
            &format!("ws://127.0.0.1:{}/mqtt", broker.tcp_port),
            "arefused",
        );
        let result = smol::future::or(async { Some(client.connect().await) }, async {
            smol::Timer::after(T).await;
            None
        })
        .await;
        assert!(
            matches!(result, Some(Err(_))),
            "connecting a WebSocket to an MQTT port must fail: {result:?}"
        );
    });
}
