//! The engine work measured per message, shared by the timing and allocation benchmarks.

use bytes::Bytes;
use mqtt_engine::{Client, Instant, Options, Output};
use mqtt_proto::{
    ByteStr, ConnAck, Packet, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode, TopicName,
};

/// A client connected to nobody: CONNECT consumed, CONNACK fed.
pub fn connected_client(version: ProtocolVersion) -> Client {
    let options = Options::new("bench")
        .protocol(version)
        .keep_alive_secs(0)
        .topic_alias_maximum(0);
    connected_client_with(options)
}

/// [`connected_client`] with `options`; the CONNACK is for the options' protocol version.
pub fn connected_client_with(options: Options) -> Client {
    connected_client_granted(options, Default::default())
}

/// An MQTT 5 client whose server accepts topic aliases (up to 10): its publishes to one topic
/// go out with an alias after the first.
pub fn aliasing_client() -> Client {
    let options = Options::new("bench")
        .protocol(ProtocolVersion::V5)
        .keep_alive_secs(0);
    let granted = mqtt_proto::ConnAckProperties {
        topic_alias_maximum: Some(10),
        ..Default::default()
    };
    connected_client_granted(options, granted)
}

fn connected_client_granted(options: Options, granted: mqtt_proto::ConnAckProperties) -> Client {
    let now = Instant::from_millis(0);
    let version = options.version();
    let mut client = Client::new(options, now).expect("client");
    client.connect(now);
    drain(&mut client, now);
    let mut ack = bytes::BytesMut::new();
    Packet::from(ConnAck {
        session_present: false,
        reason_code: ReasonCode::Success,
        properties: granted,
    })
    .encode(version, &mut ack)
    .expect("encode");
    client.handle_input(&ack, now).expect("connack");
    drain(&mut client, now);
    client
}

/// Drains the output as the drivers do: the bytes into one reused buffer
/// ([`Client::poll_transmit`]), then the events; returns the bytes that would be written.
pub fn drain(client: &mut Client, now: Instant) -> usize {
    thread_local! {
        static WIRE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let written = WIRE.with_borrow_mut(|wire| {
        wire.clear();
        client.poll_transmit(wire)
    });
    let mut more = 0;
    while let Some(out) = client.poll_output(now) {
        if let Output::Transmit(b) = out {
            more += b.len();
        }
    }
    written + more
}

/// One QoS 1 publish and its PUBACK. The topic is built and checked in the loop, as an
/// application building each message pays for it.
pub fn qos1_round_trip(client: &mut Client, payload: &Bytes, now: Instant) -> usize {
    let Ok(topic) = TopicName::new(ByteStr::from_static("a/b/c/d")) else {
        return 0;
    };
    let mut publish = Publish::new(topic, payload.clone());
    publish.qos = QoS::AtLeastOnce;
    let id = client.publish(publish, now).ok().flatten().unwrap_or(0);
    let written = drain(client, now);
    let [hi, lo] = id.to_be_bytes();
    let _ = client.handle_input(&[0x40, 0x02, hi, lo], now);
    written + drain(client, now)
}

/// The wire bytes of an incoming QoS 2 PUBLISH with `id`, then its PUBREL.
pub fn incoming_qos2(version: ProtocolVersion, id: u16, payload: &Bytes) -> (Vec<u8>, Vec<u8>) {
    let mut p = Publish::new("a/b/c/d".try_into().expect("topic"), payload.clone())
        .with_qos(QoS::ExactlyOnce);
    p.packet_id = Some(id);
    let mut publish = bytes::BytesMut::new();
    Packet::Publish(p)
        .encode(version, &mut publish)
        .expect("encode");
    let mut pubrel = bytes::BytesMut::new();
    Packet::PubRel(PubResponse::new(id))
        .encode(version, &mut pubrel)
        .expect("encode");
    (publish.to_vec(), pubrel.to_vec())
}

/// One incoming QoS 2 message: PUBLISH in, PUBREC out, PUBREL in, PUBCOMP out.
pub fn qos2_incoming_flow(
    client: &mut Client,
    publish: &[u8],
    pubrel: &[u8],
    now: Instant,
) -> usize {
    let _ = client.handle_input(publish, now);
    let mut n = drain(client, now);
    let _ = client.handle_input(pubrel, now);
    n += drain(client, now);
    n
}
