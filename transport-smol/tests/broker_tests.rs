//! The async client against real mosquitto brokers.

#[path = "../../transport-std/tests/broker/mod.rs"]
mod broker;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use broker::{Broker, BrokerConfig, Pki, Proxy, T};
use transport_smol::{
    BoxStream, Client, Error, Event, ProtocolVersion, QoS, ReasonCode, ReconnectPolicy, TlsConfig,
};

fn fast() -> ReconnectPolicy {
    ReconnectPolicy {
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
        stable_after: Duration::from_secs(5),
    }
}

#[test]
fn qos_0_1_2_round_trips_in_both_versions() {
    let broker = Broker::start(BrokerConfig::default());
    smol::block_on(async {
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let sub = Client::builder(&broker.url())
                .client_id(&format!("as-{version:?}"))
                .protocol(version)
                .build()
                .expect("build");
            let (token, messages) = sub
                .subscribe_channel("async/#", QoS::ExactlyOnce, 16)
                .expect("subscribe");
            sub.connect().await.expect("connect");
            assert_eq!(token.wait(T).await.expect("suback"), [Ok(QoS::ExactlyOnce)]);
            let publisher = Client::builder(&broker.url())
                .client_id(&format!("ap-{version:?}"))
                .protocol(version)
                .build()
                .expect("build");
            publisher.connect().await.expect("connect");
            for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
                .into_iter()
                .enumerate()
            {
                let code = publisher
                    .publish(&format!("async/{i}"), format!("m{i}"), qos)
                    .await
                    .expect("publish")
                    .wait(T)
                    .await
                    .expect("ack");
                assert!(code.is_success(), "{code:?}");
            }
            let mut got = Vec::new();
            for _ in 0..3 {
                let m = smol::future::or(async { messages.recv().await.ok() }, async {
                    smol::Timer::after(T).await;
                    None
                })
                .await
                .expect("message");
                got.push((m.topic().to_string(), m.qos()));
            }
            got.sort();
            assert_eq!(
                got,
                [
                    ("async/0".into(), QoS::AtMostOnce),
                    ("async/1".into(), QoS::AtLeastOnce),
                    ("async/2".into(), QoS::ExactlyOnce)
                ]
            );
            sub.disconnect(T).await.expect("disconnect");
            publisher.disconnect(T).await.expect("disconnect");
        }
    });
}

#[test]
fn many_qos1_messages_arrive_in_full() {
    let broker = Broker::start(BrokerConfig::default());
    smol::block_on(async {
        let sub = Client::builder(&broker.url())
            .client_id("bulk-sub")
            .build()
            .expect("build");
        let (token, messages) = sub
            .subscribe_channel("bulk/#", QoS::AtLeastOnce, 64)
            .expect("subscribe");
        sub.connect().await.expect("connect");
        token.wait(T).await.expect("suback");
        let publisher = Client::builder(&broker.url())
            .client_id("bulk-pub")
            .build()
            .expect("build");
        publisher.connect().await.expect("connect");
        let mut tokens = Vec::new();
        for i in 0..500 {
            tokens.push(
                publisher
                    .publish("bulk/x", format!("{i}"), QoS::AtLeastOnce)
                    .await
                    .expect("publish"),
            );
        }
        for t in &tokens {
            t.wait(T).await.expect("ack");
        }
        let mut seen = BTreeSet::new();
        while seen.len() < 500 {
            let m = smol::future::or(async { messages.recv().await.ok() }, async {
                smol::Timer::after(T).await;
                None
            })
            .await
            .expect("message");
            seen.insert(m.payload_str().unwrap_or_default().to_string());
        }
        assert_eq!(seen.len(), 500);
    });
}

#[test]
fn reconnects_after_a_cut_and_receives_what_was_published_meanwhile() {
    let broker = Broker::start(BrokerConfig::default());
    let proxy = Proxy::start(broker.port);
    smol::block_on(async {
        let c = Client::builder(&proxy.url())
            .client_id("async-cut")
            .clean_session(false)
            .reconnect(fast())
            .build()
            .expect("build");
        let (token, messages) = c
            .subscribe_channel("cut/#", QoS::AtLeastOnce, 16)
            .expect("subscribe");
        c.connect().await.expect("connect");
        token.wait(T).await.expect("suback");
        proxy.cut();
        let publisher = Client::builder(&broker.url())
            .client_id("async-cut-pub")
            .build()
            .expect("build");
        publisher.connect().await.expect("connect");
        publisher
            .publish("cut/1", "after the cut", QoS::AtLeastOnce)
            .await
            .expect("publish")
            .wait(T)
            .await
            .expect("ack");
        let m = smol::future::or(async { messages.recv().await.ok() }, async {
            smol::Timer::after(T).await;
            None
        })
        .await
        .expect("delivered after reconnecting");
        assert_eq!(m.payload_str(), Some("after the cut"));
    });
}

