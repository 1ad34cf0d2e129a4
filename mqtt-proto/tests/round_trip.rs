//! Property tests: for every packet type of both versions, encode → decode is the identity,
//! with both decoders, whichever byte the input is split at; streams of packets decode in order;
//! arbitrary and corrupted bytes never panic.

mod common;

use bytes::{Bytes, BytesMut};
use common::{decode_streaming, encode, MAX};
use mqtt_proto::PacketRef;
use mqtt_proto::{
    decode, decode_connect_ref, decode_ref, AckProperties, Auth, AuthProperties, ByteStr, ConnAck,
    ConnAckProperties, Connect, ConnectProperties, DecodeError, Disconnect, DisconnectProperties,
    LastWill, Packet, PacketType, ProtocolVersion, PubResponse, Publish, PublishProperties, QoS,
    ReasonCode, RetainHandling, SubAck, Subscribe, SubscribeProperties, Subscription,
    SubscriptionOptions, TopicFilter, TopicName, Unsubscribe, UnsubscribeProperties, UserProperty,
    WillProperties,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

use ProtocolVersion::{V311, V5};

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(V311), Just(V5)]
}

fn text() -> impl Strategy<Value = ByteStr> {
    // Any non-control characters, multi-byte ones included.
    "\\PC{0,8}".prop_map(ByteStr::from)
}

fn topic() -> impl Strategy<Value = ByteStr> {
    "[a-z0-9$]{1,4}(/[a-z0-9é]{0,4}){0,3}".prop_map(ByteStr::from)
}

fn topic_name() -> impl Strategy<Value = TopicName> {
    topic().prop_map(|t| TopicName::new(t).expect("a valid name"))
}

fn topic_filter() -> impl Strategy<Value = TopicFilter> {
    filter().prop_map(|f| TopicFilter::new(f).expect("a valid filter"))
}

fn filter() -> impl Strategy<Value = ByteStr> {
    prop_oneof![
        Just(ByteStr::from("#")),
        Just(ByteStr::from("+")),
        topic(),
        "[a-z]{1,3}/\\+/[a-z]{1,3}".prop_map(ByteStr::from),
        "[a-z]{1,3}(/[a-z]{1,3})?/#".prop_map(ByteStr::from),
        "\\$share/[a-z]{1,3}/([a-z]{1,3}|\\+)".prop_map(ByteStr::from),
    ]
}

fn bin() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..16).prop_map(Bytes::from)
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn non_zero_u16() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

fn user_properties() -> impl Strategy<Value = Vec<UserProperty>> {
    vec(
        (text(), text()).prop_map(|(k, v)| UserProperty::new(k, v)),
        0..3,
    )
}

/// Codes `packet` may carry in `version`.
fn codes(packet: PacketType, version: ProtocolVersion) -> Vec<ReasonCode> {
    let all = (0..=255)
        .filter_map(ReasonCode::from_u8)
        .filter(|c| c.is_valid_for(packet));
    match (version, packet) {
        (V5, _) => all.collect(),
        (V311, PacketType::ConnAck) => vec![
            ReasonCode::Success,
            ReasonCode::UnsupportedProtocolVersion,
            ReasonCode::ClientIdentifierNotValid,
            ReasonCode::ServerUnavailable,
            ReasonCode::BadUserNameOrPassword,
            ReasonCode::NotAuthorized,
        ],
        (V311, PacketType::SubAck) => vec![
            ReasonCode::Success,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError,
        ],
        (V311, _) => vec![ReasonCode::Success],
    }
}

fn code(packet: PacketType, version: ProtocolVersion) -> impl Strategy<Value = ReasonCode> {
    prop::sample::select(codes(packet, version))
}

/// `strategy` in MQTT 5, the default (no properties) in 3.1.1.
fn v5_only<T: Default + Clone + core::fmt::Debug + 'static>(
    version: ProtocolVersion,
    strategy: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    match version {
        V5 => strategy.boxed(),
        V311 => Just(T::default()).boxed(),
    }
}

fn connect_properties() -> impl Strategy<Value = ConnectProperties> {
    (
        (
            of(any::<u32>()),
            of(non_zero_u16()),
            of(1..=u32::MAX),
            of(any::<u16>()),
        ),
        (of(any::<bool>()), of(any::<bool>()), of(text()), of(bin())),
        user_properties(),
    )
        .prop_map(
            |((sei, rm, mps, tam), (rri, rpi, am, ad), up)| ConnectProperties {
                session_expiry_interval: sei,
                receive_maximum: rm,
                maximum_packet_size: mps,
                topic_alias_maximum: tam,
                request_response_information: rri,
                request_problem_information: rpi,
                authentication_method: am,
                authentication_data: ad,
                user_properties: up,
            },
        )
}

