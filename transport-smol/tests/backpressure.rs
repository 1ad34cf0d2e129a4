//! The async client under load: `publish().await` waits for room instead of failing,
//! `try_publish` does not wait, and `disconnect` wakes every waiting publisher.

#[path = "../../transport-std/tests/broker/mod.rs"]
mod broker;

use std::collections::BTreeSet;
use std::time::Duration;

use broker::{Broker, BrokerConfig, Proxy, T};
use transport_smol::{Client, Error, QoS};

const COUNT: usize = 30_000;

#[test]
fn a_plain_publish_loop_never_fails_and_loses_nothing() {
    // mosquitto's defaults: 20 messages in flight; the engine queues at most 10,000 more, so
    // a loop of 30,000 must wait for acknowledgements along the way. mosquitto's own queue for
    // the subscriber is unbounded here: its default (1,000) drops messages when the subscriber
    // falls behind, which is the broker's choice, not what this test is about.
    let broker = Broker::start(BrokerConfig {
        extra: vec!["max_queued_messages 0".into()],
        ..BrokerConfig::default()
    });
    smol::block_on(async {
        let sub = Client::builder(&broker.url())
            .client_id("abp-sub")
            .build()
            .expect("build");
        let (token, messages) = sub
            .subscribe_channel("abp/#", QoS::AtLeastOnce, 1024)
            .expect("subscribe");
        sub.connect().await.expect("connect");
        token.wait(T).await.expect("suback");
        let publisher = Client::builder(&broker.url())
            .client_id("abp-pub")
            .build()
            .expect("build");
        publisher.connect().await.expect("connect");
        let counter = smol::spawn(async move {
            let mut got = BTreeSet::new();
            while got.len() < COUNT {
                let Ok(m) = messages.recv().await else { break };
                got.insert(m.payload_str().unwrap_or_default().to_string());
            }
            got.len()
        });
        let mut waited = 0;
        for i in 0..COUNT {
            if !publisher
                .try_publish("probe", "x", QoS::AtLeastOnce)
                .is_ok_and(|t| t.packet_id().is_some())
            {
                waited += 1;
            }
            publisher
                .publish("abp/n", i.to_string(), QoS::AtLeastOnce)
                .await
                .expect("publish waits, it does not fail");
        }
        let got = smol::future::or(counter, async {
            smol::Timer::after(Duration::from_secs(60)).await;
            0
        })
        .await;
        assert_eq!(got, COUNT, "every message arrived once at least");
        assert!(waited > 0, "the queue was never full: nothing waited");
        publisher.disconnect(T).await.expect("disconnect");
        sub.disconnect(T).await.expect("disconnect");
    });
}

/// A queue of three and a window of two: publishes wait for room again and again, and each
/// wait ends when acknowledgements free room (the smallest threshold of the wake-up rule).
#[test]
fn a_tiny_queue_waits_for_every_acknowledgement_and_completes_everything() {
    let broker = Broker::start(BrokerConfig::default());
    smol::block_on(async {
        for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let publisher = Client::builder(&broker.url())
                .client_id(&format!("tiny-{qos:?}"))
                .options(|o| o.max_queued(3).max_inflight(2))
                .build()
                .expect("build");
            publisher.connect().await.expect("connect");
            let mut tokens = Vec::new();
            for i in 0..300 {
                let token = smol::future::or(
                    async { Some(publisher.publish("tiny/n", format!("{i}"), qos).await) },
                    async {
                        smol::Timer::after(T).await;
                        None
                    },
                )
                .await
                .expect("a waiting publish resumes when acknowledgements make room")
                .expect("publish waits, it does not fail");
                tokens.push(token);
            }
            for token in tokens {
                let code = token.wait(T).await.expect("completed");
                assert!(code.is_success(), "{code:?}");
            }
            publisher.disconnect(T).await.expect("disconnect");
        }
    });
}

#[test]
fn try_publish_refuses_at_once_and_disconnect_wakes_a_waiting_publish() {
    let broker = Broker::start(BrokerConfig::default());
    let proxy = Proxy::start(broker.port);
    smol::block_on(async {
        let c = Client::builder(&proxy.url())
            .client_id("abp-stuck")
            .options(|o| o.max_queued(3).max_inflight(2))
            .build()
            .expect("build");
        c.connect().await.expect("connect");
        // Acknowledgements never come back: 2 in flight, 3 queued, then no room.
        proxy.stall();
        for i in 0..5 {
            c.publish("stuck", i.to_string(), QoS::AtLeastOnce)
                .await
                .expect("room for 5");
        }
        match c.try_publish("stuck", "x", QoS::AtLeastOnce) {
            Err(Error::Engine(mqtt_engine::Error::QueueFull(3))) => {}
            other => panic!(
                "expected QueueFull(3), got {:?}",
                other.map(|t| t.packet_id())
            ),
        }
        let waiting = {
            let c = c.clone();
            smol::spawn(async move { c.publish("stuck", "6", QoS::AtLeastOnce).await.map(drop) })
        };
        smol::Timer::after(Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "publish returned instead of waiting"
        );
        c.disconnect(Duration::from_millis(100))
            .await
            .expect("disconnect");
        let woke = smol::future::or(async { Some(waiting.await) }, async {
            smol::Timer::after(Duration::from_secs(2)).await;
            None
        })
        .await;
        assert!(
            matches!(woke, Some(Err(Error::ShutDown))),
            "disconnect did not wake the waiting publish with ShutDown: {woke:?}"
        );
    });
}
