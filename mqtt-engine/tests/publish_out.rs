//! Outgoing publishes: QoS 0/1/2 flows, packet identifiers, the send quota and the queue.

mod common;

use std::collections::HashSet;

use common::{publishes, types, Harness};
use mqtt_engine::{Error, Event, Options};
use mqtt_proto::{
    ConnAckProperties, Packet, PacketType, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode,
};

#[test]
fn mqtt_4_3_1_1_qos0_has_no_id_and_dup_0() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut h = Harness::new(Options::new("c").protocol(version));
        h.connect(false);
        assert_eq!(h.publish("t", b"x", QoS::AtMostOnce), None);
        let sent = h.take_sent();
        let p = publishes(&sent)[0];
        assert_eq!((p.qos, p.packet_id, p.dup), (QoS::AtMostOnce, None, false));
        assert!(h.client.is_idle());
    }
}

#[test]
fn mqtt_4_3_2_qos1_unacknowledged_until_puback() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut h = Harness::new(Options::new("c").protocol(version));
        h.connect(false);
        h.take_events();
        let id = h
            .publish("t", b"x", QoS::AtLeastOnce)
            .expect("QoS 1 gets an id");
        let sent = h.take_sent();
        // [MQTT-4.3.2-2]
        let p = publishes(&sent)[0];
        assert_eq!(
            (p.qos, p.packet_id, p.dup),
            (QoS::AtLeastOnce, Some(id), false)
        );
        // [MQTT-4.3.2-3]
        assert_eq!(h.client.inflight_len(), 1);
        h.puback(id);
        assert_eq!(h.client.inflight_len(), 0);
        assert_eq!(
            h.take_events(),
            [Event::PublishComplete {
                packet_id: id,
                reason_code: ReasonCode::Success
            }]
        );
    }
}

#[test]
fn mqtt_4_3_3_qos2_publish_pubrec_pubrel_pubcomp() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut h = Harness::new(Options::new("c").protocol(version));
        h.connect(false);
        h.take_events();
        let id = h.publish("t", b"x", QoS::ExactlyOnce).expect("id");
        assert_eq!(types(&h.take_sent()), [PacketType::Publish]);
        h.send(Packet::PubRec(PubResponse::new(id)));
        // [MQTT-4.3.3-4]
        assert_eq!(h.take_sent(), [Packet::PubRel(PubResponse::new(id))]);
        assert!(
            h.take_events().is_empty(),
            "not complete before PUBCOMP [MQTT-4.3.3-5]"
        );
        h.send(Packet::PubComp(PubResponse::new(id)));
        assert_eq!(
            h.take_events(),
            [Event::PublishComplete {
                packet_id: id,
                reason_code: ReasonCode::Success
            }]
        );
        assert!(h.client.is_idle());
    }
}

#[test]
fn mqtt_4_4_0_2_pubrec_failure_completes_without_pubrel() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.take_events();
    let id = h.publish("t", b"x", QoS::ExactlyOnce).expect("id");
    h.take_sent();
    let refused = PubResponse {
        reason_code: ReasonCode::NotAuthorized,
        ..PubResponse::new(id)
    };
    h.send(Packet::PubRec(refused));
    assert!(h.take_sent().is_empty(), "no PUBREL after a failed PUBREC");
    assert_eq!(
        h.take_events(),
        [Event::PublishComplete {
            packet_id: id,
            reason_code: ReasonCode::NotAuthorized
        }]
    );
    assert!(h.client.is_idle());
}

#[test]
fn mqtt_2_2_1_3_ids_are_unused_and_non_zero() {
    let mut h = Harness::v5("c");
    h.connect(false);
    let mut in_flight = HashSet::new();
    for _ in 0..1_000 {
        let id = h.publish("t", b"x", QoS::AtLeastOnce).expect("id");
        assert_ne!(id, 0);
        assert!(in_flight.insert(id), "id {id} reused while in flight");
    }
    // Complete half, publish more: none of the still-unacknowledged ids comes back.
    let done: Vec<u16> = in_flight.iter().copied().filter(|id| id % 2 == 0).collect();
    for id in &done {
        h.puback(*id);
        in_flight.remove(id);
    }
    for _ in 0..1_000 {
        let id = h.publish("t", b"x", QoS::AtLeastOnce).expect("id");
        assert!(in_flight.insert(id), "id {id} reused while in flight");
    }
}

