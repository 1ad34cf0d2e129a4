//! Session resumption across reconnects: resend with DUP in order, PUBREL, session loss.

mod common;

use common::{publishes, types, Harness};
use mqtt_engine::{Event, Options, PublishFailure};
use mqtt_proto::{Packet, PacketType, ProtocolVersion, PubResponse, QoS, ReasonCode};

fn persistent(version: ProtocolVersion) -> Harness {
    Harness::new(Options::new("c").protocol(version).clean_session(false))
}

#[test]
fn mqtt_4_4_0_1_unacked_publishes_resent_with_dup_in_order() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut h = persistent(version);
        h.connect(false);
        let a = h.publish("t", b"a", QoS::AtLeastOnce).expect("id");
        let b = h.publish("t", b"b", QoS::ExactlyOnce).expect("id");
        let c = h.publish("t", b"c", QoS::AtLeastOnce).expect("id");
        h.puback(a);
        h.take_sent();
        h.client.connection_lost(h.now);
        h.connect(true);
        let sent = h.take_sent();
        let resent = publishes(&sent);
        // [MQTT-4.6.0-1] original order, [MQTT-3.3.1-1] DUP set, same identifiers.
        assert_eq!(
            resent
                .iter()
                .map(|p| (p.packet_id, p.dup))
                .collect::<Vec<_>>(),
            [(Some(b), true), (Some(c), true)]
        );
        assert_eq!(resent[0].payload, "b");
    }
}

#[test]
fn mqtt_4_3_3_pubrel_resent_after_reconnect() {
    let mut h = persistent(ProtocolVersion::V5);
    h.connect(false);
    let id = h.publish("t", b"x", QoS::ExactlyOnce).expect("id");
    h.send(Packet::PubRec(PubResponse::new(id)));
    h.take_sent();
    h.client.connection_lost(h.now);
    h.connect(true);
    // [MQTT-4.3.3-6]: after PUBREL, never the PUBLISH again.
    assert_eq!(h.take_sent(), [Packet::PubRel(PubResponse::new(id))]);
    h.send(Packet::PubComp(PubResponse::new(id)));
    assert!(h.take_events().contains(&Event::PublishComplete {
        packet_id: id,
        reason_code: ReasonCode::Success
    }));
}

#[test]
fn mqtt_4_6_0_4_pubrels_follow_pubrec_order() {
    let mut h = persistent(ProtocolVersion::V311);
    h.connect(false);
    let a = h.publish("t", b"a", QoS::ExactlyOnce).expect("id");
    let b = h.publish("t", b"b", QoS::ExactlyOnce).expect("id");
    h.send(Packet::PubRec(PubResponse::new(b)));
    h.send(Packet::PubRec(PubResponse::new(a)));
    h.take_sent();
    h.client.connection_lost(h.now);
    h.connect(true);
    assert_eq!(
        h.take_sent(),
        [
            Packet::PubRel(PubResponse::new(b)),
            Packet::PubRel(PubResponse::new(a))
        ]
    );
}

#[test]
fn mqtt_4_4_0_1_nothing_is_resent_while_connected() {
    let mut h = persistent(ProtocolVersion::V5);
    h.connect(false);
    h.publish("t", b"x", QoS::AtLeastOnce);
    h.take_sent();
    h.advance_ms(120_000);
    assert!(
        publishes(&h.take_sent()).is_empty(),
        "no retransmission on a live connection"
    );
}

#[test]
fn mqtt_3_2_2_5_session_lost_messages_are_published_again_as_new() {
    let mut h = persistent(ProtocolVersion::V5);
    h.connect(false);
    let a = h.publish("t", b"a", QoS::AtLeastOnce).expect("id");
    let b = h.publish("t", b"b", QoS::ExactlyOnce).expect("id");
    h.send(Packet::PubRec(PubResponse::new(b)));
    h.take_sent();
    h.take_events();
    h.client.connection_lost(h.now);
    h.connect(false);
    let sent = h.take_sent();
    let again = publishes(&sent);
    assert_eq!(
        again
            .iter()
            .map(|p| (p.packet_id, p.dup))
            .collect::<Vec<_>>(),
        [(Some(a), false)]
    );
    assert!(
        !types(&sent).contains(&PacketType::PubRel),
        "no PUBREL into a new session"
    );
    // The released message had been taken over by the server.
    assert!(h.take_events().contains(&Event::PublishComplete {
        packet_id: b,
        reason_code: ReasonCode::Success
    }));
}

