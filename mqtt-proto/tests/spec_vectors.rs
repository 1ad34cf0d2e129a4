//! Byte vectors written from the examples and field layouts of the MQTT 3.1.1 and 5.0
//! specifications: each is decoded (whole and split at every byte) and the expected packet is
//! encoded back to the same bytes.

#![allow(clippy::needless_pass_by_value, clippy::default_trait_access)]

mod common;

use bytes::Bytes;
use common::{decode_streaming, encode, hex};
use mqtt_proto::{
    AckProperties, Auth, ConnAck, Connect, Disconnect, LastWill, Packet, ProtocolVersion,
    PubResponse, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, Subscription,
    SubscriptionOptions, Unsubscribe,
};

use ProtocolVersion::{V311, V5};

/// Decodes `bytes` (checking every split) and compares with `expected`; then encodes `expected`
/// and compares with `bytes`.
fn vector(version: ProtocolVersion, bytes: &str, expected: Packet) {
    let bytes = hex(bytes);
    assert_eq!(decode_streaming(&bytes, version), expected, "decode");
    assert_eq!(encode(&expected, version), bytes, "encode");
}

/// A vector that only decodes to `expected` (the encoder picks a shorter form).
fn decode_only(version: ProtocolVersion, bytes: &str, expected: Packet) {
    assert_eq!(decode_streaming(&hex(bytes), version), expected);
}

fn response(id: u16, code: ReasonCode) -> PubResponse {
    PubResponse {
        reason_code: code,
        ..PubResponse::new(id)
    }
}

#[test]
fn connect_v311_all_flags() {
    // 3.1.2.10 example flags 0xCE: user name, password, will QoS 1, will, clean session.
    let mut will = LastWill::new("w", &b"bye"[..]);
    will.qos = QoS::AtLeastOnce;
    let mut c = Connect::new(V311, "abc");
    c.keep_alive = 10;
    c.will = Some(will);
    c.username = Some("u".into());
    c.password = Some(Bytes::from_static(b"p"));
    vector(
        V311,
        "10 1D 00 04 4D 51 54 54 04 CE 00 0A 00 03 61 62 63 00 01 77 00 03 62 79 65 00 01 75 00 01 70",
        Packet::from(c),
    );
}

#[test]
fn connect_v5_session_expiry() {
    // 3.1.2.12 example: Session Expiry Interval 10.
    let mut c = Connect::new(V5, "abc");
    c.keep_alive = 10;
    c.properties.session_expiry_interval = Some(10);
    vector(
        V5,
        "10 15 00 04 4D 51 54 54 05 02 00 0A 05 11 00 00 00 0A 00 03 61 62 63",
        Packet::from(c),
    );
}

#[test]
fn connect_v5_will_properties_and_password_without_username() {
    // MQTT 5 allows a password without a user name (3.1.2.9).
    let mut will = LastWill::new("w", &b""[..]);
    will.retain = true;
    will.properties.will_delay_interval = Some(5);
    let mut c = Connect::new(V5, "");
    c.clean_start = false;
    c.keep_alive = 0;
    c.will = Some(will);
    c.password = Some(Bytes::from_static(b"pw"));
    vector(
        V5,
        "10 1C 00 04 4D 51 54 54 05 64 00 00 00 00 00 05 18 00 00 00 05 00 01 77 00 00 00 02 70 77",
        Packet::from(c),
    );
}

#[test]
fn connack_v311_return_codes() {
    let ok = ConnAck {
        session_present: true,
        reason_code: ReasonCode::Success,
        properties: Default::default(),
    };
    vector(V311, "20 02 01 00", Packet::from(ok));
    let refused = ConnAck {
        session_present: false,
        reason_code: ReasonCode::BadUserNameOrPassword,
        properties: Default::default(),
    };
    vector(V311, "20 02 00 04", Packet::from(refused));
}

#[test]
fn connack_v5_with_properties() {
    let mut ack = ConnAck {
        session_present: false,
        reason_code: ReasonCode::Success,
        properties: Default::default(),
    };
    ack.properties.receive_maximum = Some(20);
    ack.properties.topic_alias_maximum = Some(10);
    vector(
        V5,
        "20 09 00 00 06 21 00 14 22 00 0A",
        Packet::from(ack.clone()),
    );
    // The receiver accepts properties in any order.
    decode_only(V5, "20 09 00 00 06 22 00 0A 21 00 14", Packet::from(ack));
    let refused = ConnAck {
        session_present: false,
        reason_code: ReasonCode::Banned,
        properties: Default::default(),
    };
    vector(V5, "20 03 00 8A 00", Packet::from(refused));
}