fn will_properties() -> impl Strategy<Value = WillProperties> {
    (
        (of(any::<u32>()), of(any::<bool>()), of(any::<u32>())),
        (of(text()), of(topic()), of(bin())),
        user_properties(),
    )
        .prop_map(|((wdi, pfi, mei), (ct, rt, cd), up)| WillProperties {
            will_delay_interval: wdi,
            payload_format_indicator: pfi,
            message_expiry_interval: mei,
            content_type: ct,
            response_topic: rt,
            correlation_data: cd,
            user_properties: up,
        })
}

fn connect(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let will = (
        topic(),
        bin(),
        qos(),
        any::<bool>(),
        v5_only(version, will_properties()),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| LastWill {
            topic,
            payload,
            qos,
            retain,
            properties: properties.into(),
        });
    (
        (any::<bool>(), any::<u16>(), text(), of(will)),
        (
            of(text()),
            of(bin()),
            v5_only(version, connect_properties()),
        ),
    )
        .prop_map(
            move |(
                (clean_start, keep_alive, client_id, will),
                (mut username, password, properties),
            )| {
                if version == V311 && password.is_some() && username.is_none() {
                    username = Some(ByteStr::from("user"));
                }
                Packet::from(Connect {
                    protocol: version,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties: properties.into(),
                })
            },
        )
}

fn connack_properties() -> impl Strategy<Value = ConnAckProperties> {
    let max_qos = prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)];
    (
        (
            of(any::<u32>()),
            of(non_zero_u16()),
            of(max_qos),
            of(any::<bool>()),
            of(1..=u32::MAX),
        ),
        (
            of(text()),
            of(any::<u16>()),
            of(text()),
            of(any::<bool>()),
            of(any::<bool>()),
        ),
        (
            of(any::<bool>()),
            of(any::<u16>()),
            of(text()),
            of(text()),
            of(text()),
            of(bin()),
        ),
        user_properties(),
    )
        .prop_map(
            |((sei, rm, mq, ra, mps), (aci, tam, rs, wsa, sia), (ssa, ska, ri, sr, am, ad), up)| {
                ConnAckProperties {
                    session_expiry_interval: sei,
                    receive_maximum: rm,
                    maximum_qos: mq,
                    retain_available: ra,
                    maximum_packet_size: mps,
                    assigned_client_identifier: aci,
                    topic_alias_maximum: tam,
                    reason_string: rs,
                    wildcard_subscription_available: wsa,
                    subscription_identifiers_available: sia,
                    shared_subscription_available: ssa,
                    server_keep_alive: ska,
                    response_information: ri,
                    server_reference: sr,
                    authentication_method: am,
                    authentication_data: ad,
                    user_properties: up,
                }
            },
        )
}

fn connack(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        any::<bool>(),
        code(PacketType::ConnAck, version),
        v5_only(version, connack_properties()),
    )
        .prop_map(|(sp, reason_code, properties)| {
            // [MQTT-3.2.2-4]: session present only on success.
            let session_present = sp && reason_code.is_success();
            Packet::from(ConnAck {
                session_present,
                reason_code,
                properties,
            })
        })
}

fn publish_properties() -> impl Strategy<Value = PublishProperties> {
    (
        (
            of(any::<bool>()),
            of(any::<u32>()),
            of(non_zero_u16()),
            of(topic()),
            of(bin()),
        ),
        (
            vec(1..=mqtt_proto::MAX_REMAINING_LENGTH, 0..3),
            of(text()),
            user_properties(),
        ),
    )
        .prop_map(|((pfi, mei, ta, rt, cd), (si, ct, up))| PublishProperties {
            payload_format_indicator: pfi,
            message_expiry_interval: mei,
            topic_alias: ta,
            response_topic: rt,
            correlation_data: cd,
            subscription_identifiers: si,
            content_type: ct,
            user_properties: up,
        })
}

