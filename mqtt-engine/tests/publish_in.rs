//! Incoming publishes: QoS 0/1/2 receiver rules, manual acks, topic aliases, our Receive
//! Maximum, and subscriptions.

mod common;

use common::{types, Harness};
use mqtt_engine::{DisconnectReason, Event, Options, ProtocolError};
use mqtt_proto::{
    Packet, PacketType, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode, SubAck,
};

#[test]
fn qos0_is_delivered_without_answer() {
    let mut h = Harness::v311("c");
    h.connect(false);
    h.deliver("a/b", b"hi", QoS::AtMostOnce, None, false);
    assert_eq!(h.messages(), [("a/b".to_string(), b"hi".to_vec())]);
    assert!(h.take_sent().is_empty());
}

#[test]
fn mqtt_4_3_2_4_qos1_is_answered_with_puback() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut h = Harness::new(Options::new("c").protocol(version));
        h.connect(false);
        h.deliver("t", b"1", QoS::AtLeastOnce, Some(7), false);
        assert_eq!(h.take_sent(), [Packet::PubAck(PubResponse::new(7))]);
        // [MQTT-4.3.2-5]: the same id afterwards is a new publication.
        h.deliver("t", b"2", QoS::AtLeastOnce, Some(7), true);
        assert_eq!(h.messages().len(), 2);
    }
}

#[test]
fn mqtt_4_3_3_10_qos2_duplicate_is_acknowledged_not_delivered_again() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut h = Harness::new(Options::new("c").protocol(version));
        h.connect(false);
        h.deliver("t", b"once", QoS::ExactlyOnce, Some(9), false);
        // [MQTT-4.3.3-8]
        assert_eq!(h.take_sent(), [Packet::PubRec(PubResponse::new(9))]);
        h.deliver("t", b"once", QoS::ExactlyOnce, Some(9), true);
        assert_eq!(h.take_sent(), [Packet::PubRec(PubResponse::new(9))]);
        assert_eq!(h.messages().len(), 1, "delivered once");
        // [MQTT-4.3.3-11]
        h.send(Packet::PubRel(PubResponse::new(9)));
        assert_eq!(h.take_sent(), [Packet::PubComp(PubResponse::new(9))]);
        // [MQTT-4.3.3-12]: after PUBCOMP the id starts a new publication.
        h.deliver("t", b"again", QoS::ExactlyOnce, Some(9), false);
        assert_eq!(h.messages().len(), 2);
    }
}

/// A QoS 2 PUBLISH without DUP on an identifier we still hold (PUBREC sent, no PUBREL) is
/// the sender's first attempt at a new message [MQTT-3.3.1-1]: a broker restarted from an older
/// save reuses identifiers it forgot. It is delivered (the chaos suite lost such a message
/// when it was taken for a repeat); a repeat (DUP) is still not delivered again.
#[test]
fn qos2_first_attempt_on_an_identifier_still_held_is_a_new_message() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut h = Harness::new(Options::new("c").protocol(version));
        h.connect(false);
        h.deliver("t", b"old", QoS::ExactlyOnce, Some(9), false);
        assert_eq!(h.take_sent(), [Packet::PubRec(PubResponse::new(9))]);
        h.deliver("t", b"new", QoS::ExactlyOnce, Some(9), false);
        assert_eq!(h.take_sent(), [Packet::PubRec(PubResponse::new(9))]);
        h.deliver("t", b"new", QoS::ExactlyOnce, Some(9), true);
        assert_eq!(h.take_sent(), [Packet::PubRec(PubResponse::new(9))]);
        let messages: Vec<Vec<u8>> = h.messages().into_iter().map(|(_, p)| p).collect();
        assert_eq!(messages, [b"old".to_vec(), b"new".to_vec()], "{version:?}");
        h.send(Packet::PubRel(PubResponse::new(9)));
        assert_eq!(h.take_sent(), [Packet::PubComp(PubResponse::new(9))]);
    }
}