/// Under load the driver gathers its writes for a moment; none may stay behind when the
/// input stops. A persistent subscriber that gathers for 20 ms (so that the last
/// acknowledgements of a burst surely wait) takes a burst; a moment later its connection is
/// cut and it resumes the session: the broker sends nothing again before the marker that
/// follows, so every PUBACK, the last ones included, had reached it.
#[test]
fn every_acknowledgement_of_a_burst_reaches_the_broker_the_last_ones_too() {
    const BURST: usize = 300;
    let broker = Broker::start(BrokerConfig {
        extra: vec!["max_queued_messages 0".into()],
        ..BrokerConfig::default()
    });
    let proxy = Proxy::start(broker.port);
    smol::block_on(async {
        let sub = Client::builder(&proxy.url())
            .client_id("async-burst")
            .clean_session(false)
            .reconnect(fast())
            .write_gathering(Duration::from_millis(20))
            .build()
            .expect("build");
        let (token, messages) = sub
            .subscribe_channel("burst/#", QoS::AtLeastOnce, BURST * 2)
            .expect("subscribe");
        sub.connect().await.expect("connect");
        token.wait(T).await.expect("suback");
        let publisher = Client::builder(&broker.url())
            .client_id("async-burst-pub")
            .build()
            .expect("build");
        publisher.connect().await.expect("connect");
        for i in 0..BURST {
            publisher
                .publish(&format!("burst/{i}"), "x", QoS::AtLeastOnce)
                .await
                .expect("publish");
        }
        let next = || async {
            smol::future::or(async { messages.recv().await.ok() }, async {
                smol::Timer::after(T).await;
                None
            })
            .await
            .expect("message")
            .topic()
            .to_string()
        };
        let mut topics = Vec::new();
        while topics.len() < BURST {
            topics.push(next().await);
        }
        // Far longer than the driver gathers, far shorter than the keep-alive (whose PINGREQ
        // would carry anything left queued).
        smol::Timer::after(Duration::from_millis(300)).await;
        proxy.cut();
        // Anything sent again on the resumed session comes before this marker.
        publisher
            .publish("burst/marker", "end", QoS::AtLeastOnce)
            .await
            .expect("publish")
            .wait(T)
            .await
            .expect("ack");
        loop {
            let topic = next().await;
            let marker = topic == "burst/marker";
            topics.push(topic);
            if marker {
                break;
            }
        }
        let unique: BTreeSet<&String> = topics.iter().collect();
        assert_eq!(
            topics.len() - unique.len(),
            0,
            "messages sent again to the resumed session: their PUBACK never left"
        );
        assert_eq!(topics.len(), BURST + 1);
    });
}

#[test]
fn wrong_password_is_a_typed_refusal() {
    let broker = Broker::start(BrokerConfig {
        users: vec![("alice".into(), "secret".into())],
        ..Default::default()
    });
    smol::block_on(async {
        let c = Client::builder(&broker.url())
            .credentials("alice", "wrong")
            .build()
            .expect("build");
        assert!(matches!(
            c.connect().await,
            Err(Error::ConnectionRefused(
                ReasonCode::NotAuthorized | ReasonCode::BadUserNameOrPassword
            ))
        ));
    });
}

#[test]
fn tls_trusted_and_untrusted() {
    let pki = Pki::generate();
    let other = Pki::generate();
    let broker = Broker::start(BrokerConfig {
        tls: Some(pki.broker_files(false)),
        ..Default::default()
    });
    let url = format!("mqtts://localhost:{}", broker.port);
    smol::block_on(async {
        let ok = Client::builder(&url)
            .tls(TlsConfig::from_pem(&pki.ca_pem).expect("ca"))
            .build()
            .expect("build");
        ok.connect().await.expect("TLS connect");
        ok.publish("tls/x", "y", QoS::AtLeastOnce)
            .await
            .expect("publish")
            .wait(T)
            .await
            .expect("ack over TLS");
        let bad = Client::builder(&url)
            .tls(TlsConfig::from_pem(&other.ca_pem).expect("ca"))
            .build()
            .expect("build");
        assert!(matches!(
            bad.connect().await,
            Err(Error::Tls(rustls::Error::InvalidCertificate(_)))
        ));
    });
}