fn publish(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let payload = prop_oneof![bin(), vec(any::<u8>(), 0..600).prop_map(Bytes::from)];
    (
        (
            any::<bool>(),
            qos(),
            any::<bool>(),
            topic_name(),
            any::<bool>(),
        ),
        (
            non_zero_u16(),
            v5_only(version, publish_properties()),
            payload,
        ),
    )
        .prop_map(
            |((dup, qos, retain, mut topic, drop_topic), (id, properties, payload))| {
                if drop_topic && properties.topic_alias.is_some() {
                    topic = TopicName::default();
                }
                let qos0 = qos == QoS::AtMostOnce;
                Packet::Publish(Publish {
                    dup: dup && !qos0,
                    qos,
                    retain,
                    topic,
                    packet_id: (!qos0).then_some(id),
                    properties: properties.into(),
                    payload,
                })
            },
        )
}

fn ack_properties() -> impl Strategy<Value = AckProperties> {
    (of(text()), user_properties()).prop_map(|(reason_string, user_properties)| AckProperties {
        reason_string,
        user_properties,
    })
}

fn pub_response(packet: PacketType, version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        non_zero_u16(),
        code(packet, version),
        v5_only(version, ack_properties()),
    )
        .prop_map(move |(packet_id, reason_code, properties)| {
            let r = PubResponse {
                packet_id,
                reason_code,
                properties,
            };
            match packet {
                PacketType::PubAck => Packet::PubAck(r),
                PacketType::PubRec => Packet::PubRec(r),
                PacketType::PubRel => Packet::PubRel(r),
                _ => Packet::PubComp(r),
            }
        })
}

fn subscription(version: ProtocolVersion) -> impl Strategy<Value = Subscription> {
    let handling = prop_oneof![
        Just(RetainHandling::SendAtSubscribe),
        Just(RetainHandling::SendIfNew),
        Just(RetainHandling::DoNotSend)
    ];
    (
        topic_filter(),
        qos(),
        any::<bool>(),
        any::<bool>(),
        handling,
    )
        .prop_map(move |(filter, max_qos, nl, rap, rh)| {
            let options = match version {
                V311 => SubscriptionOptions::new(max_qos),
                V5 => SubscriptionOptions {
                    max_qos,
                    // [MQTT-3.8.3-4]
                    no_local: nl && !mqtt_proto::topic::is_shared(&filter),
                    retain_as_published: rap,
                    retain_handling: rh,
                },
            };
            Subscription { filter, options }
        })
}

fn subscribe(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let props = (of(1..=mqtt_proto::MAX_REMAINING_LENGTH), user_properties()).prop_map(
        |(subscription_identifier, user_properties)| SubscribeProperties {
            subscription_identifier,
            user_properties,
        },
    );
    (
        non_zero_u16(),
        v5_only(version, props),
        vec(subscription(version), 1..5),
    )
        .prop_map(|(packet_id, properties, subscriptions)| {
            Packet::Subscribe(Subscribe {
                packet_id,
                properties,
                subscriptions,
            })
        })
}

fn suback(packet: PacketType, version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let count = if version == V311 && packet == PacketType::UnsubAck {
        0..1
    } else {
        1..6
    };
    (
        non_zero_u16(),
        v5_only(version, ack_properties()),
        vec(code(packet, version), count),
    )
        .prop_map(move |(packet_id, properties, mut reason_codes)| {
            if version == V311 && packet == PacketType::UnsubAck {
                reason_codes.clear();
            }
            let ack = SubAck {
                packet_id,
                properties,
                reason_codes,
            };
            if packet == PacketType::SubAck {
                Packet::SubAck(ack)
            } else {
                Packet::UnsubAck(ack)
            }
        })
}

fn unsubscribe(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let props =
        user_properties().prop_map(|user_properties| UnsubscribeProperties { user_properties });
    (non_zero_u16(), v5_only(version, props), vec(filter(), 1..5)).prop_map(
        |(packet_id, properties, filters)| {
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                properties,
                filters,
            })
        },
    )
}

fn disconnect(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let props = (of(any::<u32>()), of(text()), of(text()), user_properties()).prop_map(
        |(sei, rs, sr, up)| DisconnectProperties {
            session_expiry_interval: sei,
            reason_string: rs,
            server_reference: sr,
            user_properties: up,
        },
    );
    (
        code(PacketType::Disconnect, version),
        v5_only(version, props),
    )
        .prop_map(|(reason_code, properties)| {
            Packet::from(Disconnect {
                reason_code,
                properties,
            })
        })
}

fn auth() -> impl Strategy<Value = Packet> {
    let props =
        (of(text()), of(bin()), of(text()), user_properties()).prop_map(|(am, ad, rs, up)| {
            AuthProperties {
                authentication_method: am,
                authentication_data: ad,
                reason_string: rs,
                user_properties: up,
            }
        });
    (code(PacketType::Auth, V5), props).prop_map(|(reason_code, properties)| {
        Packet::from(Auth {
            reason_code,
            properties,
        })
    })
}

