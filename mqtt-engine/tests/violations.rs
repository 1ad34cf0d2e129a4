//! A broker breaking the protocol: typed error, DISCONNECT with the right reason (MQTT 5),
//! clean close, no panic.

mod common;

use common::Harness;
use mqtt_engine::{DisconnectReason, Event, Options, ProtocolError};
use mqtt_proto::{
    DecodeError, Disconnect, Packet, PacketType, ProtocolVersion, PubResponse, ReasonCode,
};

fn disconnect_code(h: &mut Harness) -> Option<ReasonCode> {
    match &h.take_sent()[..] {
        [Packet::Disconnect(d)] => Some(d.reason_code),
        [] => None,
        other => panic!("unexpected {other:?}"),
    }
}

fn protocol_error(h: &mut Harness) -> ProtocolError {
    h.take_events()
        .into_iter()
        .find_map(|e| match e {
            Event::Disconnected(DisconnectReason::ProtocolError(e)) => Some(e),
            _ => None,
        })
        .expect("a protocol error event")
}

#[test]
fn malformed_bytes_disconnect_with_0x81() {
    let mut h = Harness::v5("c");
    h.connect(false);
    // PUBLISH with QoS 3.
    let r = h.send_raw(&[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01]);
    assert_eq!(r, Err(ProtocolError::Decode(DecodeError::InvalidQoS(3))));
    assert_eq!(disconnect_code(&mut h), Some(ReasonCode::MalformedPacket));
    assert!(!h.client.is_connected());
}

#[test]
fn property_errors_disconnect_with_0x82() {
    let mut h = Harness::v5("c");
    h.connect(false);
    // PUBLISH with Session Expiry Interval, not allowed there.
    let _ = h.send_raw(&[0x30, 0x09, 0x00, 0x01, b'a', 0x05, 0x11, 0, 0, 0, 1]);
    assert_eq!(disconnect_code(&mut h), Some(ReasonCode::ProtocolError));
}

#[test]
fn oversized_packet_disconnects_with_0x95_before_the_body_arrives() {
    let mut h = Harness::new(Options::new("c").max_incoming_packet_size(100));
    h.connect(false);
    let _ = h.send_raw(&[0x30, 0xC8, 0x01]);
    assert_eq!(disconnect_code(&mut h), Some(ReasonCode::PacketTooLarge));
}

#[test]
fn v311_violation_closes_without_disconnect_packet() {
    let mut h = Harness::v311("c");
    h.connect(false);
    let _ = h.send_raw(&[0x40, 0x02, 0x00, 0x00]);
    assert_eq!(disconnect_code(&mut h), None);
    assert!(matches!(
        protocol_error(&mut h),
        ProtocolError::Decode(DecodeError::ZeroPacketId { .. })
    ));
}

#[test]
fn mqtt_3_2_0_1_packet_before_connack() {
    let mut h = Harness::v5("c");
    h.client.connect(h.now);
    h.pump();
    h.take_sent();
    h.send(Packet::PingResp);
    assert_eq!(
        protocol_error(&mut h),
        ProtocolError::UnexpectedPacket(PacketType::PingResp)
    );
}

#[test]
fn mqtt_3_2_0_2_second_connack() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.take_events();
    h.send(Packet::from(mqtt_proto::ConnAck {
        session_present: false,
        reason_code: ReasonCode::Success,
        properties: Default::default(),
    }));
    assert_eq!(
        protocol_error(&mut h),
        ProtocolError::UnexpectedPacket(PacketType::ConnAck)
    );
}

#[test]
fn server_only_packets_from_the_server_are_violations() {
    for packet in [
        Packet::PingReq,
        Packet::Subscribe(mqtt_proto::Subscribe::new(
            1,
            vec![mqtt_proto::Subscription::new(
                "a".try_into().expect("filter"),
                mqtt_proto::QoS::AtMostOnce,
            )],
        )),
    ] {
        let mut h = Harness::v5("c");
        h.connect(false);
        h.take_events();
        let t = packet.packet_type();
        h.send(packet);
        assert_eq!(protocol_error(&mut h), ProtocolError::UnexpectedPacket(t));
    }
}