/// The reused identifier keeps the one receive slot it had (MQTT 5 Receive Maximum).
#[test]
fn qos2_reused_identifier_takes_no_second_receive_slot() {
    let mut h = Harness::new(Options::new("c").receive_maximum(2));
    h.connect(false);
    h.deliver("t", b"1", QoS::ExactlyOnce, Some(1), false);
    h.deliver("t", b"1 again", QoS::ExactlyOnce, Some(1), false);
    h.deliver("t", b"2", QoS::ExactlyOnce, Some(2), false);
    assert_eq!(types(&h.take_sent()), [PacketType::PubRec; 3]);
    h.deliver("t", b"3", QoS::ExactlyOnce, Some(3), false);
    assert!(
        matches!(&h.take_sent()[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::ReceiveMaximumExceeded),
        "two identifiers held, the third is one too many"
    );
}

#[test]
fn unknown_pubrel_gets_pubcomp_packet_identifier_not_found() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.send(Packet::PubRel(PubResponse::new(3)));
    let expected = PubResponse {
        reason_code: ReasonCode::PacketIdentifierNotFound,
        ..PubResponse::new(3)
    };
    assert_eq!(h.take_sent(), [Packet::PubComp(expected)]);
    let mut h = Harness::v311("c");
    h.connect(false);
    h.send(Packet::PubRel(PubResponse::new(3)));
    assert_eq!(h.take_sent(), [Packet::PubComp(PubResponse::new(3))]);
}

#[test]
fn qos2_state_survives_a_reconnect_with_session() {
    let mut h = Harness::new(Options::new("c").clean_session(false));
    h.connect(false);
    h.deliver("t", b"x", QoS::ExactlyOnce, Some(5), false);
    h.client.connection_lost(h.now);
    h.take_sent();
    h.connect(true);
    // The server did not see our PUBREC: it sends the PUBLISH again.
    h.deliver("t", b"x", QoS::ExactlyOnce, Some(5), true);
    assert_eq!(
        h.messages().len(),
        1,
        "not delivered twice across connections"
    );
    assert_eq!(h.take_sent(), [Packet::PubRec(PubResponse::new(5))]);
}

#[test]
fn mqtt_4_6_0_2_manual_acks_leave_in_arrival_order() {
    let mut h = Harness::new(Options::new("c").manual_acks(true));
    h.connect(false);
    h.deliver("t", b"1", QoS::AtLeastOnce, Some(1), false);
    h.deliver("t", b"2", QoS::ExactlyOnce, Some(2), false);
    h.deliver("t", b"3", QoS::AtLeastOnce, Some(3), false);
    assert!(
        h.take_sent().is_empty(),
        "nothing acknowledged before the application says so"
    );
    let tokens: Vec<_> = h
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(m) => m.ack_token(),
            _ => None,
        })
        .collect();
    assert_eq!(tokens.len(), 3);
    h.client.ack(tokens[2], h.now);
    h.client.ack(tokens[1], h.now);
    h.pump();
    assert!(h.take_sent().is_empty(), "3 and 2 wait for 1");
    h.client.ack(tokens[0], h.now);
    h.pump();
    assert_eq!(
        h.take_sent(),
        [
            Packet::PubAck(PubResponse::new(1)),
            Packet::PubRec(PubResponse::new(2)),
            Packet::PubAck(PubResponse::new(3))
        ]
    );
}

#[test]
fn manual_ack_qos2_duplicate_before_ack_is_suppressed() {
    let mut h = Harness::new(Options::new("c").manual_acks(true));
    h.connect(false);
    h.deliver("t", b"x", QoS::ExactlyOnce, Some(4), false);
    h.deliver("t", b"x", QoS::ExactlyOnce, Some(4), true);
    assert_eq!(h.messages().len(), 1);
    assert!(h.take_sent().is_empty());
}

#[test]
fn mqtt_4_5_0_2_messages_are_acknowledged_even_without_subscription() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.deliver("never/subscribed", b"x", QoS::AtLeastOnce, Some(1), false);
    assert_eq!(types(&h.take_sent()), [PacketType::PubAck]);
}

#[test]
fn mqtt_3_3_2_10_incoming_topic_alias_is_resolved() {
    let mut h = Harness::new(Options::new("c").topic_alias_maximum(2));
    h.connect(false);
    let mut first = Publish::new("long/topic".try_into().expect("topic"), "1");
    first.properties.topic_alias = Some(2);
    h.send(Packet::Publish(first));
    let mut second = Publish::new(mqtt_proto::TopicName::default(), "2");
    second.properties.topic_alias = Some(2);
    h.send(Packet::Publish(second));
    assert_eq!(
        h.messages(),
        [
            ("long/topic".to_string(), b"1".to_vec()),
            ("long/topic".to_string(), b"2".to_vec())
        ]
    );
}

