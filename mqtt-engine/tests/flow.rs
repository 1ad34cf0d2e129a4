//! Flow under load and faults, on simulated time: room for publishes (packet identifiers and
//! the queue) with its readiness event, the backoff reset rule, and the ping timeout that
//! follows the keep-alive.

mod common;

use core::time::Duration;

use common::{types, Harness};
use mqtt_engine::{DisconnectReason, Error, Event, Options, ReconnectPolicy};
use mqtt_proto::{Packet, PacketType, ProtocolVersion, PubResponse, Publish, QoS};

fn qos1(h: &mut Harness) -> Result<Option<u16>, Error> {
    h.client.publish(
        Publish::new("t".try_into().expect("topic"), "x").with_qos(QoS::AtLeastOnce),
        h.now,
    )
}

fn ready_events(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::PublishReady))
        .count()
}

#[test]
fn packet_ids_in_flight_plus_queued_never_exceed_65535_and_the_refusal_is_queue_full() {
    // A server without a Receive Maximum: every QoS 1 message may be in flight at once.
    let mut h = Harness::new(Options::new("c").max_queued(100_000).max_inflight(65_535));
    h.connect(false);
    let first = qos1(&mut h).expect("room").expect("id");
    for _ in 1..65_535 {
        qos1(&mut h).expect("room");
    }
    assert_eq!(h.client.inflight_len() + h.client.queued_len(), 65_535);
    assert!(!h.client.has_room(QoS::AtLeastOnce));
    assert!(h.client.has_room(QoS::AtMostOnce), "QoS 0 needs no id");
    assert_eq!(qos1(&mut h), Err(Error::QueueFull(0)));
    assert_eq!(
        h.client.publish(
            Publish::new("t".try_into().expect("topic"), "x").with_qos(QoS::ExactlyOnce),
            h.now
        ),
        Err(Error::QueueFull(0))
    );
    h.pump();
    assert_eq!(ready_events(&h.take_events()), 0, "no room yet");
    h.puback(first);
    let events = h.take_events();
    assert_eq!(
        ready_events(&events),
        1,
        "{:?}",
        &events[events.len().saturating_sub(3)..]
    );
    assert_eq!(qos1(&mut h), Ok(Some(first)));
    h.pump();
    assert_eq!(ready_events(&h.take_events()), 0, "once per refusal");
}

#[test]
fn ids_taken_by_queued_messages_count_too() {
    // Receive Maximum 10: 10 in flight, the rest queued, each with its id.
    let mut h = Harness::new(Options::new("c").max_queued(100_000).max_inflight(10));
    h.connect(false);
    for _ in 0..65_535 {
        qos1(&mut h).expect("room");
    }
    assert_eq!(h.client.inflight_len(), 10);
    assert_eq!(h.client.queued_len(), 65_525);
    assert_eq!(qos1(&mut h), Err(Error::QueueFull(65_525)));
}

#[test]
fn a_full_queue_is_reported_ready_when_acknowledgements_drain_it() {
    let mut h = Harness::new(Options::new("c").max_queued(3).max_inflight(1));
    h.connect(false);
    let id = h.publish("t", b"0", QoS::AtLeastOnce).expect("id");
    for _ in 0..3 {
        qos1(&mut h).expect("queued");
    }
    assert_eq!(qos1(&mut h), Err(Error::QueueFull(3)));
    h.pump();
    h.take_events();
    h.puback(id);
    let events = h.take_events();
    assert_eq!(ready_events(&events), 1, "{events:?}");
    assert!(h.client.has_room(QoS::AtLeastOnce));
}

#[test]
fn shutting_down_wakes_a_refused_publisher() {
    let mut h = Harness::new(Options::new("c").max_queued(1));
    qos1(&mut h).expect("queued offline");
    assert_eq!(qos1(&mut h), Err(Error::QueueFull(1)));
    h.client.disconnect(h.now);
    h.pump();
    assert_eq!(ready_events(&h.take_events()), 1);
    assert_eq!(qos1(&mut h), Err(Error::ShutDown));
}

fn policy() -> ReconnectPolicy {
    ReconnectPolicy {
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(10),
        stable_after: Duration::from_secs(30),
    }
}

fn last_attempt(h: &mut Harness) -> u32 {
    h.take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::ReconnectScheduled { attempt, .. } => Some(attempt),
            _ => None,
        })
        .last()
        .expect("a reconnect was scheduled")
}

/// Connection lost, reconnect due, transport opened again: one flap.
fn lose_and_reconnect(h: &mut Harness) -> u32 {
    h.client.connection_lost(h.now);
    h.pump();
    let attempt = last_attempt(h);
    h.take_sent();
    let due = h.deadline.expect("reconnect deadline");
    h.advance_ms(due.as_millis() - h.now.as_millis());
    attempt
}