#[test]
fn publish_v311_qos1() {
    // 3.3.2.3 example: topic "a/b", packet identifier 10.
    let mut p = Publish::new("a/b".try_into().expect("topic"), &b"hi"[..]);
    p.qos = QoS::AtLeastOnce;
    p.packet_id = Some(10);
    vector(V311, "32 09 00 03 61 2F 62 00 0A 68 69", Packet::Publish(p));
}

#[test]
fn publish_v311_qos2_dup_retain() {
    let mut p = Publish::new("a".try_into().expect("topic"), &b""[..]);
    p.qos = QoS::ExactlyOnce;
    p.dup = true;
    p.retain = true;
    p.packet_id = Some(0xFFFF);
    vector(V311, "3D 05 00 01 61 FF FF", Packet::Publish(p));
}

#[test]
fn publish_v5_properties() {
    let mut p = Publish::new("a/b".try_into().expect("topic"), &b"hi"[..]);
    p.retain = true;
    p.properties.payload_format_indicator = Some(true);
    p.properties.message_expiry_interval = Some(60);
    vector(
        V5,
        "31 0F 00 03 61 2F 62 07 01 01 02 00 00 00 3C 68 69",
        Packet::Publish(p),
    );
}

#[test]
fn publish_v5_topic_alias_with_empty_topic() {
    // 3.3.2.3.4: an empty topic with a Topic Alias.
    let mut p = Publish::new(mqtt_proto::TopicName::default(), &b"hi"[..]);
    p.properties.topic_alias = Some(1);
    vector(V5, "30 08 00 00 03 23 00 01 68 69", Packet::Publish(p));
}

#[test]
fn publish_v5_subscription_identifiers_repeat() {
    let mut p = Publish::new("t".try_into().expect("topic"), &b""[..]);
    p.properties.subscription_identifiers = vec![1, 300];
    vector(V5, "30 09 00 01 74 05 0B 01 0B AC 02", Packet::Publish(p));
}

#[test]
fn pub_responses_v311() {
    vector(V311, "40 02 00 0A", Packet::PubAck(PubResponse::new(10)));
    vector(V311, "50 02 00 0A", Packet::PubRec(PubResponse::new(10)));
    vector(V311, "62 02 00 0A", Packet::PubRel(PubResponse::new(10)));
    vector(V311, "70 02 00 0A", Packet::PubComp(PubResponse::new(10)));
}

#[test]
fn pub_responses_v5_forms() {
    // 3.4.2.1: Success without properties may be sent as the packet id alone.
    vector(V5, "40 02 00 0A", Packet::PubAck(PubResponse::new(10)));
    decode_only(V5, "40 03 00 0A 00", Packet::PubAck(PubResponse::new(10)));
    decode_only(
        V5,
        "40 04 00 0A 00 00",
        Packet::PubAck(PubResponse::new(10)),
    );
    vector(
        V5,
        "40 03 00 0A 10",
        Packet::PubAck(response(10, ReasonCode::NoMatchingSubscribers)),
    );
    let mut failed = response(10, ReasonCode::UnspecifiedError);
    failed.properties = AckProperties {
        reason_string: Some("bad".into()),
        user_properties: vec![],
    };
    vector(
        V5,
        "40 0A 00 0A 80 06 1F 00 03 62 61 64",
        Packet::PubAck(failed),
    );
    vector(
        V5,
        "50 03 00 0A 97",
        Packet::PubRec(response(10, ReasonCode::QuotaExceeded)),
    );
    vector(
        V5,
        "62 03 00 0A 92",
        Packet::PubRel(response(10, ReasonCode::PacketIdentifierNotFound)),
    );
    vector(
        V5,
        "70 03 00 0A 92",
        Packet::PubComp(response(10, ReasonCode::PacketIdentifierNotFound)),
    );
}

#[test]
fn subscribe_v311() {
    // 3.8.3 example: "a/b" QoS 1 and "c/d" QoS 2.
    let s = Subscribe::new(
        10,
        vec![
            Subscription::new("a/b".try_into().expect("filter"), QoS::AtLeastOnce),
            Subscription::new("c/d".try_into().expect("filter"), QoS::ExactlyOnce),
        ],
    );
    vector(
        V311,
        "82 0E 00 0A 00 03 61 2F 62 01 00 03 63 2F 64 02",
        Packet::Subscribe(s),
    );
}

