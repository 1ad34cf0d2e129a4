//! Every length-prefixed field of every packet holds at most 65,535 bytes: one more is refused
//! by each way of encoding (into a `BytesMut`, into a slice, `encoded_len`) with the same typed
//! error, and nothing is written — or, for a PUBLISH topic and a SUBSCRIBE filter, when their
//! `TopicName` / `TopicFilter` is built.

use bytes::BytesMut;
use mqtt_proto::{
    Connect, EncodeError, LastWill, Packet, ProtocolVersion, PubResponse, Publish, QoS, Subscribe,
    Subscription, TopicFilter, TopicName, Unsubscribe, UserProperty,
};

const LIMIT: usize = 65_535;

/// The same error from every encoder, in both versions, with nothing written.
fn refused(what: &str, packet: &Packet, error: &EncodeError) {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut buf = BytesMut::from(&b"kept"[..]);
        assert_eq!(
            packet.encode(version, &mut buf).as_ref(),
            Err(error),
            "{what} {version:?}"
        );
        assert_eq!(&buf[..], b"kept", "{what} {version:?}");
        assert_eq!(
            packet.encoded_len(version).as_ref(),
            Err(error),
            "{what} {version:?}"
        );
        let mut out = vec![0u8; 4 * LIMIT];
        let slice = packet.encode_to_slice(version, &mut out);
        assert_eq!(slice.as_ref(), Err(error), "{what} {version:?}");
    }
}

/// Every field at `len` bytes (strings of 'a', binary of zeros), each in its own packet; the
/// topic and filter only when they can be built (`len` at most 65,535).
fn packets(len: usize) -> Vec<(&'static str, Packet)> {
    let text = "a".repeat(len);
    let bin = vec![0u8; len];
    let v311 = ProtocolVersion::V311;
    let mut username = Connect::new(v311, "c");
    username.username = Some(text.clone().into());
    let mut password = Connect::new(v311, "c");
    password.username = Some("u".into());
    password.password = Some(bin.clone().into());
    let mut will_topic = Connect::new(v311, "c");
    will_topic.will = Some(LastWill::new(text.clone(), "x"));
    let mut will_payload = Connect::new(v311, "c");
    will_payload.will = Some(LastWill::new("t", bin.clone()));
    let mut content_type = Publish::new("t".try_into().expect("topic"), "x");
    content_type.properties.content_type = Some(text.clone().into());
    let mut user_property = Publish::new("t".try_into().expect("topic"), "x");
    let property = UserProperty::new(text.clone(), "v");
    user_property.properties.user_properties.push(property);
    let mut reason = PubResponse::new(1);
    reason.properties.reason_string = Some(text.clone().into());
    let mut packets = vec![];
    if let (Ok(topic), Ok(filter)) = (
        TopicName::new(text.as_str()),
        TopicFilter::new(text.as_str()),
    ) {
        let mut qos1 = Publish::new(topic.clone(), "x").with_qos(QoS::AtLeastOnce);
        qos1.packet_id = Some(7);
        let filter = vec![Subscription::new(filter, QoS::AtMostOnce)];
        packets.extend([
            ("topic", Packet::Publish(Publish::new(topic, "x"))),
            ("topic, QoS 1", Packet::Publish(qos1)),
            ("filter", Packet::Subscribe(Subscribe::new(1, filter))),
        ]);
    }
    packets.extend([
        ("client id", Packet::from(Connect::new(v311, text.clone()))),
        ("username", Packet::from(username)),
        ("will topic", Packet::from(will_topic)),
        (
            "unsubscribe filter",
            Packet::Unsubscribe(Unsubscribe::new(1, vec![text.into()])),
        ),
        ("content type", Packet::Publish(content_type)),
        ("user property", Packet::Publish(user_property)),
        ("reason string", Packet::PubAck(reason)),
        ("password", Packet::from(password)),
        ("will payload", Packet::from(will_payload)),
    ]);
    packets
}

#[test]
fn a_field_one_byte_over_its_length_prefix_is_refused_everywhere() {
    let text = "a".repeat(LIMIT + 1);
    let error = Err(EncodeError::StringTooLong(LIMIT + 1));
    assert_eq!(TopicName::new(text.as_str()).map(|t| t.len()), error);
    assert_eq!(TopicFilter::new(text.as_str()).map(|t| t.len()), error);
    let packets = packets(LIMIT + 1);
    assert_eq!(packets.len(), 9);
    for (what, packet) in packets {
        let error = if what == "password" || what == "will payload" {
            EncodeError::BinaryTooLong(LIMIT + 1)
        } else {
            EncodeError::StringTooLong(LIMIT + 1)
        };
        refused(what, &packet, &error);
    }
}

#[test]
fn a_field_of_exactly_65535_bytes_is_encoded_and_decodes_back() {
    let packets = packets(LIMIT);
    assert_eq!(packets.len(), 12);
    for (what, packet) in packets {
        let version = ProtocolVersion::V5;
        let mut buf = BytesMut::new();
        let written = packet.encode(version, &mut buf).expect(what);
        assert_eq!(Ok(written), packet.encoded_len(version), "{what}");
        let decoded = mqtt_proto::decode(&mut buf, version, 1 << 20).expect(what);
        assert_eq!(decoded.as_ref(), Some(&packet), "{what}");
    }
}

/// A SUBSCRIBE whose filters add up past the largest remaining length (268,435,455 bytes; the
/// filters share one buffer): every encoder reports the size, and writes nothing.
#[test]
fn a_subscribe_past_the_largest_remaining_length_is_refused() {
    let long = TopicFilter::new("a".repeat(LIMIT)).expect("the longest filter");
    let subscriptions: Vec<Subscription> = (0..4_100)
        .map(|_| Subscription::new(long.clone(), QoS::AtMostOnce))
        .collect();
    let valid = Packet::Subscribe(Subscribe::new(1, subscriptions));
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        // Packet identifier, (MQTT 5) an empty property block, the filters.
        let body = 2 + usize::from(version == ProtocolVersion::V5) + 4_100 * (3 + LIMIT);
        let error = EncodeError::PacketTooLarge(body);
        let mut buf = BytesMut::from(&b"kept"[..]);
        assert_eq!(valid.encode(version, &mut buf), Err(error.clone()));
        assert_eq!(&buf[..], b"kept");
        assert_eq!(valid.encoded_len(version), Err(error.clone()));
        assert_eq!(valid.encode_to_slice(version, &mut [0u8; 64]), Err(error));
    }
}
