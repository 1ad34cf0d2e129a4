//! Malformed input: each case must yield exactly the named error from both decoders, without
//! panicking, and no prefix of it may be mistaken for a complete packet.

mod common;

use bytes::BytesMut;
use common::{hex, MAX};
use mqtt_proto::{
    decode, decode_connect_ref, decode_ref, DecodeError, PacketType, ProtocolVersion,
};

use DecodeError as E;
use PacketType as P;
use ProtocolVersion::{V311, V5};

/// (what is wrong, version, bytes, expected error)
#[rustfmt::skip]
fn cases() -> Vec<(&'static str, ProtocolVersion, &'static str, DecodeError)> {
    vec![
        // Fixed header
        ("varint with a fifth byte", V5, "30 FF FF FF FF 7F", E::MalformedVarint),
        ("varint not minimal", V5, "30 80 00", E::NonMinimalVarint),
        ("packet type 0", V5, "00 00", E::ReservedPacketType(0)),
        ("AUTH in 3.1.1", V311, "F0 00", E::ReservedPacketType(15)),
        ("SUBSCRIBE flags 0000", V311, "80 06 00 01 00 01 61 00", E::ReservedFlags { packet: P::Subscribe, flags: 0 }),
        ("PUBREL flags 0000", V311, "60 02 00 01", E::ReservedFlags { packet: P::PubRel, flags: 0 }),
        ("UNSUBSCRIBE flags 0000", V5, "A0 03 00 01 00", E::ReservedFlags { packet: P::Unsubscribe, flags: 0 }),
        ("PINGREQ flags 0001", V311, "C1 00", E::ReservedFlags { packet: P::PingReq, flags: 1 }),
        ("CONNACK flags 0001", V311, "21 02 00 00", E::ReservedFlags { packet: P::ConnAck, flags: 1 }),
        ("PUBACK flags 0010", V5, "42 02 00 01", E::ReservedFlags { packet: P::PubAck, flags: 2 }),
        ("remaining length over max size", V5, "30 FF FF FF 7F", E::PacketTooLarge { size: 5 + 268_435_455, max: MAX }),
        // Lengths
        ("PUBACK body too short", V311, "40 01 00", E::Truncated { packet: P::PubAck }),
        ("topic string overruns body", V311, "30 03 00 05 61", E::Truncated { packet: P::Publish }),
        ("QoS 1 PUBLISH without packet id room", V311, "32 03 00 01 61", E::Truncated { packet: P::Publish }),
        ("3.1.1 PUBACK with trailing byte", V311, "40 03 00 01 00", E::TrailingBytes { packet: P::PubAck, extra: 1 }),
        ("PINGREQ with a body", V5, "C0 01 00", E::TrailingBytes { packet: P::PingReq, extra: 1 }),
        ("3.1.1 DISCONNECT with a body", V311, "E0 01 00", E::TrailingBytes { packet: P::Disconnect, extra: 1 }),
        ("3.1.1 UNSUBACK with codes", V311, "B0 03 00 01 00", E::TrailingBytes { packet: P::UnsubAck, extra: 1 }),
        // PUBLISH
        ("PUBLISH QoS 3", V311, "36 05 00 01 61 00 01", E::InvalidQoS(3)),
        ("DUP on QoS 0", V311, "38 03 00 01 61", E::DupWithQoS0),
        ("PUBLISH packet id 0", V311, "32 05 00 01 61 00 00", E::ZeroPacketId { packet: P::Publish }),
        ("invalid UTF-8 in topic", V311, "30 04 00 02 C3 28", E::InvalidUtf8),
        ("UTF-16 surrogate in topic", V311, "30 05 00 03 ED A0 80", E::InvalidUtf8),
        ("overlong UTF-8 in topic", V311, "30 04 00 02 C0 AF", E::InvalidUtf8),
        ("U+0000 in topic", V311, "30 04 00 02 61 00", E::NullCharacter),
        ("+ in topic name", V311, "30 05 00 03 61 2F 2B", E::WildcardInTopicName),
        ("# in topic name", V5, "30 04 00 01 23 00", E::WildcardInTopicName),
        ("empty topic in 3.1.1", V311, "30 02 00 00", E::EmptyTopicName),
        ("empty topic without alias in 5", V5, "30 03 00 00 00", E::EmptyTopicName),
        // Properties
        ("duplicate Message Expiry", V5, "30 0E 00 01 61 0A 02 00 00 00 01 02 00 00 00 02", E::DuplicateProperty(2)),
        ("Session Expiry in PUBLISH", V5, "30 09 00 01 61 05 11 00 00 00 01", E::PropertyNotAllowed { packet: P::Publish, id: 0x11 }),
        ("Topic Alias in SUBSCRIBE", V5, "82 0A 00 01 03 23 00 01 00 01 61 00", E::PropertyNotAllowed { packet: P::Subscribe, id: 0x23 }),
        ("undefined property 0x50", V5, "30 06 00 01 61 02 50 00", E::UnknownProperty(0x50)),
        ("property length overruns packet", V5, "30 05 00 01 61 09 01", E::PropertyLengthOverrun),
        ("property value overruns block", V5, "30 06 00 01 61 02 02 00", E::Truncated { packet: P::Publish }),
        ("property length varint malformed", V5, "30 07 00 01 61 FF FF FF FF", E::MalformedVarint),
        ("Topic Alias 0", V5, "30 07 00 01 61 03 23 00 00", E::InvalidPropertyValue { id: 0x23, value: 0 }),
        ("Payload Format Indicator 2", V5, "30 06 00 01 61 02 01 02", E::InvalidPropertyValue { id: 0x01, value: 2 }),
        ("Subscription Identifier 0", V5, "30 06 00 01 61 02 0B 00", E::InvalidPropertyValue { id: 0x0B, value: 0 }),
        ("Maximum QoS 2", V5, "20 05 00 00 02 24 02", E::InvalidPropertyValue { id: 0x24, value: 2 }),
        ("Receive Maximum 0", V5, "20 06 00 00 03 21 00 00", E::InvalidPropertyValue { id: 0x21, value: 0 }),
        ("Maximum Packet Size 0", V5, "20 08 00 00 05 27 00 00 00 00", E::InvalidPropertyValue { id: 0x27, value: 0 }),
        ("invalid UTF-8 in Reason String", V5, "40 09 00 01 80 05 1F 00 02 C3 28", E::InvalidUtf8),
        // Reason codes
        ("3.1.1 CONNACK return code 6", V311, "20 02 00 06", E::InvalidReasonCode { packet: P::ConnAck, code: 6 }),
        ("5 CONNACK undefined code 0x05", V5, "20 03 00 05 00", E::InvalidReasonCode { packet: P::ConnAck, code: 5 }),
        ("5 PUBACK with a DISCONNECT code", V5, "40 03 00 01 8E", E::InvalidReasonCode { packet: P::PubAck, code: 0x8E }),
        ("5 PUBREL with a PUBACK code", V5, "62 03 00 01 10", E::InvalidReasonCode { packet: P::PubRel, code: 0x10 }),
        ("3.1.1 SUBACK code 3", V311, "90 03 00 01 03", E::InvalidReasonCode { packet: P::SubAck, code: 3 }),
        ("5 DISCONNECT code 0x01", V5, "E0 01 01", E::InvalidReasonCode { packet: P::Disconnect, code: 1 }),
        ("5 AUTH with a CONNACK code", V5, "F0 01 87", E::InvalidReasonCode { packet: P::Auth, code: 0x87 }),
        // Packet ids and lists
        ("PUBACK id 0", V311, "40 02 00 00", E::ZeroPacketId { packet: P::PubAck }),
        ("SUBSCRIBE id 0", V311, "82 06 00 00 00 01 61 00", E::ZeroPacketId { packet: P::Subscribe }),
        ("SUBSCRIBE without filters", V311, "82 02 00 01", E::EmptyList { packet: P::Subscribe }),
        ("UNSUBSCRIBE without filters", V5, "A2 03 00 01 00", E::EmptyList { packet: P::Unsubscribe }),
        ("SUBACK without codes", V311, "90 02 00 01", E::EmptyList { packet: P::SubAck }),
        ("5 UNSUBACK without codes", V5, "B0 03 00 01 00", E::EmptyList { packet: P::UnsubAck }),
        // Topic filters and subscription options
        ("empty topic filter", V311, "82 05 00 01 00 00 00", E::EmptyTopicFilter),
        ("a/#/b filter", V311, "82 0A 00 01 00 05 61 2F 23 2F 62 00", E::InvalidTopicFilter),
        ("a+ filter", V311, "82 07 00 01 00 02 61 2B 00", E::InvalidTopicFilter),
        ("unsubscribe from a/b#", V311, "A2 08 00 01 00 04 61 2F 62 23", E::InvalidTopicFilter),
        ("3.1.1 options reserved bits", V311, "82 06 00 01 00 01 61 04", E::InvalidSubscriptionOptions(4)),
        ("5 options reserved bits", V5, "82 07 00 01 00 00 01 61 40", E::InvalidSubscriptionOptions(0x40)),
        ("retain handling 3", V5, "82 07 00 01 00 00 01 61 30", E::InvalidSubscriptionOptions(0x30)),
        ("subscription QoS 3", V311, "82 06 00 01 00 01 61 03", E::InvalidQoS(3)),
        ("no-local on a shared subscription", V5, "82 10 00 01 00 00 0A 24 73 68 61 72 65 2F 67 2F 61 04", E::NoLocalOnSharedSubscription),
        ("shared subscription without filter", V5, "82 0E 00 01 00 00 08 24 73 68 61 72 65 2F 67 00", E::InvalidSharedSubscription),
        // CONNECT and CONNACK
        ("protocol name MQIsdp", V311, "10 0E 00 06 4D 51 49 73 64 70 03 02 00 3C 00 00", E::InvalidProtocolName),
        ("protocol level 3", V311, "10 0C 00 04 4D 51 54 54 03 02 00 3C 00 00", E::UnsupportedProtocolLevel(3)),
        ("reserved CONNECT flag", V311, "10 0C 00 04 4D 51 54 54 04 03 00 3C 00 00", E::ReservedConnectFlag),
        ("will QoS without will flag", V311, "10 0C 00 04 4D 51 54 54 04 0A 00 3C 00 00", E::InvalidWillFlags),
        ("will retain without will flag", V311, "10 0C 00 04 4D 51 54 54 04 22 00 3C 00 00", E::InvalidWillFlags),
        ("will QoS 3", V311, "10 0C 00 04 4D 51 54 54 04 1E 00 3C 00 00", E::InvalidQoS(3)),
        ("3.1.1 password without user name", V311, "10 0F 00 04 4D 51 54 54 04 42 00 3C 00 00 00 01 70", E::PasswordWithoutUsername),
        ("will topic with wildcard", V311, "10 11 00 04 4D 51 54 54 04 06 00 3C 00 00 00 01 23 00 00", E::WildcardInTopicName),
        ("client id truncated", V311, "10 0C 00 04 4D 51 54 54 04 02 00 3C 00 05", E::Truncated { packet: P::Connect }),
        ("CONNACK reserved flag bits", V311, "20 02 02 00", E::InvalidConnAckFlags(2)),
        ("session present with a refusal", V311, "20 02 01 05", E::InvalidConnAckFlags(1)),
    ]
}

