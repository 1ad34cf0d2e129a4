//! CONNECT / CONNACK for both versions.

mod common;

use bytes::Bytes;
use common::Harness;
use mqtt_engine::{DisconnectReason, Event, Options, State};
use mqtt_proto::{ConnAck, ConnAckProperties, LastWill, Packet, ProtocolVersion, QoS, ReasonCode};

#[test]
fn mqtt_3_1_0_1_first_packet_is_connect_with_the_options() {
    let will = LastWill::new("status/sensor-1", "offline").with_qos(QoS::AtLeastOnce);
    let options = Options::new("sensor-1")
        .protocol(ProtocolVersion::V311)
        .keep_alive_secs(30)
        .clean_session(false)
        .credentials("user", "pass")
        .last_will(will.clone());
    let mut h = Harness::new(options);
    assert!(h.take_sent().is_empty(), "nothing is sent before connect");
    h.client.connect(h.now);
    h.pump();
    let sent = h.take_sent();
    let [Packet::Connect(c)] = sent.as_slice() else {
        panic!("one CONNECT: {sent:?}")
    };
    assert_eq!(c.protocol, ProtocolVersion::V311);
    assert_eq!(c.client_id, "sensor-1");
    assert_eq!(c.keep_alive, 30);
    assert!(!c.clean_start);
    assert_eq!(
        c.username.as_ref().map(mqtt_proto::ByteStr::as_str),
        Some("user")
    );
    assert_eq!(c.password, Some(Bytes::from_static(b"pass")));
    assert_eq!(c.will, Some(will));
}

#[test]
fn v5_connect_announces_limits_and_persistent_session_expiry() {
    let options = Options::new("c")
        .clean_session(false)
        .receive_maximum(10)
        .topic_alias_maximum(5)
        .max_incoming_packet_size(4096);
    let mut h = Harness::new(options);
    h.client.connect(h.now);
    h.pump();
    let sent = h.take_sent();
    let [Packet::Connect(c)] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert_eq!(c.protocol, ProtocolVersion::V5);
    assert!(!c.clean_start);
    assert_eq!(c.properties.session_expiry_interval, Some(u32::MAX));
    assert_eq!(c.properties.receive_maximum, Some(10));
    assert_eq!(c.properties.topic_alias_maximum, Some(5));
    assert_eq!(c.properties.maximum_packet_size, Some(4096));
}

#[test]
fn connack_success_emits_connected() {
    let mut h = Harness::v5("c");
    h.connect(false);
    assert!(h.client.is_connected());
    let events = h.take_events();
    assert!(
        matches!(&events[..], [Event::Connected(c)] if !c.session_present && c.client_id == "c"),
        "{events:?}"
    );
}

#[test]
fn mqtt_3_2_2_16_assigned_client_identifier_is_used_for_reconnects() {
    let mut h = Harness::new(Options::new("").clean_session(false));
    let props = ConnAckProperties {
        assigned_client_identifier: Some("auto-123".into()),
        ..Default::default()
    };
    h.connect_with(false, props);
    assert!(matches!(&h.take_events()[..], [Event::Connected(c)] if c.client_id == "auto-123"));
    h.client.connection_lost(h.now);
    h.client.connect(h.now);
    h.pump();
    let sent = h.take_sent();
    let [Packet::Connect(c)] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert_eq!(c.client_id, "auto-123");
    assert!(!c.clean_start, "the session of the assigned id is resumed");
}

#[test]
fn v311_refusal_codes_are_typed_and_bad_credentials_are_not_retried() {
    let mut h = Harness::v311("c");
    h.client.connect(h.now);
    h.pump();
    h.send(Packet::from(ConnAck {
        session_present: false,
        reason_code: ReasonCode::BadUserNameOrPassword,
        properties: Default::default(),
    }));
    let events = h.take_events();
    assert!(
        matches!(
            &events[..],
            [Event::ConnectionRefused {
                reason_code: ReasonCode::BadUserNameOrPassword,
                will_retry: false,
                ..
            }]
        ),
        "{events:?}"
    );
    assert_eq!(h.client.state(), State::Idle);
    assert_eq!(h.deadline, None);
}

#[test]
fn transient_refusal_schedules_a_reconnect() {
    let mut h = Harness::v5("c");
    h.client.connect(h.now);
    h.pump();
    h.send(Packet::from(ConnAck {
        session_present: false,
        reason_code: ReasonCode::ServerBusy,
        properties: Default::default(),
    }));
    let events = h.take_events();
    assert!(matches!(
        events[0],
        Event::ConnectionRefused {
            reason_code: ReasonCode::ServerBusy,
            will_retry: true,
            ..
        }
    ));
    assert!(matches!(
        events[1],
        Event::ReconnectScheduled { attempt: 1, .. }
    ));
    assert!(matches!(h.client.state(), State::WaitingReconnect { .. }));
}

#[test]
fn connect_timeout_without_connack() {
    let mut h = Harness::new(Options::new("c").connect_timeout(core::time::Duration::from_secs(5)));
    h.client.connect(h.now);
    h.pump();
    assert_eq!(h.deadline, Some(mqtt_engine::Instant::from_millis(6_000)));
    h.advance_ms(4_999);
    assert!(h.take_events().is_empty());
    h.advance_ms(1);
    let events = h.take_events();
    assert!(
        matches!(
            events[0],
            Event::Disconnected(DisconnectReason::ConnectTimeout)
        ),
        "{events:?}"
    );
}

#[test]
fn mqtt_3_2_2_2_session_present_after_clean_start_is_a_violation() {
    let mut h = Harness::v5("c");
    h.connect(true);
    let events = h.take_events();
    assert!(
        matches!(
            events[0],
            Event::Disconnected(DisconnectReason::ProtocolError(
                mqtt_engine::ProtocolError::UnexpectedSessionPresent
            ))
        ),
        "{events:?}"
    );
    assert!(
        matches!(&h.take_sent()[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::ProtocolError)
    );
}

#[test]
fn disconnect_sends_disconnect_and_shuts_down() {
    let mut h = Harness::v5("c");
    h.connect(false);
    h.take_events();
    h.client.disconnect(h.now);
    h.pump();
    assert!(
        matches!(&h.take_sent()[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::Success)
    );
    assert!(matches!(
        &h.take_events()[..],
        [Event::Disconnected(DisconnectReason::Requested)]
    ));
    assert_eq!(h.client.state(), State::ShutDown);
    let refused = h.client.publish(
        mqtt_proto::Publish::new("t".try_into().expect("topic"), "x"),
        h.now,
    );
    assert_eq!(refused, Err(mqtt_engine::Error::ShutDown));
    assert_eq!(
        h.deadline, None,
        "no reconnect after a requested disconnect"
    );
}

#[test]
fn v311_only_server_refusing_a_v5_connect_is_a_typed_refusal() {
    let mut h = Harness::v5("c");
    h.client.connect(h.now);
    h.pump();
    h.take_sent();
    // 3.1.1 CONNACK, return code 1: unacceptable protocol version.
    h.send_raw(&[0x20, 0x02, 0x00, 0x01])
        .expect("a refusal, not a protocol error");
    let events = h.take_events();
    assert!(
        matches!(
            events[0],
            Event::ConnectionRefused {
                reason_code: ReasonCode::UnsupportedProtocolVersion,
                will_retry: false,
                ..
            }
        ),
        "{events:?}"
    );
}