#[test]
fn topic_alias_above_our_maximum_disconnects_with_0x94() {
    let mut h = Harness::new(Options::new("c").topic_alias_maximum(2));
    h.connect(false);
    h.take_events();
    let mut p = Publish::new("t".try_into().expect("topic"), "x");
    p.properties.topic_alias = Some(3);
    h.send(Packet::Publish(p));
    assert!(
        matches!(&h.take_sent()[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::TopicAliasInvalid)
    );
    let events = h.take_events();
    assert!(matches!(
        events[0],
        Event::Disconnected(DisconnectReason::ProtocolError(
            ProtocolError::TopicAliasInvalid(3)
        ))
    ));
}

#[test]
fn unknown_alias_with_empty_topic_is_a_violation() {
    let mut h = Harness::v5("c");
    h.connect(false);
    let mut p = Publish::new(mqtt_proto::TopicName::default(), "x");
    p.properties.topic_alias = Some(1);
    h.send(Packet::Publish(p));
    assert!(
        matches!(&h.take_sent()[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::TopicAliasInvalid)
    );
}

#[test]
fn mqtt_3_3_4_9_server_exceeding_our_receive_maximum_is_disconnected() {
    let mut h = Harness::new(Options::new("c").receive_maximum(2).manual_acks(true));
    h.connect(false);
    h.deliver("t", b"1", QoS::AtLeastOnce, Some(1), false);
    h.deliver("t", b"2", QoS::ExactlyOnce, Some(2), false);
    assert!(h.take_sent().is_empty());
    h.deliver("t", b"3", QoS::AtLeastOnce, Some(3), false);
    assert!(
        matches!(&h.take_sent()[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::ReceiveMaximumExceeded)
    );
}

#[test]
fn mqtt_3_8_4_subscribe_results_per_filter() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.take_events();
    let subs = vec![
        mqtt_proto::Subscription::new("a/#".try_into().expect("filter"), QoS::ExactlyOnce),
        mqtt_proto::Subscription::new("b/+".try_into().expect("filter"), QoS::AtLeastOnce),
        mqtt_proto::Subscription::new("c".try_into().expect("filter"), QoS::AtMostOnce),
    ];
    let id = h.client.subscribe(subs, h.now).expect("subscribe");
    h.pump();
    let sent = h.take_sent();
    assert!(
        matches!(&sent[..], [Packet::Subscribe(s)] if s.packet_id == id && s.subscriptions.len() == 3)
    );
    // max_qos downgrade and a refusal are both surfaced.
    h.suback(
        id,
        vec![
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS1,
            ReasonCode::NotAuthorized,
        ],
    );
    assert_eq!(
        h.take_events(),
        [Event::Subscribed {
            packet_id: id,
            results: vec![
                Ok(QoS::AtLeastOnce),
                Ok(QoS::AtLeastOnce),
                Err(ReasonCode::NotAuthorized)
            ]
        }]
    );
}

#[test]
fn unsubscribe_results_in_both_versions() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut h = Harness::new(Options::new("c").protocol(version));
        h.connect(false);
        h.take_events();
        let id = h
            .client
            .unsubscribe(vec!["a".into(), "b".into()], h.now)
            .expect("unsubscribe");
        h.pump();
        assert_eq!(types(&h.take_sent()), [PacketType::Unsubscribe]);
        let codes = match version {
            ProtocolVersion::V311 => vec![],
            ProtocolVersion::V5 => vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
        };
        h.send(Packet::UnsubAck(SubAck {
            packet_id: id,
            properties: Default::default(),
            reason_codes: codes,
        }));
        let expected = match version {
            ProtocolVersion::V311 => vec![ReasonCode::Success, ReasonCode::Success],
            ProtocolVersion::V5 => vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
        };
        assert_eq!(
            h.take_events(),
            [Event::Unsubscribed {
                packet_id: id,
                results: expected
            }]
        );
    }
}

#[test]
fn subscriptions_made_before_connecting_go_first_after_connack() {
    let mut h = Harness::v5("c");
    h.client
        .subscribe_one("cmd/#", QoS::AtLeastOnce, h.now)
        .expect("subscribe");
    h.publish("t", b"x", QoS::AtLeastOnce);
    h.pump();
    assert!(h.take_sent().is_empty());
    h.connect(false);
    assert_eq!(
        types(&h.take_sent()),
        [PacketType::Subscribe, PacketType::Publish]
    );
}

#[test]
fn suback_with_wrong_number_of_codes_is_a_violation() {
    let mut h = Harness::v5("c");
    h.connect(false);
    let id = h
        .client
        .subscribe_one("a", QoS::AtMostOnce, h.now)
        .expect("subscribe");
    h.pump();
    h.take_sent();
    h.suback(id, vec![ReasonCode::Success, ReasonCode::Success]);
    assert!(
        matches!(&h.take_sent()[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::ProtocolError)
    );
}
