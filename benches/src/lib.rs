//! Shared fixtures for the benchmarks: the packets every codec is measured on.

#![allow(clippy::missing_panics_doc)] // fixtures: a setup failure aborts the benchmark

use bytes::BytesMut;
use mqtt_proto::{
    Packet, ProtocolVersion, PubResponse, Publish, QoS, Subscribe, Subscription, TopicFilter,
    TopicName,
};

/// Payload sizes measured.
pub const PAYLOADS: [usize; 4] = [0, 64, 1024, 64 * 1024];

/// The topic of every PUBLISH: 7 bytes, like the reference numbers.
pub const TOPIC: &str = "a/b/c/d";

/// Our PUBLISH.
pub fn publish(size: usize, qos: QoS, v5: bool) -> Packet {
    Packet::Publish(publish_message(size, qos, v5))
}

/// [`publish`] as its own type, for the encoder of that type (the peers' encode rows call
/// theirs too).
pub fn publish_message(size: usize, qos: QoS, v5: bool) -> Publish {
    let topic = TopicName::new(TOPIC).expect("a valid topic name");
    let mut p = Publish::new(topic, vec![0xA5; size]).with_qos(qos);
    if qos != QoS::AtMostOnce {
        p.packet_id = Some(42);
    }
    if v5 {
        p.properties.content_type = Some("application/json".into());
        p.properties.message_expiry_interval = Some(60);
        p.properties.payload_format_indicator = Some(true);
    }
    p
}

/// Our PUBACK.
pub fn puback() -> Packet {
    Packet::PubAck(PubResponse::new(42))
}

/// Our SUBSCRIBE with 10 filters.
pub fn subscribe10() -> Packet {
    Packet::Subscribe(subscribe10_message())
}

/// [`subscribe10`] as its own type.
pub fn subscribe10_message() -> Subscribe {
    let filters = (0..10)
        .map(|i| {
            let filter = TopicFilter::new(format!("sensors/{i}/+/temperature"));
            Subscription::new(filter.expect("a valid filter"), QoS::AtLeastOnce)
        })
        .collect();
    Subscribe::new(7, filters)
}

/// Our CONNECT with credentials.
pub fn connect() -> Packet {
    Packet::from(connect_message())
}

/// [`connect`] as its own type.
pub fn connect_message() -> mqtt_proto::Connect {
    let mut c = mqtt_proto::Connect::new(ProtocolVersion::V311, "bench-client-0001");
    c.username = Some("user".into());
    c.password = Some(bytes::Bytes::from_static(b"password"));
    c.keep_alive = 30;
    c
}

/// The wire bytes of our packet.
pub fn wire(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut buf = BytesMut::new();
    packet.encode(version, &mut buf).expect("encodable");
    buf.to_vec()
}

/// A buffer of `count` small mixed packets (as a subscriber's socket would deliver them) in
/// MQTT 3.1.1: QoS 0 and QoS 1 PUBLISH with 32-byte payloads, PUBACK, PINGRESP.
pub fn mixed_stream(count: usize) -> Vec<u8> {
    let kinds = [
        publish(32, QoS::AtMostOnce, false),
        publish(32, QoS::AtLeastOnce, false),
        puback(),
        Packet::PingResp,
    ];
    let mut buf = BytesMut::new();
    for i in 0..count {
        kinds[i % kinds.len()]
            .encode(ProtocolVersion::V311, &mut buf)
            .expect("encodable");
    }
    buf.to_vec()
}
pub mod engine_loops;

/// The README's code blocks, compiled and run as doc tests (this crate depends on every
/// crate the README shows).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// Starts a local mosquitto on a free loopback port with `extra` configuration lines; returns
/// the process, the port and its temporary directory (remove it when done).
pub fn start_mosquitto(
    tag: &str,
    extra: &[&str],
) -> (std::process::Child, u16, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("mqtt-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("the benchmark needs mosquitto (apt-get install mosquitto, or ./scripts/test.sh)");
    // The free port is released before mosquitto binds it: another process may take it
    // meanwhile, and mosquitto then exits. Another port, then.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let conf = dir.join("mosquitto.conf");
        let mut text = format!("listener {port} 127.0.0.1\nallow_anonymous true\nuser root\n");
        for line in extra {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&conf, text).expect("conf");
        let mut child = std::process::Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto");
        if wait_listening(&mut child, port) {
            return (child, port, dir);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("mosquitto did not start (5 ports tried)");
}

/// Waits (up to 5 s) until `port` takes connections while `child` runs: false when it exits
/// first or never listens.
fn wait_listening(child: &mut std::process::Child, port: u16) -> bool {
    for _ in 0..250 {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        if transport_core::loopback_listening(port) {
            // Something listens; a mosquitto that could not bind (the port taken by another
            // process) exits within milliseconds: still running a little later, it is ours.
            std::thread::sleep(std::time::Duration::from_millis(50));
            return matches!(child.try_wait(), Ok(None));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Length of the frame at the start of `b` (fixed header + remaining length): mqttrs does not
/// return it, so its stream benchmarks re-read it.
pub fn frame_len(b: &[u8]) -> usize {
    let (mut len, mut mult, mut i) = (0usize, 1usize, 1usize);
    loop {
        let byte = b[i];
        len += usize::from(byte & 0x7F) * mult;
        i += 1;
        if byte & 0x80 == 0 {
            return i + len;
        }
        mult *= 128;
    }
}