#[test]
fn bring_your_own_stream() {
    let broker = Broker::start(BrokerConfig::default());
    let port = broker.port;
    let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = opened.clone();
    let connector: transport_smol::Connector = Arc::new(move |_address| {
        let counter = counter.clone();
        Box::pin(async move {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // Any AsyncRead + AsyncWrite works; here a plain TCP stream opened by the caller.
            let s = smol::net::TcpStream::connect(("127.0.0.1", port)).await?;
            Ok(Box::new(s) as BoxStream)
        })
    });
    smol::block_on(async {
        let c = Client::builder("mqtt://unused.invalid:1")
            .connector(connector)
            .build()
            .expect("build");
        c.connect()
            .await
            .expect("connect through the custom stream");
        c.publish("byo/x", "y", QoS::AtLeastOnce)
            .await
            .expect("publish")
            .wait(T)
            .await
            .expect("ack");
    });
    assert_eq!(opened.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn qos0_publishing_waits_for_a_slow_network_instead_of_buffering_without_bound() {
    let broker = Broker::start(BrokerConfig::default());
    let proxy = Proxy::start(broker.port);
    smol::block_on(async {
        let c = Client::builder(&proxy.url())
            .client_id("slow-net")
            .build()
            .expect("build");
        c.connect().await.expect("connect");
        proxy.freeze();
        let payload = vec![0u8; 64 * 1024];
        let mut accepted = 0usize;
        for _ in 0..2_000 {
            let publish = c.publish("slow/x", payload.clone(), QoS::AtMostOnce);
            let done = smol::future::or(async { Some(publish.await) }, async {
                smol::Timer::after(Duration::from_millis(500)).await;
                None
            })
            .await;
            match done {
                Some(r) => {
                    r.expect("publish");
                    accepted += 1;
                }
                None => break,
            }
        }
        // Socket buffers (a few MiB on loopback) plus the 1 MiB outbox, then it waits.
        assert!(
            accepted < 2_000,
            "publish never waited: {accepted} × 64 KiB accepted"
        );
        assert!(
            accepted * 64 * 1024 < 64 << 20,
            "{accepted} × 64 KiB buffered"
        );
    });
}

#[test]
fn a_qos0_stream_much_larger_than_the_outbox_limit_flows_through() {
    let broker = Broker::start(BrokerConfig::default());
    smol::block_on(async {
        let c = Client::builder(&broker.url())
            .client_id("stream-qos0")
            .build()
            .expect("build");
        c.connect().await.expect("connect");
        let payload = vec![0u8; 1024];
        // 16 MiB in all: the 1 MiB outbox fills and drains many times over.
        let all = async {
            for _ in 0..16 * 1024 {
                c.publish("stream/x", payload.clone(), QoS::AtMostOnce)
                    .await
                    .expect("publish");
            }
        };
        let finished = smol::future::or(
            async {
                all.await;
                true
            },
            async {
                smol::Timer::after(Duration::from_secs(60)).await;
                false
            },
        )
        .await;
        assert!(finished, "publishing stalled");
    });
}

/// Keep-alive on an idle connection, also after publishes moved the deadline later than the one
/// the driver's timer was armed for: PINGREQs reach the broker (its log says so; mosquitto
/// 2.0.11 does not close a silent connection within the test's time) and nothing disconnects.
#[test]
fn an_idle_connection_is_kept_alive_by_pings() {
    let broker = Broker::start(BrokerConfig::default());
    smol::block_on(async {
        let c = Client::builder(&broker.url())
            .client_id("async-idle")
            .keep_alive(1)
            .build()
            .expect("build");
        let events = c.events(64);
        c.connect().await.expect("connect");
        for i in 0..4 {
            c.publish("idle/busy", format!("m{i}"), QoS::AtMostOnce)
                .await
                .expect("publish");
            smol::Timer::after(Duration::from_millis(300)).await;
        }
        smol::Timer::after(Duration::from_millis(3500)).await;
        while let Ok(event) = events.try_recv() {
            assert!(
                !matches!(
                    event,
                    Event::Disconnected(_) | Event::ReconnectScheduled { .. }
                ),
                "{event:?}"
            );
        }
        assert!(c.is_connected());
        let pings = broker
            .log()
            .matches("Received PINGREQ from async-idle")
            .count();
        assert!(
            pings >= 2,
            "{pings} PINGREQ in 3.5 s idle at keep-alive 1 s"
        );
        let code = c
            .publish("idle/after", "still here", QoS::AtLeastOnce)
            .await
            .expect("publish")
            .wait(T)
            .await
            .expect("ack");
        assert!(code.is_success(), "{code:?}");
    });
}