#[test]
fn malformed_table_yields_named_errors() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (what, version, bytes, expected) in cases {
        let bytes = hex(bytes);
        assert_eq!(
            decode_ref(&bytes, version, MAX).map(|_| ()),
            Err(expected.clone()),
            "{what}"
        );
        let mut buf = BytesMut::from(&bytes[..]);
        assert_eq!(
            decode(&mut buf, version, MAX).map(|_| ()),
            Err(expected.clone()),
            "{what} (owned)"
        );
        if bytes[0] >> 4 == PacketType::Connect as u8 {
            // A server's first read: the CONNECT as its own type, the same error.
            assert_eq!(
                decode_connect_ref(&bytes, MAX).map(|_| ()),
                Err(expected.clone()),
                "{what} (decode_connect_ref)"
            );
        }
        for cut in 0..bytes.len() {
            // A prefix either waits for more or fails early; it never yields a packet.
            let prefix = decode_ref(&bytes[..cut], version, MAX);
            assert!(
                !matches!(prefix, Ok(Some(_))),
                "{what}: prefix of {cut} bytes decoded"
            );
        }
    }
}

#[test]
fn malformed_count_is_reported() {
    // Printed so the count in the closing note comes from the test run.
    println!("malformed cases: {}", cases().len());
}

#[test]
fn max_size_is_checked_before_the_body_arrives() {
    // 3 bytes of a PUBLISH announcing 200 bytes, with a 100-byte limit: refused at once.
    let bytes = hex("30 C8 01");
    assert_eq!(
        decode_ref(&bytes, V5, 100).map(|_| ()),
        Err(E::PacketTooLarge {
            size: 203,
            max: 100
        })
    );
    // Within the limit, the same header just waits for the body.
    assert_eq!(decode_ref(&bytes, V5, 203), Ok(None));
}