#[test]
fn ids_wrap_around_skipping_those_in_use() {
    let mut h = Harness::new(Options::new("c").max_queued(70_000).max_inflight(65_535));
    h.connect(false);
    let first = h.publish("t", b"x", QoS::AtLeastOnce).expect("id");
    for _ in 0..65_534 {
        h.client
            .publish(
                Publish::new("t".try_into().expect("topic"), "x").with_qos(QoS::AtLeastOnce),
                h.now,
            )
            .expect("id");
    }
    let exhausted = h.client.publish(
        Publish::new("t".try_into().expect("topic"), "x").with_qos(QoS::AtLeastOnce),
        h.now,
    );
    assert_eq!(
        exhausted,
        Err(Error::QueueFull(0)),
        "no id left: the queue is full, not the ids"
    );
    h.pump();
    h.puback(first);
    let again = h.client.publish(
        Publish::new("t".try_into().expect("topic"), "x").with_qos(QoS::AtLeastOnce),
        h.now,
    );
    assert_eq!(again, Ok(Some(first)), "the one free id is found");
}

#[test]
fn mqtt_3_3_4_7_send_quota_is_the_servers_receive_maximum() {
    let mut h = Harness::v5("c");
    h.connect_with(
        false,
        ConnAckProperties {
            receive_maximum: Some(2),
            ..Default::default()
        },
    );
    let ids: Vec<u16> = (0..5)
        .map(|_| h.publish("t", b"x", QoS::AtLeastOnce).expect("id"))
        .collect();
    let sent = h.take_sent();
    assert_eq!(
        publishes(&sent)
            .iter()
            .map(|p| p.packet_id)
            .collect::<Vec<_>>(),
        [Some(ids[0]), Some(ids[1])]
    );
    assert_eq!((h.client.inflight_len(), h.client.queued_len()), (2, 3));
    // [MQTT-4.9.0-2]: each acknowledgement frees one slot, and order is kept.
    h.puback(ids[0]);
    assert_eq!(publishes(&h.take_sent())[0].packet_id, Some(ids[2]));
    h.puback(ids[1]);
    h.puback(ids[2]);
    let sent = h.take_sent();
    assert_eq!(
        publishes(&sent)
            .iter()
            .map(|p| p.packet_id)
            .collect::<Vec<_>>(),
        [Some(ids[3]), Some(ids[4])]
    );
}

#[test]
fn user_inflight_limit_applies_below_the_servers() {
    let mut h = Harness::new(Options::new("c").max_inflight(1));
    h.connect(false);
    let a = h.publish("t", b"x", QoS::ExactlyOnce).expect("id");
    let _b = h.publish("t", b"x", QoS::ExactlyOnce).expect("id");
    assert_eq!(publishes(&h.take_sent()).len(), 1);
    h.send(Packet::PubRec(PubResponse::new(a)));
    assert_eq!(
        types(&h.take_sent()),
        [PacketType::PubRel],
        "the slot stays used until PUBCOMP"
    );
    h.send(Packet::PubComp(PubResponse::new(a)));
    assert_eq!(types(&h.take_sent()), [PacketType::Publish]);
}

#[test]
fn mqtt_3_3_4_8_quota_does_not_delay_other_packets() {
    let mut h = Harness::v5("c");
    h.connect_with(
        false,
        ConnAckProperties {
            receive_maximum: Some(1),
            ..Default::default()
        },
    );
    h.publish("t", b"1", QoS::AtLeastOnce);
    h.publish("t", b"2", QoS::AtLeastOnce);
    h.take_sent();
    h.client
        .subscribe_one("a/#", QoS::AtLeastOnce, h.now)
        .expect("subscribe");
    h.pump();
    assert_eq!(types(&h.take_sent()), [PacketType::Subscribe]);
}

