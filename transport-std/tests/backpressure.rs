//! Publishing under load: `publish` waits for room instead of failing, `try_publish` does not
//! wait, and stopping the client wakes every waiting publisher.

mod broker;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::{wait_until, Broker, BrokerConfig, Proxy, T};
use transport_std::{Client, Error, QoS};

#[test]
fn publish_waits_for_room_and_nothing_is_lost() {
    // mosquitto lets 2 QoS 1/2 messages be in flight; the engine queues at most 20 more. The
    // broker's own queue toward the subscriber is unbounded (its default of 1,000 would drop
    // messages for a subscriber that falls behind: this test is about the client).
    let broker = Broker::start(BrokerConfig {
        extra: vec![
            "max_inflight_messages 2".into(),
            "max_queued_messages 0".into(),
        ],
        ..BrokerConfig::default()
    });
    let received = Arc::new(AtomicUsize::new(0));
    let sub = Client::builder(&broker.url())
        .client_id("bp-sub")
        .build()
        .expect("build");
    let r = received.clone();
    let token = sub
        .subscribe("bp/#", QoS::AtLeastOnce, move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .expect("subscribe");
    sub.connect().expect("connect");
    token.wait(T).expect("suback");
    let publisher = Client::builder(&broker.url())
        .client_id("bp-pub")
        .options(|o| o.max_queued(20))
        .build()
        .expect("build");
    publisher.connect().expect("connect");
    let mut refused_at_once = 0;
    let mut last = None;
    for i in 0..3_000 {
        let qos = if i % 3 == 2 {
            QoS::ExactlyOnce
        } else {
            QoS::AtLeastOnce
        };
        if i % 100 == 0 {
            // The non-waiting form sees the full queue the waiting form rides out.
            match publisher.try_publish("probe", "x", QoS::AtMostOnce) {
                Err(Error::Engine(mqtt_engine::Error::QueueFull(_))) => refused_at_once += 1,
                Ok(_) => {}
                Err(e) => panic!("try_publish: {e}"),
            }
        }
        last = Some(
            publisher
                .publish(&format!("bp/{i}"), format!("{i}"), qos)
                .expect("publish waits, it does not fail"),
        );
    }
    assert!(last.expect("token").wait(T).expect("acked").is_success());
    let all = wait_until(T, || received.load(Ordering::SeqCst) >= 3_000);
    assert!(all, "received {}", received.load(Ordering::SeqCst));
    assert!(
        refused_at_once > 0,
        "the queue was never full: the test did not exercise waiting"
    );
    publisher.disconnect(T).expect("disconnect");
    sub.disconnect(T).expect("disconnect");
}

/// A client whose acknowledgements never come back (the network path is dead), with room for
/// 2 messages in flight and 3 queued.
fn stuck_client(broker: &Broker, proxy: &Proxy, id: &str) -> Client {
    let c = Client::builder(&proxy.url())
        .client_id(id)
        .options(|o| o.max_queued(3).max_inflight(2))
        .build()
        .expect("build");
    c.connect().expect("connect");
    let _ = broker;
    proxy.stall();
    for i in 0..5 {
        c.publish("stuck", format!("{i}"), QoS::AtLeastOnce)
            .expect("room for 5");
    }
    c
}

/// Starts a publish that must block; returns its thread and when it started.
fn blocked_publish(c: &Client) -> std::thread::JoinHandle<Result<(), Error>> {
    let c = c.clone();
    let handle = std::thread::spawn(move || c.publish("stuck", "6", QoS::AtLeastOnce).map(drop));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!handle.is_finished(), "publish returned instead of waiting");
    handle
}

#[test]
fn try_publish_refuses_at_once_and_disconnect_wakes_a_waiting_publish() {
    let broker = Broker::start(BrokerConfig::default());
    let proxy = Proxy::start(broker.port);
    let c = stuck_client(&broker, &proxy, "bp-disconnect");
    let started = Instant::now();
    match c.try_publish("stuck", "x", QoS::AtLeastOnce) {
        Err(Error::Engine(mqtt_engine::Error::QueueFull(3))) => {}
        other => panic!(
            "expected QueueFull(3), got {:?}",
            other.map(|t| t.packet_id())
        ),
    }
    assert!(started.elapsed() < Duration::from_millis(100));
    let waiting = blocked_publish(&c);
    c.disconnect(Duration::from_millis(100))
        .expect("disconnect");
    let woke = wait_until(Duration::from_secs(2), || waiting.is_finished());
    assert!(woke, "disconnect did not wake the waiting publish");
    assert!(matches!(
        waiting.join().expect("thread"),
        Err(Error::ShutDown)
    ));
}

#[test]
fn abort_wakes_a_waiting_publish() {
    let broker = Broker::start(BrokerConfig::default());
    let proxy = Proxy::start(broker.port);
    let c = stuck_client(&broker, &proxy, "bp-abort");
    let waiting = blocked_publish(&c);
    c.abort();
    let woke = wait_until(Duration::from_secs(2), || waiting.is_finished());
    assert!(woke, "abort did not wake the waiting publish");
    assert!(matches!(
        waiting.join().expect("thread"),
        Err(Error::ShutDown)
    ));
}