#[test]
fn acks_for_unknown_ids_are_violations() {
    for packet in [
        Packet::PubAck(PubResponse::new(42)),
        Packet::PubRec(PubResponse::new(42)),
        Packet::PubComp(PubResponse::new(42)),
    ] {
        let mut h = Harness::v5("c");
        h.connect(false);
        h.take_events();
        let t = packet.packet_type();
        h.send(packet);
        assert_eq!(
            protocol_error(&mut h),
            ProtocolError::UnknownPacketId {
                packet: t,
                packet_id: 42
            }
        );
        assert_eq!(disconnect_code(&mut h), Some(ReasonCode::ProtocolError));
    }
}

#[test]
fn puback_for_a_qos2_publish_is_a_violation() {
    let mut h = Harness::v5("c");
    h.connect(false);
    let id = h
        .publish("t", b"x", mqtt_proto::QoS::ExactlyOnce)
        .expect("id");
    h.take_events();
    h.puback(id);
    assert_eq!(
        protocol_error(&mut h),
        ProtocolError::UnknownPacketId {
            packet: PacketType::PubAck,
            packet_id: id
        }
    );
}

#[test]
fn auth_is_refused_as_unsupported() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.take_events();
    h.send(Packet::from(mqtt_proto::Auth::default()));
    assert_eq!(protocol_error(&mut h), ProtocolError::AuthNotSupported);
}

#[test]
fn server_disconnect_reason_is_surfaced() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.take_events();
    let mut d = Disconnect::new(ReasonCode::ServerShuttingDown);
    d.properties.reason_string = Some("maintenance".into());
    h.send(Packet::from(d));
    let events = h.take_events();
    assert_eq!(
        events[0],
        Event::Disconnected(DisconnectReason::ServerDisconnect {
            reason_code: ReasonCode::ServerShuttingDown,
            reason_string: Some("maintenance".into())
        })
    );
    assert!(
        matches!(events[1], Event::ReconnectScheduled { .. }),
        "shutting down is worth retrying"
    );
    assert!(h.take_sent().is_empty(), "no DISCONNECT back");
}

#[test]
fn session_taken_over_is_not_retried() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.take_events();
    h.send(Packet::from(Disconnect::new(ReasonCode::SessionTakenOver)));
    let events = h.take_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(h.client.state(), mqtt_engine::State::Idle);
}

#[test]
fn bytes_after_a_violation_are_ignored() {
    let mut h = Harness::v5("c");
    h.connect(false);
    // A bad PUBACK then a valid PINGRESP in the same read.
    let r = h.send_raw(&[0x40, 0x02, 0x00, 0x05, 0xD0, 0x00]);
    assert!(r.is_err());
    assert_eq!(disconnect_code(&mut h), Some(ReasonCode::ProtocolError));
    assert_eq!(
        h.send_raw(&[0xD0, 0x00]),
        Ok(()),
        "no connection, input ignored"
    );
}

#[test]
fn split_input_is_reassembled_at_every_byte() {
    let mut h = Harness::new(Options::new("c").protocol(ProtocolVersion::V311));
    h.connect(false);
    let mut p = mqtt_proto::Publish::new("a/b".try_into().expect("topic"), "hello")
        .with_qos(mqtt_proto::QoS::AtLeastOnce);
    p.packet_id = Some(3);
    let mut wire = bytes::BytesMut::new();
    Packet::Publish(p)
        .encode(ProtocolVersion::V311, &mut wire)
        .expect("encode");
    for byte in &wire {
        h.send_raw(&[*byte]).expect("valid");
    }
    assert_eq!(h.messages(), [("a/b".to_string(), b"hello".to_vec())]);
}