fn any_packet(version: ProtocolVersion) -> BoxedStrategy<Packet> {
    let mut all = vec![
        connect(version).boxed(),
        connack(version).boxed(),
        publish(version).boxed(),
        pub_response(PacketType::PubAck, version).boxed(),
        pub_response(PacketType::PubRec, version).boxed(),
        pub_response(PacketType::PubRel, version).boxed(),
        pub_response(PacketType::PubComp, version).boxed(),
        subscribe(version).boxed(),
        suback(PacketType::SubAck, version).boxed(),
        unsubscribe(version).boxed(),
        suback(PacketType::UnsubAck, version).boxed(),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        disconnect(version).boxed(),
    ];
    if version == V5 {
        all.push(auth().boxed());
    }
    prop::strategy::Union::new(all).boxed()
}

/// Encodes, then decodes with both decoders at every split point; must give back `packet`.
fn round_trip(packet: &Packet, version: ProtocolVersion) -> Result<(), TestCaseError> {
    let bytes = encode(packet, version);
    prop_assert_eq!(&decode_streaming(&bytes, version), packet);
    // A borrowed list counts its items by skipping them (the owned form sizes its vector so):
    // the count must be the number of items read.
    if let Ok(Some((borrowed, _))) = decode_ref(&bytes, version, MAX) {
        let lists = match &borrowed {
            PacketRef::Subscribe(s) => {
                vec![(s.subscriptions.len(), s.subscriptions.iter().count())]
            }
            PacketRef::Unsubscribe(u) => vec![(u.filters.len(), u.filters.iter().count())],
            PacketRef::SubAck(a) | PacketRef::UnsubAck(a) => {
                vec![(a.reason_codes.len(), a.reason_codes.iter().count())]
            }
            _ => vec![],
        };
        for (len, count) in lists {
            prop_assert_eq!(len, count);
        }
    }
    Ok(())
}

macro_rules! round_trip_tests {
    ($($name:ident: |$v:ident| $strategy:expr;)*) => {$(
        proptest! {
            #[test]
            fn $name(($v, packet) in version().prop_flat_map(|$v| (Just($v), $strategy))) {
                round_trip(&packet, $v)?;
            }
        }
    )*};
}

round_trip_tests! {
    connect_round_trip: |v| connect(v);
    connack_round_trip: |v| connack(v);
    publish_round_trip: |v| publish(v);
    puback_round_trip: |v| pub_response(PacketType::PubAck, v);
    pubrec_round_trip: |v| pub_response(PacketType::PubRec, v);
    pubrel_round_trip: |v| pub_response(PacketType::PubRel, v);
    pubcomp_round_trip: |v| pub_response(PacketType::PubComp, v);
    subscribe_round_trip: |v| subscribe(v);
    suback_round_trip: |v| suback(PacketType::SubAck, v);
    unsubscribe_round_trip: |v| unsubscribe(v);
    unsuback_round_trip: |v| suback(PacketType::UnsubAck, v);
    pingreq_round_trip: |v| Just(Packet::PingReq);
    pingresp_round_trip: |v| Just(Packet::PingResp);
    disconnect_round_trip: |v| disconnect(v);
}

