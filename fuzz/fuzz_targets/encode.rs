//! Packets built from the fuzzer's bytes (topics, payloads, flags, identifiers, properties,
//! both versions): whatever the encoder accepts, the decoder must accept and read back as the
//! same packet. The encoder never produces bytes the decoder rejects.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqtt_proto::{
    decode, ByteStr, Connect, LastWill, Packet, ProtocolVersion, PubResponse, Publish, QoS,
    ReasonCode, Subscribe, Subscription, TopicFilter, TopicName, Unsubscribe, UserProperty,
};

/// Reads fields from the fuzzer's bytes.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn bytes(&mut self) -> Vec<u8> {
        let n = usize::from(self.byte() % 40).min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken.to_vec()
    }

    /// A short string, or now and then one around the 65,535 bytes a length prefix holds.
    fn text(&mut self) -> ByteStr {
        let short = String::from_utf8_lossy(&self.bytes()).into_owned();
        if short.starts_with('~') {
            let len = 65_530 + usize::from(self.byte() % 10);
            return ByteStr::from("a/".repeat(len / 2 + 1)[..len].to_owned());
        }
        ByteStr::from(short)
    }

    fn qos(&mut self) -> QoS {
        match self.byte() % 3 {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            _ => QoS::ExactlyOnce,
        }
    }
}

fn packet(input: &mut Input, version: ProtocolVersion) -> Packet {
    match input.byte() % 6 {
        0 => {
            // A name the builder refuses becomes the empty one (refused without an alias).
            let topic = TopicName::new(input.text()).unwrap_or_default();
            let mut p = Publish::new(topic, input.bytes())
                .with_qos(input.qos())
                .with_retain(input.byte() & 1 == 1);
            p.dup = input.byte() & 1 == 1;
            p.packet_id = (input.byte() & 1 == 1).then(|| input.u16());
            if version == ProtocolVersion::V5 {
                let flags = input.byte();
                if flags & 1 != 0 {
                    p.properties.content_type = Some(input.text());
                }
                if flags & 2 != 0 {
                    p.properties.message_expiry_interval = Some(u32::from(input.u16()));
                }
                if flags & 4 != 0 {
                    p.properties.topic_alias = Some(input.u16());
                }
                if flags & 8 != 0 {
                    p.properties.response_topic = Some(input.text());
                }
                if flags & 16 != 0 {
                    p.properties.correlation_data = Some(input.bytes().into());
                }
                if flags & 32 != 0 {
                    p.properties.payload_format_indicator = Some(input.byte() & 1 == 1);
                }
                if flags & 64 != 0 {
                    for _ in 0..input.byte() % 3 {
                        let (key, value) = (input.text(), input.text());
                        p.properties
                            .user_properties
                            .push(UserProperty::new(key, value));
                    }
                }
                if flags & 128 != 0 {
                    let id = u32::from(input.u16());
                    p.properties.subscription_identifiers.push(id);
                }
            }
            Packet::Publish(p)
        }
        1 => {
            let mut subscriptions = Vec::new();
            for _ in 0..input.byte() % 4 {
                // A filter the builder refuses cannot be sent: it is left out.
                if let Ok(filter) = TopicFilter::new(input.text()) {
                    subscriptions.push(Subscription::new(filter, input.qos()));
                }
            }
            Packet::Subscribe(Subscribe::new(input.u16(), subscriptions))
        }
        2 => {
            let mut filters = Vec::new();
            for _ in 0..input.byte() % 4 {
                filters.push(input.text());
            }
            Packet::Unsubscribe(Unsubscribe::new(input.u16(), filters))
        }
        3 => {
            let mut c = Connect::new(version, input.text());
            c.clean_start = input.byte() & 1 == 1;
            c.keep_alive = input.u16();
            if input.byte() & 1 == 1 {
                c.will = Some(
                    LastWill::new(input.text(), input.bytes())
                        .with_qos(input.qos())
                        .with_retain(input.byte() & 1 == 1),
                );
            }
            if input.byte() & 1 == 1 {
                c.username = Some(input.text());
            }
            if input.byte() & 1 == 1 {
                c.password = Some(input.bytes().into());
            }
            Packet::from(c)
        }
        4 => {
            let mut r = PubResponse::new(input.u16());
            if version == ProtocolVersion::V5 && input.byte() & 1 == 1 {
                r.reason_code = ReasonCode::from_u8(input.byte()).unwrap_or(ReasonCode::Success);
            }
            match input.byte() % 4 {
                0 => Packet::PubAck(r),
                1 => Packet::PubRec(r),
                2 => Packet::PubRel(r),
                _ => Packet::PubComp(r),
            }
        }
        _ => Packet::PingReq,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let version = if input.byte() & 1 == 0 {
        ProtocolVersion::V311
    } else {
        ProtocolVersion::V5
    };
    let packet = packet(&mut input, version);
    let mut buf = BytesMut::new();
    let encoded = packet.encode(version, &mut buf);
    // Every encoder gives the same answer: `encode` (one pass for PUBLISH and SUBSCRIBE),
    // `encode_to_slice` and `encoded_len` (size first, then write).
    let mut out = vec![0u8; buf.len().max(64)];
    let sliced = packet.encode_to_slice(version, &mut out);
    assert_eq!(encoded, sliced, "encode and encode_to_slice differ");
    assert_eq!(
        encoded,
        packet.encoded_len(version),
        "encode and encoded_len differ"
    );
    let Ok(written) = encoded else {
        assert!(buf.is_empty(), "nothing appended on an error");
        return; // refused by the encoder: the rule it broke is the sender's
    };
    assert_eq!(
        &buf[..],
        &out[..written],
        "encode and encode_to_slice wrote different bytes"
    );
    assert_eq!(written, buf.len(), "exact length");
    let back = decode(&mut buf, version, usize::MAX)
        .unwrap_or_else(|e| panic!("the decoder rejects what the encoder wrote: {e} ({packet:?})"))
        .expect("a whole packet");
    assert!(buf.is_empty());
    assert_eq!(back, packet);
});
