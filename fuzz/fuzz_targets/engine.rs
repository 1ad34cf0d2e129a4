//! The engine driven by a script read from the fuzzer's bytes: server bytes, publishes,
//! subscriptions, timeouts, connection losses and reconnects, in any order. Nothing may panic
//! and the engine's bounds must hold.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_engine::{Client, Instant, Options, Output, Store};
use mqtt_proto::{ProtocolVersion, Publish, QoS};

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut script)) = data.split_first() else {
        return;
    };
    let version = if first & 1 == 0 {
        ProtocolVersion::V311
    } else {
        ProtocolVersion::V5
    };
    let options = Options::new("fuzz")
        .protocol(version)
        .max_queued(64)
        .clean_session(first & 2 == 0)
        // A small limit now and then: larger messages take the 3.1.1 skipping path.
        .max_incoming_packet_size(if first & 4 == 0 { 1 << 20 } else { 64 })
        .manual_acks(first & 8 != 0);
    let mut now = 0u64;
    let Ok(mut client) = Client::new(options, Instant::from_millis(now)) else {
        return;
    };
    while let Some((&op, rest)) = script.split_first() {
        script = rest;
        let t = Instant::from_millis(now);
        match op % 8 {
            0 | 1 => {
                let n = usize::from(op / 8).min(script.len());
                let (bytes, rest) = script.split_at(n);
                script = rest;
                let _ = client.handle_input(bytes, t);
            }
            2 => {
                let qos = match op / 8 % 3 {
                    0 => QoS::AtMostOnce,
                    1 => QoS::AtLeastOnce,
                    _ => QoS::ExactlyOnce,
                };
                let _ = client.publish(
                    Publish::new(
                        "fuzz/t".try_into().expect("topic"),
                        vec![op; usize::from(op)],
                    )
                    .with_qos(qos),
                    t,
                );
            }
            3 => {
                let _ = client.subscribe_one("fuzz/#", QoS::ExactlyOnce, t);
            }
            4 => {
                now += u64::from(op) * 100;
                client.handle_timeout(Instant::from_millis(now));
            }
            5 => client.connection_lost(t),
            6 => client.connect(t),
            _ => client.disconnect(t),
        }
        while let Some(out) = client.poll_output(t) {
            if let Output::Event(mqtt_engine::Event::Message(m)) = out {
                if let Some(token) = m.ack_token() {
                    client.ack(token, t);
                }
            }
        }
        assert!(client.queued_len() <= 64, "queue bound");
        assert!(
            client.store().outgoing_len() <= usize::from(u16::MAX),
            "in-flight bound"
        );
    }
});