#[test]
fn qos0_keeps_its_place_behind_a_blocked_qos1() {
    let mut h = Harness::v5("c");
    h.connect_with(
        false,
        ConnAckProperties {
            receive_maximum: Some(1),
            ..Default::default()
        },
    );
    let a = h.publish("t", b"1", QoS::AtLeastOnce).expect("id");
    h.publish("t", b"2", QoS::AtLeastOnce);
    h.publish("t", b"3", QoS::AtMostOnce);
    let payloads = |sent: &[Packet]| {
        publishes(sent)
            .iter()
            .map(|p| p.payload.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(payloads(&h.take_sent()), ["1"]);
    h.puback(a);
    assert_eq!(payloads(&h.take_sent()), ["2", "3"]);
}

#[test]
fn publishes_made_offline_are_sent_after_connack_in_order() {
    let mut h = Harness::v5("c");
    h.publish("t", b"1", QoS::AtMostOnce);
    h.publish("t", b"2", QoS::AtLeastOnce);
    h.publish("t", b"3", QoS::ExactlyOnce);
    assert!(h.take_sent().is_empty());
    assert_eq!(h.client.queued_len(), 3);
    h.connect(false);
    let sent = h.take_sent();
    let payloads: Vec<_> = publishes(&sent).iter().map(|p| p.payload.clone()).collect();
    assert_eq!(payloads, ["1", "2", "3"]);
    assert!(
        publishes(&sent).iter().all(|p| !p.dup),
        "first transmissions have DUP 0"
    );
}

#[test]
fn full_queue_is_an_error_not_a_silent_drop() {
    let mut h = Harness::new(Options::new("c").max_queued(2));
    h.publish("t", b"1", QoS::AtLeastOnce);
    h.publish("t", b"2", QoS::AtMostOnce);
    let full = h
        .client
        .publish(Publish::new("t".try_into().expect("topic"), "3"), h.now);
    assert_eq!(full, Err(Error::QueueFull(2)));
}

#[test]
fn mqtt_3_2_2_limits_from_connack_refuse_publishes() {
    let mut h = Harness::v5("c");
    let props = ConnAckProperties {
        maximum_qos: Some(QoS::AtLeastOnce),
        retain_available: Some(false),
        maximum_packet_size: Some(64),
        ..Default::default()
    };
    h.connect_with(false, props);
    // [MQTT-3.2.2-11]
    let qos2 = h.client.publish(
        Publish::new("t".try_into().expect("topic"), "x").with_qos(QoS::ExactlyOnce),
        h.now,
    );
    assert_eq!(
        qos2,
        Err(Error::QoSNotSupported {
            requested: QoS::ExactlyOnce,
            max: QoS::AtLeastOnce
        })
    );
    // [MQTT-3.2.2-14]
    let retained = h.client.publish(
        Publish::new("t".try_into().expect("topic"), "x").with_retain(true),
        h.now,
    );
    assert_eq!(retained, Err(Error::RetainNotSupported));
    // [MQTT-3.2.2-15]
    let big = h.client.publish(
        Publish::new("t".try_into().expect("topic"), vec![0u8; 100]),
        h.now,
    );
    assert!(
        matches!(big, Err(Error::PacketTooLarge { max: 64, .. })),
        "{big:?}"
    );
    h.pump();
    assert!(h.take_sent().is_empty());
}

#[test]
fn queued_publishes_failing_the_new_limits_are_reported() {
    let mut h = Harness::v5("c");
    let id = h.publish("t", b"x", QoS::ExactlyOnce);
    h.connect_with(
        false,
        ConnAckProperties {
            maximum_qos: Some(QoS::AtMostOnce),
            ..Default::default()
        },
    );
    let failed = h.take_events().into_iter().any(|e| matches!(
        e,
        Event::PublishFailed { packet_id, reason: mqtt_engine::PublishFailure::Refused(Error::QoSNotSupported { .. }) }
            if packet_id == id
    ));
    assert!(failed);
    assert!(publishes(&h.take_sent()).is_empty());
}

/// A topic with a wildcard (or too long, or with U+0000) cannot be built; the one empty name
/// (for an MQTT 5 topic alias, which the engine manages itself) is refused at publish.
#[test]
fn invalid_topics_are_refused_at_publish() {
    let mut h = Harness::v5("c");
    for topic in ["", "a/+", "a/#"] {
        assert!(mqtt_proto::TopicName::new(topic).is_err(), "{topic}");
    }
    let empty = Publish::new(mqtt_proto::TopicName::default(), "x");
    let r = h.client.publish(empty, h.now);
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
}

/// On a live connection the publish is encoded at once, and that encoding is the check: the
/// empty name without an alias is refused before a byte is sent, nothing is kept for a resend,
/// and the connection carries on; the other broken names cannot be built (a topic one byte
/// longer than its length field was once sent with a truncated length).
#[test]
fn invalid_topics_are_refused_on_a_live_connection_and_nothing_is_sent() {
    let long = "a".repeat(65_536);
    for topic in ["", "a/+", "a/#", "a\0b", long.as_str()] {
        assert!(
            mqtt_proto::TopicName::new(topic).is_err(),
            "{} bytes",
            topic.len()
        );
    }
    for mut h in [Harness::v311("c"), Harness::v5("c")] {
        h.connect(false);
        h.take_sent();
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            let empty = Publish::new(mqtt_proto::TopicName::default(), "x").with_qos(qos);
            let r = h.client.publish(empty, h.now);
            assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
            h.pump();
            assert!(h.take_sent().is_empty(), "{qos:?}");
        }
        let fits = "a".repeat(65_535);
        h.publish(&fits, b"ok", QoS::AtLeastOnce);
        let sent = h.take_sent();
        let p = publishes(&sent);
        assert_eq!((p.len(), p[0].topic.len()), (1, 65_535));
    }
}

#[test]
fn mqtt_3_2_2_17_topic_aliases_up_to_the_servers_maximum() {
    let mut h = Harness::v5("c");
    h.connect_with(
        false,
        ConnAckProperties {
            topic_alias_maximum: Some(1),
            ..Default::default()
        },
    );
    h.publish("a/long/topic", b"1", QoS::AtMostOnce);
    h.publish("a/long/topic", b"2", QoS::AtMostOnce);
    h.publish("other", b"3", QoS::AtMostOnce);
    let sent = h.take_sent();
    let p = publishes(&sent);
    assert_eq!(
        (p[0].topic.as_str(), p[0].properties.topic_alias),
        ("a/long/topic", Some(1))
    );
    assert_eq!(
        (p[1].topic.as_str(), p[1].properties.topic_alias),
        ("", Some(1))
    );
    // [MQTT-3.3.2-9]: no alias above the maximum.
    assert_eq!(
        (p[2].topic.as_str(), p[2].properties.topic_alias),
        ("other", None)
    );
}

/// The engine lends a publish without properties a property set of its own to carry the alias
/// while it is encoded: a publish with properties keeps them (beside the alias), and nothing of
/// one publish's properties reaches the next.
#[test]
fn an_aliased_publish_keeps_its_own_properties_and_lends_none_to_the_next() {
    let mut h = Harness::new(
        Options::new("c")
            .protocol(ProtocolVersion::V5)
            .clean_session(false)
            .session_expiry_secs(60),
    );
    h.connect_with(
        false,
        ConnAckProperties {
            topic_alias_maximum: Some(2),
            ..Default::default()
        },
    );
    h.publish("t", b"1", QoS::AtMostOnce);
    let mut with_type =
        Publish::new("t".try_into().expect("topic"), &b"2"[..]).with_qos(QoS::AtLeastOnce);
    with_type.properties.content_type = Some("text/plain".into());
    h.client
        .publish(with_type, h.now)
        .expect("publish accepted");
    h.pump();
    h.publish("t", b"3", QoS::AtLeastOnce);
    // Topic, alias and content type of each PUBLISH sent.
    let seen = |sent: &[Packet]| -> Vec<(String, Option<u16>, Option<String>)> {
        publishes(sent)
            .iter()
            .map(|p| {
                (
                    p.topic.to_string(),
                    p.properties.topic_alias,
                    p.properties.content_type.as_ref().map(ToString::to_string),
                )
            })
            .collect()
    };
    let text = Some("text/plain".to_string());
    assert_eq!(
        seen(&h.take_sent()),
        [
            ("t".into(), Some(1), None),
            (String::new(), Some(1), text.clone()),
            (String::new(), Some(1), None)
        ]
    );
    // The session's copies (resent on reconnect) keep their full topic and properties, no alias.
    h.client.connection_lost(h.now);
    h.take_sent();
    h.connect_with(true, ConnAckProperties::default());
    assert_eq!(
        seen(&h.take_sent()),
        [("t".into(), None, text), ("t".into(), None, None)]
    );
}

#[test]
fn mqtt_3_2_2_18_no_aliases_when_the_server_allows_none() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.publish("t", b"1", QoS::AtMostOnce);
    h.publish("t", b"2", QoS::AtMostOnce);
    assert!(publishes(&h.take_sent())
        .iter()
        .all(|p| p.properties.topic_alias.is_none()));
}