proptest! {
    #[test]
    fn auth_round_trip_v5(packet in auth()) {
        round_trip(&packet, V5)?;
    }

    #[test]
    fn stream_of_packets_decodes_in_order(
        (v, packets) in version().prop_flat_map(|v| (Just(v), vec(any_packet(v), 1..8)))
    ) {
        let mut buf = BytesMut::new();
        for p in &packets {
            p.encode(v, &mut buf).expect("encodable");
        }
        let mut view = &buf[..];
        for p in &packets {
            let (decoded, used) = decode_ref(view, v, MAX).expect("valid").expect("complete");
            prop_assert_eq!(decoded.packet_type(), p.packet_type());
            view = &view[used..];
        }
        prop_assert!(view.is_empty());
        for p in &packets {
            prop_assert_eq!(&decode(&mut buf, v, MAX).expect("valid").expect("complete"), p);
        }
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(v in version(), bytes in vec(any::<u8>(), 0..64)) {
        if let Ok(Some((_, used))) = decode_ref(&bytes, v, MAX) {
            prop_assert!(used <= bytes.len());
        }
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = decode(&mut buf, v, MAX);
    }

    #[test]
    fn corrupted_encodings_never_panic(
        (v, packet) in version().prop_flat_map(|v| (Just(v), any_packet(v))),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let bytes = corrupted(&packet, v, &flips);
        // Whatever still decodes is a packet the encoder accepts too, and it is stable:
        // decode → encode → decode gives the same packet.
        let mut buf = BytesMut::from(&bytes[..]);
        if let Ok(Some(decoded)) = decode(&mut buf, v, MAX) {
            let again = encode(&decoded, v);
            prop_assert_eq!(decode_streaming(&again, v), decoded);
        }
    }
}

/// `packet`'s encoding with the bytes at `flips` (positions taken modulo its length) replaced.
fn corrupted(packet: &Packet, v: ProtocolVersion, flips: &[(prop::sample::Index, u8)]) -> Vec<u8> {
    let mut bytes = encode(packet, v);
    for (at, value) in flips {
        let i = at.index(bytes.len());
        bytes[i] = *value;
    }
    bytes
}

proptest! {
    /// A server's first read, `decode_connect_ref`, agrees with `decode_ref` on every CONNECT
    /// and every prefix of it, corrupted ones included: the same packet (not boxed), the same
    /// error, the same wait for more bytes; another packet type is `NotConnect` once its
    /// fixed header is in.
    #[test]
    fn connect_as_its_own_type_agrees_with_the_packet_decoder(
        (v, packet) in version().prop_flat_map(|v| (Just(v), connect(v))),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    ) {
        let bytes = corrupted(&packet, v, &flips);
        for end in 0..=bytes.len() {
            let input = &bytes[..end];
            let own = decode_connect_ref(input, MAX);
            match decode_ref(input, V5, MAX) {
                Ok(Some((PacketRef::Connect(c), n))) => prop_assert_eq!(own, Ok(Some((*c, n)))),
                Ok(Some((other, _))) => {
                    prop_assert_eq!(own, Err(DecodeError::NotConnect(other.packet_type())));
                }
                general if input.first().map(|b| b >> 4) == Some(PacketType::Connect as u8) => {
                    prop_assert_eq!(own, general.map(|_| None));
                }
                general => {
                    let general = general.map(|_| None);
                    prop_assert!(
                        matches!(own, Ok(None) | Err(DecodeError::NotConnect(_))) || own == general,
                        "{:?} against {:?}", own, general
                    );
                }
            }
        }
    }
}

/// Any SUBSCRIBE a sender can build, broken ones included: any filters (a filter that breaks
/// the rules cannot be built: `TopicFilter`'s own tests), any options, identifier 0 or not, no
/// list at all, properties in either version.
fn any_subscribe() -> impl Strategy<Value = Subscribe> {
    let filter = topic_filter();
    let options = (qos(), any::<bool>(), any::<bool>(), 0u8..3).prop_map(|(q, nl, rap, rh)| {
        SubscriptionOptions {
            max_qos: q,
            no_local: nl,
            retain_as_published: rap,
            retain_handling: match rh {
                0 => RetainHandling::SendAtSubscribe,
                1 => RetainHandling::SendIfNew,
                _ => RetainHandling::DoNotSend,
            },
        }
    });
    let subscription =
        (filter, options).prop_map(|(filter, options)| Subscription { filter, options });
    (0u16..3, of(1u32..3), vec(subscription, 0..5)).prop_map(|(packet_id, id, subscriptions)| {
        Subscribe {
            packet_id,
            properties: SubscribeProperties {
                subscription_identifier: id,
                user_properties: Vec::new(),
            },
            subscriptions,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// `Packet::encode` checks a SUBSCRIBE's filters as it writes them (one pass); the slice
    /// encoder and `encoded_len` size first and write after: the same bytes, or the same
    /// error with nothing appended.
    #[test]
    fn subscribe_one_pass_encode_agrees_with_the_two_pass_encoders(
        v in version(),
        subscribe in any_subscribe(),
    ) {
        let packet = Packet::Subscribe(subscribe);
        let mut buf = BytesMut::from(&b"kept"[..]);
        let one_pass = packet.encode(v, &mut buf);
        let mut out = vec![0u8; 1024];
        let two_pass = packet.encode_to_slice(v, &mut out);
        prop_assert_eq!(&one_pass, &two_pass);
        prop_assert_eq!(one_pass.clone(), packet.encoded_len(v));
        if let Ok(n) = one_pass {
            prop_assert_eq!(&buf[4..], &out[..n]);
        } else {
            prop_assert_eq!(&buf[..], b"kept");
        }
    }
}
