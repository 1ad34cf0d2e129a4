//! Keep-alive and the reconnect schedule, on simulated time.

mod common;

use core::time::Duration;

use common::{types, Harness};
use mqtt_engine::{DisconnectReason, Event, Instant, Options, ReconnectPolicy, State};
use mqtt_proto::{ConnAckProperties, Packet, PacketType, QoS};

#[test]
fn mqtt_3_1_2_22_pingreq_after_keep_alive_of_silence() {
    let mut h = Harness::new(Options::new("c").keep_alive_secs(10));
    h.connect(false);
    h.take_sent();
    assert_eq!(h.deadline, Some(Instant::from_millis(11_000)));
    h.advance_ms(9_999);
    assert!(h.take_sent().is_empty());
    h.advance_ms(1);
    assert_eq!(types(&h.take_sent()), [PacketType::PingReq]);
    h.send(Packet::PingResp);
    assert!(h.client.is_connected());
}

#[test]
fn traffic_postpones_the_ping() {
    let mut h = Harness::new(Options::new("c").keep_alive_secs(10));
    h.connect(false);
    h.advance_ms(6_000);
    h.publish("t", b"x", QoS::AtMostOnce);
    h.deliver("t", b"y", QoS::AtMostOnce, None, false);
    h.take_sent();
    h.advance_ms(6_000);
    assert!(
        h.take_sent().is_empty(),
        "a packet went out and one came in 6 s ago"
    );
    h.advance_ms(4_000);
    assert_eq!(types(&h.take_sent()), [PacketType::PingReq]);
}

#[test]
fn missing_pingresp_loses_the_connection_and_schedules_a_reconnect() {
    let mut h = Harness::new(
        Options::new("c")
            .keep_alive_secs(10)
            .ping_timeout(Duration::from_secs(5)),
    );
    h.connect(false);
    h.take_events();
    h.advance_ms(10_000);
    assert_eq!(types(&h.take_sent()), [PacketType::PingReq]);
    h.advance_ms(5_000);
    let events = h.take_events();
    assert!(
        matches!(
            events[0],
            Event::Disconnected(DisconnectReason::PingTimeout)
        ),
        "{events:?}"
    );
    assert!(matches!(
        events[1],
        Event::ReconnectScheduled { attempt: 1, .. }
    ));
}

#[test]
fn mqtt_3_1_2_23_server_keep_alive_replaces_ours() {
    let mut h = Harness::new(Options::new("c").keep_alive_secs(60));
    h.connect_with(
        false,
        ConnAckProperties {
            server_keep_alive: Some(5),
            ..Default::default()
        },
    );
    assert!(matches!(&h.take_events()[..], [Event::Connected(c)] if c.keep_alive == 5));
    h.take_sent();
    h.advance_ms(5_000);
    assert_eq!(types(&h.take_sent()), [PacketType::PingReq]);
}

#[test]
fn keep_alive_zero_never_pings() {
    let mut h = Harness::new(Options::new("c").keep_alive_secs(0));
    h.connect(false);
    assert_eq!(h.deadline, None);
    h.advance_ms(1_000_000);
    assert!(h.take_sent().is_empty());
}

fn policy() -> ReconnectPolicy {
    ReconnectPolicy {
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        stable_after: Duration::from_secs(30),
    }
}

#[test]
fn reconnect_backoff_grows_and_is_due_at_its_deadline() {
    let mut h = Harness::new(Options::new("c").reconnect(policy()).seed(1));
    h.connect(false);
    h.take_events();
    for attempt in 1..=6u32 {
        // First a lost connection, then each time the transport cannot be opened.
        h.client.connection_lost(h.now);
        h.pump();
        let events = h.take_events();
        let Some(Event::ReconnectScheduled {
            at,
            delay,
            attempt: n,
        }) = events.last().cloned()
        else {
            panic!("{events:?}")
        };
        assert_eq!(n, attempt);
        let cap = Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(2));
        assert!(
            delay >= cap / 2 && delay <= cap,
            "attempt {attempt}: {delay:?} outside {cap:?}/2..={cap:?}"
        );
        assert_eq!(h.deadline, Some(at));
        h.advance_ms(delay.as_millis() as u64);
        assert_eq!(h.take_events(), [Event::ReconnectDue]);
        assert_eq!(h.client.state(), State::ReconnectDue);
    }
}

#[test]
fn a_stable_connection_resets_the_backoff() {
    let mut h = Harness::new(Options::new("c").reconnect(policy()));
    for _ in 0..4 {
        h.connect(false);
        h.client.connection_lost(h.now);
        h.pump();
    }
    let before = h.take_events().into_iter().filter_map(|e| match e {
        Event::ReconnectScheduled { attempt, .. } => Some(attempt),
        _ => None,
    });
    assert_eq!(before.last(), Some(4));
    h.connect(false);
    h.advance_ms(30_000);
    h.client.connection_lost(h.now);
    h.pump();
    assert!(h
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::ReconnectScheduled { attempt: 1, .. })));
}

#[test]
fn no_reconnect_policy_stays_idle() {
    let mut h = Harness::new(Options::new("c").no_reconnect());
    h.connect(false);
    h.client.connection_lost(h.now);
    h.pump();
    assert_eq!(h.client.state(), State::Idle);
    assert_eq!(h.deadline, None);
}

#[test]
fn poll_output_reports_the_deadline_once_then_none() {
    let mut h = Harness::new(Options::new("c").keep_alive_secs(10));
    h.connect(false);
    let now = h.now;
    assert!(
        h.client.poll_output(now).is_none(),
        "drained by the harness"
    );
    h.client.handle_timeout(now);
    assert_eq!(
        h.client.poll_output(now),
        Some(mqtt_engine::Output::Timeout(Instant::from_millis(11_000)))
    );
    assert_eq!(h.client.poll_output(now), None);
}