#[test]
fn subscribe_v5_options_and_identifier() {
    let options = SubscriptionOptions {
        max_qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    };
    let mut s = Subscribe::new(
        10,
        vec![Subscription {
            filter: "a/b".try_into().expect("filter"),
            options,
        }],
    );
    s.properties.subscription_identifier = Some(5);
    vector(
        V5,
        "82 0B 00 0A 02 0B 05 00 03 61 2F 62 2D",
        Packet::Subscribe(s),
    );
}

#[test]
fn subscribe_v5_shared() {
    let s = Subscribe::new(
        1,
        vec![Subscription::new(
            "$share/g/a/#".try_into().expect("filter"),
            QoS::ExactlyOnce,
        )],
    );
    vector(
        V5,
        "82 12 00 01 00 00 0C 24 73 68 61 72 65 2F 67 2F 61 2F 23 02",
        Packet::Subscribe(s),
    );
}

#[test]
fn suback_both_versions() {
    let codes = vec![
        ReasonCode::Success,
        ReasonCode::GrantedQoS2,
        ReasonCode::UnspecifiedError,
    ];
    let ack = SubAck {
        packet_id: 10,
        properties: Default::default(),
        reason_codes: codes,
    };
    vector(V311, "90 05 00 0A 00 02 80", Packet::SubAck(ack));
    let codes = vec![
        ReasonCode::GrantedQoS1,
        ReasonCode::WildcardSubscriptionsNotSupported,
    ];
    let ack = SubAck {
        packet_id: 10,
        properties: Default::default(),
        reason_codes: codes,
    };
    vector(V5, "90 05 00 0A 00 01 A2", Packet::SubAck(ack));
}

#[test]
fn unsubscribe_both_versions() {
    let u = Unsubscribe::new(11, vec!["a/b".into(), "c".into()]);
    vector(
        V311,
        "A2 0A 00 0B 00 03 61 2F 62 00 01 63",
        Packet::Unsubscribe(u.clone()),
    );
    vector(
        V5,
        "A2 0B 00 0B 00 00 03 61 2F 62 00 01 63",
        Packet::Unsubscribe(u),
    );
}

#[test]
fn unsuback_both_versions() {
    let v3 = SubAck {
        packet_id: 11,
        properties: Default::default(),
        reason_codes: vec![],
    };
    vector(V311, "B0 02 00 0B", Packet::UnsubAck(v3));
    let codes = vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted];
    let v5 = SubAck {
        packet_id: 11,
        properties: Default::default(),
        reason_codes: codes,
    };
    vector(V5, "B0 05 00 0B 00 00 11", Packet::UnsubAck(v5));
}

#[test]
fn ping_both_versions() {
    for v in [V311, V5] {
        vector(v, "C0 00", Packet::PingReq);
        vector(v, "D0 00", Packet::PingResp);
    }
}

#[test]
fn disconnect_forms() {
    vector(V311, "E0 00", Packet::from(Disconnect::default()));
    vector(V5, "E0 00", Packet::from(Disconnect::default()));
    vector(
        V5,
        "E0 01 8E",
        Packet::from(Disconnect::new(ReasonCode::SessionTakenOver)),
    );
    let mut d = Disconnect::new(ReasonCode::ServerShuttingDown);
    d.properties.reason_string = Some("x".into());
    vector(V5, "E0 06 8B 04 1F 00 01 78", Packet::from(d));
}

#[test]
fn auth_v5() {
    vector(V5, "F0 00", Packet::from(Auth::default()));
    let mut a = Auth::new(ReasonCode::ContinueAuthentication);
    a.properties.authentication_method = Some("SCRAM".into());
    a.properties.authentication_data = Some(Bytes::from_static(&[1, 2]));
    vector(
        V5,
        "F0 0F 18 0D 15 00 05 53 43 52 41 4D 16 00 02 01 02",
        Packet::from(a),
    );
}

#[test]
fn large_remaining_length_uses_multi_byte_varint() {
    // 2.2.3: 321 bytes of remaining length encode as 0xC1 0x02.
    let payload = vec![0xAB; 316];
    let p = Publish::new("a/b".try_into().expect("topic"), payload.clone());
    let mut bytes = hex("30 C1 02 00 03 61 2F 62");
    bytes.extend_from_slice(&payload);
    let packet = Packet::Publish(p);
    assert_eq!(encode(&packet, V311), bytes);
    assert_eq!(decode_streaming(&bytes, V311), packet);
}