#[test]
fn mqtt_3_3_2_7_aliases_restart_on_a_new_connection() {
    let mut h = Harness::v5("c");
    let props = ConnAckProperties {
        topic_alias_maximum: Some(4),
        ..Default::default()
    };
    h.connect_with(false, props.clone());
    h.publish("t", b"1", QoS::AtMostOnce);
    h.client.connection_lost(h.now);
    h.take_sent();
    h.connect_with(false, props);
    h.publish("t", b"2", QoS::AtMostOnce);
    let sent = h.take_sent();
    let p = publishes(&sent)[0];
    assert_eq!(
        (p.topic.as_str(), p.properties.topic_alias),
        ("t", Some(1)),
        "mapping sent again"
    );
}

#[test]
fn mqtt_3_3_4_6_subscription_identifiers_are_not_sent() {
    let mut h = Harness::v5("c");
    h.connect(false);
    let mut p = Publish::new("t".try_into().expect("topic"), "x");
    p.properties.subscription_identifiers = vec![7];
    h.client.publish(p, h.now).expect("accepted");
    h.pump();
    assert!(publishes(&h.take_sent())[0]
        .properties
        .subscription_identifiers
        .is_empty());
}

/// Acknowledgements read in place (several per read, one split across reads, long forms,
/// mixed with other packets) end exactly the requests they name, in order.
#[test]
fn acks_batched_split_and_mixed_in_reads() {
    let mut h = Harness::v5("c");
    h.connect(false);
    let ids: Vec<u16> = (0..4)
        .map(|_| h.publish("t", b"x", QoS::AtLeastOnce).expect("id"))
        .collect();
    let q2 = h.publish("t", b"y", QoS::ExactlyOnce).expect("id");
    h.take_sent();
    h.take_events();
    let id = |i: usize| ids[i].to_be_bytes();
    let [q2h, q2l] = q2.to_be_bytes();
    let mut first = vec![
        0x40,
        0x02,
        id(0)[0],
        id(0)[1],
        0x40,
        0x02,
        id(1)[0],
        id(1)[1],
    ];
    first.extend([0x50, 0x02, q2h, q2l, 0x40, 0x02, id(2)[0]]);
    h.send_raw(&first).expect("valid");
    // The rest of the split PUBACK, a long-form PUBACK (reason 0x10, "no matching
    // subscribers"), PINGRESP, then PUBCOMP.
    let mut second = vec![id(2)[1], 0x40, 0x03, id(3)[0], id(3)[1], 0x10, 0xD0, 0x00];
    second.extend([0x70, 0x02, q2h, q2l]);
    h.send_raw(&second).expect("valid");
    let done: Vec<(u16, ReasonCode)> = h
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::PublishComplete {
                packet_id,
                reason_code,
            } => Some((packet_id, reason_code)),
            _ => None,
        })
        .collect();
    let ok = ReasonCode::Success;
    assert_eq!(
        done,
        [
            (ids[0], ok),
            (ids[1], ok),
            (ids[2], ok),
            (ids[3], ReasonCode::NoMatchingSubscribers),
            (q2, ok)
        ]
    );
    assert_eq!(types(&h.take_sent()), [PacketType::PubRel]);
    assert_eq!(h.client.inflight_len(), 0);
}

/// A short acknowledgement with a zero identifier or wrong flags is refused by the decoder,
/// in place or from the buffer.
#[test]
fn malformed_short_acks_are_decode_errors() {
    for (bytes, split) in [
        (&[0x40u8, 0x02, 0x00, 0x00][..], false),
        (&[0x41, 0x02, 0x00, 0x01][..], false),
        (&[0x50, 0x02, 0x00, 0x00][..], true),
    ] {
        let mut h = Harness::v5("c");
        h.connect(false);
        h.publish("t", b"x", QoS::AtLeastOnce);
        let r = if split {
            h.send_raw(&bytes[..3]).expect("incomplete");
            h.send_raw(&bytes[3..])
        } else {
            h.send_raw(bytes)
        };
        assert!(
            matches!(r, Err(mqtt_engine::ProtocolError::Decode(_))),
            "{bytes:?}: {r:?}"
        );
    }
}