#[test]
fn session_lost_without_republishing_reports_failures() {
    let mut h = Harness::new(
        Options::new("c")
            .clean_session(false)
            .republish_on_session_loss(false),
    );
    h.connect(false);
    let a = h.publish("t", b"a", QoS::AtLeastOnce).expect("id");
    h.client.connection_lost(h.now);
    h.take_sent();
    h.take_events();
    h.connect(false);
    assert!(h.take_events().contains(&Event::PublishFailed {
        packet_id: Some(a),
        reason: PublishFailure::SessionLost
    }));
    assert!(h.client.is_idle());
}

#[test]
fn subscriptions_are_renewed_when_the_server_lost_the_session() {
    let mut h = persistent(ProtocolVersion::V311);
    h.connect(false);
    let id = h
        .client
        .subscribe_one("cmd/#", QoS::AtLeastOnce, h.now)
        .expect("subscribe");
    h.pump();
    h.suback(id, vec![ReasonCode::GrantedQoS1]);
    h.take_sent();
    h.client.connection_lost(h.now);
    h.connect(false);
    let sent = h.take_sent();
    let [Packet::Subscribe(s)] = &sent[..] else {
        panic!("{sent:?}")
    };
    assert_eq!(s.subscriptions[0].filter, "cmd/#");
    let renewed = s.packet_id;
    h.suback(renewed, vec![ReasonCode::GrantedQoS1]);
    h.client.connection_lost(h.now);
    h.connect(true);
    assert!(
        h.take_sent().is_empty(),
        "a present session keeps its subscriptions"
    );
}

#[test]
fn unanswered_subscribe_is_sent_again_on_the_next_connection() {
    let mut h = Harness::v5("c");
    h.connect(false);
    let id = h
        .client
        .subscribe_one("a", QoS::AtMostOnce, h.now)
        .expect("subscribe");
    h.pump();
    h.take_sent();
    h.client.connection_lost(h.now);
    h.connect(false);
    assert!(matches!(&h.take_sent()[..], [Packet::Subscribe(s)] if s.packet_id == id));
}

#[test]
fn clean_session_reconnects_start_clean_persistent_ones_do_not() {
    let mut h = Harness::v311("c");
    h.connect(false);
    h.client.connection_lost(h.now);
    h.client.connect(h.now);
    h.pump();
    assert!(matches!(&h.take_sent()[..], [Packet::Connect(c)] if c.clean_start));
    let mut h = Harness::new(Options::new("c").session_expiry_secs(60));
    h.connect(false);
    h.client.connection_lost(h.now);
    h.client.connect(h.now);
    h.pump();
    assert!(
        matches!(&h.take_sent()[..], [Packet::Connect(c)] if !c.clean_start && c.properties.session_expiry_interval == Some(60)),
        "v5: clean start first, then resume the session that expires in 60 s"
    );
}

#[test]
fn restarted_process_resends_from_its_store() {
    let mut h = persistent(ProtocolVersion::V5);
    h.connect(false);
    let id = h.publish("t", b"x", QoS::AtLeastOnce).expect("id");
    let store = h.client.store().clone();
    // A new client on the same store, as after a process restart.
    let mut client =
        mqtt_engine::Client::with_store(Options::new("c").clean_session(false), store, h.now)
            .expect("client");
    client.connect(h.now);
    let mut bytes = bytes::BytesMut::new();
    while let Some(out) = client.poll_output(h.now) {
        if let mqtt_engine::Output::Transmit(b) = out {
            bytes.extend_from_slice(&b);
        }
    }
    let ack = mqtt_proto::ConnAck {
        session_present: true,
        reason_code: ReasonCode::Success,
        properties: Default::default(),
    };
    let mut wire = bytes::BytesMut::new();
    Packet::from(ack)
        .encode(ProtocolVersion::V5, &mut wire)
        .expect("encode");
    client.handle_input(&wire, h.now).expect("valid");
    let mut sent = bytes::BytesMut::new();
    while let Some(out) = client.poll_output(h.now) {
        if let mqtt_engine::Output::Transmit(b) = out {
            sent.extend_from_slice(&b);
        }
    }
    let packet = mqtt_proto::decode(&mut sent, ProtocolVersion::V5, usize::MAX)
        .expect("valid")
        .expect("one packet");
    assert!(matches!(packet, Packet::Publish(p) if p.packet_id == Some(id) && p.dup));
    let next = client
        .publish(
            mqtt_proto::Publish::new("t".try_into().expect("topic"), "y")
                .with_qos(QoS::AtLeastOnce),
            h.now,
        )
        .expect("id");
    assert_ne!(next, Some(id), "the restored in-flight id is not reused");
}
