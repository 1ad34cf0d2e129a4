//! Messages larger than our maximum packet size. MQTT 3.1.1 cannot tell the server the
//! limit, so such a message is acknowledged, reported and its bytes dropped as they arrive:
//! the connection goes on (a persistent session would otherwise resend it on every connection
//! and nothing after it would ever arrive). MQTT 5 announces the limit: a server exceeding it
//! breaks the protocol.

mod common;

use bytes::BytesMut;
use common::Harness;
use mqtt_engine::{DisconnectReason, Event, Options, ProtocolError};
use mqtt_proto::{
    ByteStr, DecodeError, Packet, PacketType, ProtocolVersion, PubResponse, Publish, QoS,
};

const MAX: u32 = 1024;

fn harness(version: ProtocolVersion, manual_acks: bool) -> Harness {
    let mut h = Harness::new(
        Options::new("c")
            .protocol(version)
            .max_incoming_packet_size(MAX)
            .manual_acks(manual_acks),
    );
    h.connect(false);
    h.take_sent();
    h.take_events();
    h
}

/// The bytes of a PUBLISH from the server.
fn frame(topic: &str, size: usize, qos: QoS, id: Option<u16>, dup: bool) -> BytesMut {
    let mut p = Publish::new(topic.try_into().expect("topic"), vec![0x5A; size]).with_qos(qos);
    p.packet_id = id;
    p.dup = dup;
    let mut buf = BytesMut::new();
    Packet::Publish(p)
        .encode(ProtocolVersion::V311, &mut buf)
        .expect("encodes");
    buf
}

/// Sends `bytes` in reads of `chunk` bytes; every read is accepted.
fn send_in_reads(h: &mut Harness, bytes: &[u8], chunk: usize) {
    for part in bytes.chunks(chunk) {
        h.send_raw(part).expect("accepted");
    }
}

fn too_large(topic: &str, qos: QoS, packet_id: Option<u16>, size: usize) -> Event {
    Event::MessageTooLarge {
        topic: ByteStr::from(topic),
        qos,
        packet_id,
        size,
    }
}

#[test]
fn v311_an_oversize_message_is_acknowledged_reported_and_skipped_whatever_the_reads() {
    for chunk in [1, 7, 300, 5_000, 100_000] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let mut h = harness(ProtocolVersion::V311, false);
            let id = (qos != QoS::AtMostOnce).then_some(5);
            let big = frame("big/one", 70_000, qos, id, false);
            let mut stream = big.to_vec();
            // A message that fits follows in the same bytes.
            stream.extend_from_slice(&frame("small", 10, QoS::AtLeastOnce, Some(6), false));
            send_in_reads(&mut h, &stream, chunk);
            let events = h.take_events();
            assert_eq!(events.len(), 2, "{chunk} {qos:?}: {events:?}");
            assert_eq!(events[0], too_large("big/one", qos, id, big.len()));
            assert!(matches!(&events[1], Event::Message(m) if m.topic() == "small"));
            let mut expected = match qos {
                QoS::AtMostOnce => vec![],
                QoS::AtLeastOnce => vec![Packet::PubAck(PubResponse::new(5))],
                QoS::ExactlyOnce => vec![Packet::PubRec(PubResponse::new(5))],
            };
            expected.push(Packet::PubAck(PubResponse::new(6)));
            assert_eq!(h.take_sent(), expected, "{chunk} {qos:?}");
        }
    }
}