#[test]
fn a_connection_that_made_progress_resets_the_backoff_at_once() {
    let mut h = Harness::new(Options::new("c").reconnect(policy()).max_inflight(100));
    for expected in 1..=4 {
        h.connect(false);
        // Dropped right after CONNACK, nothing answered: one more failed attempt.
        assert_eq!(lose_and_reconnect(&mut h), expected);
    }
    h.connect(false);
    let id = h.publish("t", b"x", QoS::AtLeastOnce).expect("id");
    h.advance_ms(20);
    h.puback(id);
    // 20 ms later the link flaps: it worked, so the next delay is the first, shortest one.
    assert_eq!(lose_and_reconnect(&mut h), 1);
    for _ in 0..50 {
        h.connect(false);
        let id = h.publish("t", b"x", QoS::AtLeastOnce).expect("id");
        h.puback(id);
        assert_eq!(
            lose_and_reconnect(&mut h),
            1,
            "a flapping link that works never slows down"
        );
    }
}

#[test]
fn a_broker_that_accepts_then_drops_at_once_still_backs_off() {
    // E.g. two clients with one client id: each CONNACK is followed by the close.
    let mut h = Harness::new(Options::new("c").reconnect(policy()).seed(3));
    let mut total = Duration::ZERO;
    for expected in 1..=10 {
        h.connect(false);
        h.advance_ms(5);
        let before = h.now;
        assert_eq!(lose_and_reconnect(&mut h), expected);
        total += Duration::from_millis(h.now.as_millis() - before.as_millis());
    }
    assert!(
        total >= Duration::from_secs(20),
        "backed off: {total:?} over 10 attempts"
    );
}

#[test]
fn a_server_disconnect_right_after_connack_is_not_progress() {
    let mut h = Harness::new(Options::new("c").reconnect(policy()));
    for expected in 1..=3 {
        h.connect(false);
        h.send(Packet::from(mqtt_proto::Disconnect::new(
            mqtt_proto::ReasonCode::ServerBusy,
        )));
        assert_eq!(last_attempt(&mut h), expected);
        let due = h.deadline.expect("deadline");
        h.advance_ms(due.as_millis() - h.now.as_millis());
    }
}

fn ping_timeout_after_pingreq(keep_alive: u16, option: Option<Duration>) -> u64 {
    let mut options = Options::new("c").keep_alive_secs(keep_alive);
    if let Some(t) = option {
        options = options.ping_timeout(t);
    }
    let mut h = Harness::new(options);
    h.connect(false);
    h.take_events();
    h.advance_ms(u64::from(keep_alive) * 1_000);
    assert_eq!(types(&h.take_sent()), [PacketType::PingReq]);
    let sent = h.now;
    for _ in 0..60_000 {
        h.advance_ms(1);
        if h.take_events()
            .iter()
            .any(|e| matches!(e, Event::Disconnected(DisconnectReason::PingTimeout)))
        {
            return h.now.as_millis() - sent.as_millis();
        }
    }
    panic!("never timed out");
}

#[test]
fn the_ping_timeout_follows_the_keep_alive() {
    assert_eq!(
        ping_timeout_after_pingreq(2, None),
        2_000,
        "within 3 s at -k 2"
    );
    assert_eq!(ping_timeout_after_pingreq(5, None), 5_000);
    assert_eq!(ping_timeout_after_pingreq(60, None), 10_000);
    assert_eq!(
        ping_timeout_after_pingreq(2, Some(Duration::from_millis(700))),
        700,
        "the option overrides"
    );
}

#[test]
fn mqtt_3_1_3_7_empty_client_id_needs_a_clean_session_in_3_1_1() {
    let refused = mqtt_engine::Client::new(
        Options::new("")
            .protocol(ProtocolVersion::V311)
            .clean_session(false),
        mqtt_engine::Instant::from_millis(0),
    );
    assert_eq!(refused.err(), Some(Error::EmptyClientIdWithSession));
    for (version, clean) in [
        (ProtocolVersion::V311, true),
        (ProtocolVersion::V5, false),
        (ProtocolVersion::V5, true),
    ] {
        assert!(mqtt_engine::Client::new(
            Options::new("").protocol(version).clean_session(clean),
            mqtt_engine::Instant::from_millis(0),
        )
        .is_ok());
    }
}

/// `poll_transmit` hands over the bytes the `Transmit`s would have carried, in the same order,
/// and `poll_output` still reports every event: two clients given the same script, one drained
/// each way, send the same packets and report the same events.
#[test]
fn poll_transmit_hands_over_the_bytes_of_the_transmits_in_order() {
    let run = |gather: bool| {
        let options = Options::new("gather").protocol(ProtocolVersion::V5);
        let mut h = Harness::with_drain(options, gather);
        h.connect(false);
        // Several packets between two drains: one publish of each QoS, then the acks.
        for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .enumerate()
        {
            h.client
                .publish(
                    Publish::new(format!("g/{i}").try_into().expect("topic"), "x").with_qos(qos),
                    h.now,
                )
                .expect("publish accepted");
        }
        h.pump();
        h.puback(1);
        h.send(Packet::PubRec(PubResponse::new(2)));
        h.send(Packet::PubComp(PubResponse::new(2)));
        h.deliver("g/in", b"in", QoS::ExactlyOnce, Some(7), false);
        h.send(Packet::PubRel(PubResponse::new(7)));
        (h.sent, h.events)
    };
    let (sent, events) = run(false);
    assert_eq!(
        types(&sent),
        [
            PacketType::Publish,
            PacketType::Publish,
            PacketType::Publish,
            PacketType::PubRel,
            PacketType::PubRec,
            PacketType::PubComp,
        ]
    );
    assert_eq!(run(true), (sent, events));
}
