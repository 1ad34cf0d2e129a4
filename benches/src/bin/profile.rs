//! A fixed loop over one codec operation, for `valgrind --tool=callgrind` (instruction counts
//! are repeatable whatever else the machine does).
//!
//! `cargo build --release -p benches --bin profile && valgrind --tool=callgrind target/release/profile encode`
//! (`OP N`: N operations, 100,000 unless given).

use std::hint::black_box;

use benches::{publish, subscribe10, wire};
use bytes::BytesMut;
use mqtt_proto::{decode, decode_connect_ref, decode_ref, PacketType, ProtocolVersion, QoS};

#[allow(clippy::too_many_lines)] // one arm per measured operation
fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "encode".into());
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let v = ProtocolVersion::V311;
    // `decode_ref_1024`, `mqttrs_decode_1024`, …: the PUBLISH decode ops with another payload
    // size than 64 bytes (a remaining length of more than one byte from 128 on).
    let sized = what
        .rsplit_once('_')
        .and_then(|(op, size)| Some((op, size.parse::<usize>().ok()?)));
    let (what, size) = match sized {
        Some((op, size)) if op.contains("decode") => (op.to_owned(), size),
        _ => (what, 64),
    };
    let packet = publish(size, QoS::AtLeastOnce, false);
    let bytes = wire(&packet, v);
    let sub = subscribe10();
    let sub_bytes = wire(&sub, v);
    let packet_v5 = publish(64, QoS::AtLeastOnce, true);
    let bytes_v5 = wire(&packet_v5, ProtocolVersion::V5);
    let mqtt_publish = mqtt::packet::PublishPacket::new(
        mqtt::TopicName::new(benches::TOPIC).expect("topic"),
        mqtt::packet::QoSWithPacketIdentifier::Level1(42),
        vec![0xA5; 64],
    );
    let puback = benches::puback();
    let puback_bytes = wire(&puback, v);
    let mixed = benches::mixed_stream(1000);
    let rumqttc_v5 = {
        use rumqttc::v5::mqttbytes::v5::{Packet, Publish, PublishProperties};
        let props = PublishProperties {
            content_type: Some("application/json".into()),
            message_expiry_interval: Some(60),
            payload_format_indicator: Some(1),
            ..Default::default()
        };
        let mut p = Publish::new(
            benches::TOPIC,
            rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
            vec![0xA5; 64],
            Some(props),
        );
        p.pkid = 42;
        Packet::Publish(p)
    };
    let rumqttc_sub = {
        use rumqttc::mqttbytes::v4::{Subscribe, SubscribeFilter};
        let filters = (0..10).map(|i| {
            SubscribeFilter::new(
                format!("sensors/{i}/+/temperature"),
                rumqttc::mqttbytes::QoS::AtLeastOnce,
            )
        });
        let mut s = Subscribe::new_many(filters);
        s.pkid = 7;
        s
    };
    let rumqttc_connect = {
        let mut c = rumqttc::mqttbytes::v4::Connect::new("bench-client-0001");
        c.set_login("user", "password");
        c.keep_alive = 30;
        c
    };
    let connect_packet = benches::connect();
    let connect_message = benches::connect_message();
    let publish_plain = benches::publish_message(64, QoS::AtLeastOnce, false);
    let publish_with_properties = benches::publish_message(64, QoS::AtLeastOnce, true);
    let puback_message = mqtt_proto::PubResponse::new(42);
    let sub_message = benches::subscribe10_message();
    let connect = wire(&connect_packet, v);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    // `engine_v5` / `engine_qos2_v5`: the engine ops with an MQTT 5 client.
    let (what, engine_version) = match what.strip_suffix("_v5") {
        Some(op) if op.starts_with("engine") => (op.to_owned(), ProtocolVersion::V5),
        _ => (what, v),
    };
    let mut client = benches::engine_loops::connected_client(engine_version);
    let payload = bytes::Bytes::from(vec![0xA5u8; 64]);
    let now = mqtt_engine::Instant::from_millis(1);
    println!(
        "size_of PacketRef = {}, Packet = {}, Connect<Borrowed> = {}, Publish<Borrowed> = {}",
        std::mem::size_of::<mqtt_proto::PacketRef<'_>>(),
        std::mem::size_of::<mqtt_proto::Packet>(),
        std::mem::size_of::<mqtt_proto::Connect<mqtt_proto::Borrowed<'_>>>(),
        std::mem::size_of::<mqtt_proto::Publish<mqtt_proto::Borrowed<'_>>>()
    );
    // One match, then the loop: the harness costs the same few instructions for every op.
    match what.as_str() {
        // The encode ops call each type's own encoder, as the criterion rows do (the peers'
        // rows call theirs); `encode_packet` goes through `Packet::encode`.
        "encode" => repeat(n, || {
            buf.clear();
            black_box(publish_plain.encode(v, &mut buf).ok());
        }),
        "encode_packet" => repeat(n, || {
            buf.clear();
            black_box(packet.encode(v, &mut buf).ok());
        }),
        "encode_0" | "encode_8" | "encode_1024" | "encode_qos0_0" | "encode_qos0_64" => {
            let (qos, size) = match what.strip_prefix("encode_qos0_") {
                Some(size) => (QoS::AtMostOnce, size),
                None => (QoS::AtLeastOnce, &what["encode_".len()..]),
            };
            let small = benches::publish_message(size.parse().unwrap_or(0), qos, false);
            repeat(n, || {
                buf.clear();
                black_box(small.encode(v, &mut buf).ok());
            });
        }
        "encode_0_small" | "mqtt_protocol_encode_0" => {
            let small = benches::publish_message(0, QoS::AtLeastOnce, false);
            let mp = mqtt::packet::PublishPacket::new(
                mqtt::TopicName::new(benches::TOPIC).expect("topic"),
                mqtt::packet::QoSWithPacketIdentifier::Level1(42),
                vec![],
            );
            let mut small_buf = BytesMut::with_capacity(26);
            let mut small_out: Vec<u8> = Vec::with_capacity(26);
            if what == "encode_0_small" {
                repeat(n, || {
                    small_buf.clear();
                    black_box(small.encode(v, &mut small_buf).ok());
                });
            } else {
                repeat(n, || {
                    use mqtt::Encodable;
                    small_out.clear();
                    black_box(mp.encode(&mut small_out).is_ok());
                });
            }
        }
        "encode_puback" => repeat(n, || {
            buf.clear();
            black_box(puback_message.encode(PacketType::PubAck, v, &mut buf).ok());
        }),
        "mqttrs_decode" => repeat(n, || {
            black_box(black_box(mqttrs::decode_slice(black_box(&bytes))).is_ok());
        }),
        "mqtt_protocol_encode_1024" => {
            let big = mqtt::packet::PublishPacket::new(
                mqtt::TopicName::new(benches::TOPIC).expect("topic"),
                mqtt::packet::QoSWithPacketIdentifier::Level1(42),
                vec![0xA5; 1024],
            );
            repeat(n, || {
                use mqtt::Encodable;
                out.clear();
                black_box(big.encode(&mut out).is_ok());
            });
        }
        "mqtt_protocol_encode" => repeat(n, || {
            use mqtt::Encodable;
            out.clear();
            black_box(mqtt_publish.encode(&mut out).is_ok());
        }),
        "encode_v5" => repeat(n, || {
            buf.clear();
            black_box(
                publish_with_properties
                    .encode(ProtocolVersion::V5, &mut buf)
                    .ok(),
            );
        }),
        "decode_ref_v5" => repeat(n, || {
            black_box(decode_ref(black_box(&bytes_v5), ProtocolVersion::V5, 1 << 20).is_ok());
        }),
        "decode_v5" => repeat(n, || {
            buf.clear();
            buf.extend_from_slice(&bytes_v5);
            black_box(decode(&mut buf, ProtocolVersion::V5, 1 << 20).ok());
        }),
        "rumqttc_decode_v5" => repeat(n, || {
            buf.clear();
            buf.extend_from_slice(&bytes_v5);
            black_box(rumqttc::v5::mqttbytes::v5::Packet::read(&mut buf, Some(1 << 20)).is_ok());
        }),
        "rumqttc_decode" => repeat(n, || {
            buf.clear();
            buf.extend_from_slice(&bytes);
            black_box(rumqttc::mqttbytes::v4::read(&mut buf, 1 << 20).is_ok());
        }),
        "decode_connect" => repeat(n, || {
            black_box(decode_ref(black_box(&connect), v, 1 << 20).is_ok());
        }),
        "decode_connect_ref" => repeat(n, || {
            black_box(decode_connect_ref(black_box(&connect), 1 << 20).is_ok());
        }),
        "mqttrs_decode_connect" => repeat(n, || {
            black_box(black_box(mqttrs::decode_slice(black_box(&connect))).is_ok());
        }),
        "decode_sub" => repeat(n, || {
            buf.clear();
            buf.extend_from_slice(&sub_bytes);
            black_box(decode(&mut buf, v, 1 << 20).ok());
        }),
        "rumqttc_decode_sub" => repeat(n, || {
            buf.clear();
            buf.extend_from_slice(&sub_bytes);
            black_box(rumqttc::mqttbytes::v4::read(&mut buf, 1 << 20).is_ok());
        }),
        "encode_connect" => repeat(n, || {
            buf.clear();
            black_box(connect_message.encode(&mut buf).ok());
        }),
        "decode_mixed" => repeat(n / 1000, || {
            buf.clear();
            buf.extend_from_slice(&mixed);
            while let Ok(Some(p)) = decode(&mut buf, v, 1 << 20) {
                black_box(&p);
            }
        }),
        "decode_mixed_ref" => repeat(n / 1000, || {
            let mut at = 0;
            while let Ok(Some((p, len))) = decode_ref(&mixed[at..], v, 1 << 20) {
                black_box(&p);
                at += len;
            }
        }),
        "mqttrs_decode_mixed" => repeat(n / 1000, || {
            let mut at = 0;
            while at < mixed.len() {
                match mqttrs::decode_slice(&mixed[at..]) {
                    Ok(Some(p)) => {
                        at += benches::frame_len(&mixed[at..]);
                        black_box(&p);
                    }
                    _ => break,
                }
            }
        }),
        "decode_puback_ref" => repeat(n, || {
            black_box(decode_ref(black_box(&puback_bytes), v, 1 << 20).is_ok());
        }),
        "mqttrs_decode_puback" => repeat(n, || {
            black_box(black_box(mqttrs::decode_slice(black_box(&puback_bytes))).is_ok());
        }),
        "rumqttc_decode_mixed" => repeat(n / 1000, || {
            buf.clear();
            buf.extend_from_slice(&mixed);
            while let Ok(p) = rumqttc::mqttbytes::v4::read(&mut buf, 1 << 20) {
                black_box(&p);
            }
        }),
        "rumqttc_encode_v5" => repeat(n, || {
            buf.clear();
            black_box(rumqttc_v5.write(&mut buf).is_ok());
        }),
        "rumqttc_encode_sub" => repeat(n, || {
            buf.clear();
            black_box(rumqttc_sub.write(&mut buf).is_ok());
        }),
        "rumqttc_encode_connect" => repeat(n, || {
            buf.clear();
            black_box(rumqttc_connect.write(&mut buf).is_ok());
        }),
        "encode_sub" => repeat(n, || {
            buf.clear();
            black_box(sub_message.encode(v, &mut buf).ok());
        }),
        "validate_filter" => repeat(n, || {
            // One filter of the SUBSCRIBE-10 rows: the check every encode and decode runs.
            black_box(
                mqtt_proto::topic::validate_filter(black_box("sensors/0/+/temperature")).is_ok(),
            );
        }),
        "decode_ref" => repeat(n, || {
            // The same shape as the mqttrs row (and as the criterion bench).
            black_box(black_box(decode_ref(black_box(&bytes), v, 1 << 20)).is_ok());
        }),
        "engine" => repeat(n, || {
            black_box(benches::engine_loops::qos1_round_trip(
                &mut client,
                &payload,
                now,
            ));
        }),
        "engine_qos2" => {
            // The ids cycle as the criterion bench's do: every flow completes before its id
            // comes back.
            let flows: Vec<_> = (1..=64u16)
                .map(|id| benches::engine_loops::incoming_qos2(engine_version, id, &payload))
                .collect();
            let mut i = 0;
            repeat(n, || {
                let (publish, pubrel) = &flows[i % flows.len()];
                i += 1;
                black_box(benches::engine_loops::qos2_incoming_flow(
                    &mut client,
                    publish,
                    pubrel,
                    now,
                ));
            });
        }
        "decode" => repeat(n, || {
            buf.clear();
            buf.extend_from_slice(&bytes);
            black_box(decode(&mut buf, v, 1 << 20).ok());
        }),
        _ => {}
    }
}

/// Runs `op` `n` times.
fn repeat(n: usize, mut op: impl FnMut()) {
    for _ in 0..n {
        op();
    }
}