#[test]
fn v311_an_oversize_qos2_message_is_reported_once_and_completed() {
    let mut h = harness(ProtocolVersion::V311, false);
    let big = frame("big", 2_000, QoS::ExactlyOnce, Some(9), false);
    h.send_raw(&big).expect("accepted");
    // Sent again before PUBREL (the PUBREC was lost): acknowledged again, reported once.
    h.send_raw(&frame("big", 2_000, QoS::ExactlyOnce, Some(9), true))
        .expect("accepted");
    assert_eq!(
        h.take_events(),
        [too_large("big", QoS::ExactlyOnce, Some(9), big.len())]
    );
    assert_eq!(
        h.take_sent(),
        [
            Packet::PubRec(PubResponse::new(9)),
            Packet::PubRec(PubResponse::new(9))
        ]
    );
    h.send(Packet::PubRel(PubResponse::new(9)));
    assert_eq!(h.take_sent(), [Packet::PubComp(PubResponse::new(9))]);
}

#[test]
fn v311_with_manual_acks_an_oversize_message_is_acknowledged_in_its_turn() {
    let mut h = harness(ProtocolVersion::V311, true);
    h.send_raw(&frame("first", 10, QoS::AtLeastOnce, Some(1), false))
        .expect("accepted");
    h.send_raw(&frame("big", 5_000, QoS::AtLeastOnce, Some(2), false))
        .expect("accepted");
    assert!(
        h.take_sent().is_empty(),
        "the first one is not acknowledged yet"
    );
    let token = h
        .take_events()
        .into_iter()
        .find_map(|e| match e {
            Event::Message(m) => m.ack_token(),
            _ => None,
        })
        .expect("a token for the first message");
    h.client.ack(token, h.now);
    h.pump();
    assert_eq!(
        h.take_sent(),
        [
            Packet::PubAck(PubResponse::new(1)),
            Packet::PubAck(PubResponse::new(2))
        ]
    );
}

#[test]
fn v311_an_oversize_message_with_a_bad_head_is_still_a_violation() {
    let mut h = harness(ProtocolVersion::V311, false);
    let mut bad = frame("a/x", 5_000, QoS::AtLeastOnce, Some(3), false);
    let at = bad.len() - 5_000 - 2 - 1; // the 'x' of the topic
    bad[at] = b'+';
    let r = h.send_raw(&bad[..100]);
    assert_eq!(
        r,
        Err(ProtocolError::Decode(DecodeError::WildcardInTopicName))
    );
    assert!(h
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::Disconnected(DisconnectReason::ProtocolError(_)))));
}

#[test]
fn v5_a_message_over_the_announced_maximum_closes_the_connection() {
    let mut h = harness(ProtocolVersion::V5, false);
    let mut p =
        Publish::new("big".try_into().expect("topic"), vec![0u8; 5_000]).with_qos(QoS::AtLeastOnce);
    p.packet_id = Some(4);
    let mut buf = BytesMut::new();
    Packet::Publish(p)
        .encode(ProtocolVersion::V5, &mut buf)
        .expect("encodes");
    let r = h.send_raw(&buf);
    assert!(matches!(
        r,
        Err(ProtocolError::Decode(DecodeError::PacketTooLarge { .. }))
    ));
    let sent = h.take_sent();
    assert!(
        matches!(sent.last(), Some(Packet::Disconnect(d)) if d.reason_code == mqtt_proto::ReasonCode::PacketTooLarge),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|p| p.packet_type() == PacketType::PubAck));
}

#[test]
fn v311_a_connection_lost_in_the_middle_of_a_skip_starts_the_next_one_clean() {
    let mut h = harness(ProtocolVersion::V311, false);
    let big = frame("big", 50_000, QoS::AtLeastOnce, Some(8), false);
    h.send_raw(&big[..2_000]).expect("accepted");
    h.client.connection_lost(h.now);
    h.take_sent();
    h.take_events();
    // The new connection's first bytes are its CONNACK, not the rest of the old message.
    h.connect(false);
    let events = h.take_events();
    assert!(
        events.iter().any(|e| matches!(e, Event::Connected(_))),
        "CONNACK read: {events:?}"
    );
    h.send_raw(&frame("small", 1, QoS::AtMostOnce, None, false))
        .expect("accepted");
    assert_eq!(h.messages().len(), 1);
}
