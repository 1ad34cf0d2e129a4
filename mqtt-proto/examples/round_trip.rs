//! Encodes one packet of each kind in MQTT 3.1.1 and 5.0, prints the bytes, and decodes them
//! back as a stream with both decoders.
//!
//! `cargo run -p mqtt-proto --example round_trip`

use std::process::ExitCode;

use mqtt_proto::bytes::BytesMut;
use mqtt_proto::{
    decode, decode_ref, ConnAck, Connect, Disconnect, Packet, ProtocolVersion, PubResponse,
    Publish, QoS, ReasonCode, SubAck, Subscribe, Subscription, TopicFilter, TopicName,
};

fn packets(version: ProtocolVersion) -> Vec<Packet> {
    let mut connect = Connect::new(version, "sensor-1");
    connect.username = Some("user".into());
    connect.password = Some("pass".into());
    let topic = TopicName::new("sensors/kitchen/temp").expect("a valid topic name");
    let mut publish = Publish::new(topic, r#"{"value":42}"#);
    publish.qos = QoS::AtLeastOnce;
    publish.packet_id = Some(1);
    if version == ProtocolVersion::V5 {
        publish.properties.content_type = Some("application/json".into());
    }
    let filter = TopicFilter::new("sensors/+/temp").expect("a valid filter");
    let filters = vec![Subscription::new(filter, QoS::ExactlyOnce)];
    vec![
        Packet::from(connect),
        Packet::from(ConnAck {
            session_present: false,
            reason_code: ReasonCode::Success,
            properties: Default::default(),
        }),
        Packet::Subscribe(Subscribe::new(2, filters)),
        Packet::SubAck(SubAck {
            packet_id: 2,
            properties: Default::default(),
            reason_codes: vec![ReasonCode::GrantedQoS1],
        }),
        Packet::Publish(publish),
        Packet::PubAck(PubResponse::new(1)),
        Packet::PingReq,
        Packet::from(Disconnect::default()),
    ]
}

fn run(version: ProtocolVersion) -> Result<(), Box<dyn std::error::Error>> {
    println!("== MQTT {version:?} ==");
    let sent = packets(version);
    let mut wire = BytesMut::new();
    for packet in &sent {
        let n = packet.encode(version, &mut wire)?;
        let bytes = &wire[wire.len() - n..];
        let hex: Vec<String> = bytes.iter().take(24).map(|b| format!("{b:02X}")).collect();
        let more = if n > 24 { " …" } else { "" };
        println!(
            "{:<12} {n:>3} bytes  {}{more}",
            format!("{:?}", packet.packet_type()),
            hex.join(" ")
        );
    }
    // Borrowed views: nothing allocated.
    let mut at = 0;
    while let Some((view, used)) = decode_ref(&wire[at..], version, 1 << 16)? {
        if let Packet::Publish(p) = &view {
            println!(
                "borrowed PUBLISH topic={:?} payload={:?}",
                p.topic,
                std::str::from_utf8(p.payload)?
            );
        }
        at += used;
    }
    // Owned packets: zero-copy slices of the frames, equal to what was sent.
    let mut received = Vec::new();
    while let Some(packet) = decode(&mut wire, version, 1 << 16)? {
        received.push(packet);
    }
    if received != sent {
        return Err("decoded packets differ from the encoded ones".into());
    }
    println!(
        "decoded {} packets back, identical to those sent",
        received.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        if let Err(e) = run(version) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
