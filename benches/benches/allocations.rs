//! Allocations per message in the engine's hot paths, counted by dhat's allocator (no unsafe
//! code of ours). Prints one line per measurement.
//!
//! `cargo bench -p benches --bench allocations`

#![allow(clippy::cast_precision_loss)] // allocation counts as averages

use benches::engine_loops::{
    aliasing_client, connected_client, connected_client_with, incoming_qos2, qos1_round_trip,
    qos2_incoming_flow,
};
use bytes::Bytes;
use mqtt_engine::Instant;
use mqtt_proto::ProtocolVersion;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const MESSAGES: u64 = 10_000;

fn blocks() -> u64 {
    dhat::HeapStats::get().total_blocks
}

/// Heap the engine holds for `MESSAGES` unacknowledged QoS 1 messages of 64 B (persistent
/// session, in-flight window of 1,000: the rest wait in the queue), beyond their payloads.
fn unacked_heap(version: ProtocolVersion, now: Instant) -> f64 {
    let options = mqtt_engine::Options::new("bench")
        .protocol(version)
        .keep_alive_secs(0)
        .clean_session(false)
        .session_expiry_secs(3_600)
        .max_inflight(1_000)
        .max_queued(MESSAGES as usize);
    let mut client = connected_client_with(options);
    let before = dhat::HeapStats::get().curr_bytes;
    for _ in 0..MESSAGES {
        let publish = mqtt_proto::Publish::new(
            mqtt_proto::TopicName::new(mqtt_proto::ByteStr::from_static("a/b/c/d")).expect("topic"),
            Bytes::from(vec![0xA5u8; 64]),
        )
        .with_qos(mqtt_proto::QoS::AtLeastOnce);
        client
            .publish(publish, now)
            .expect("room for every message");
        benches::engine_loops::drain(&mut client, now);
    }
    let held = dhat::HeapStats::get().curr_bytes - before;
    (held as f64 - 64.0 * MESSAGES as f64) / MESSAGES as f64
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let per = unacked_heap(version, Instant::from_millis(1));
        println!(
            "heap for {MESSAGES} unacknowledged QoS 1 messages of 64 B, engine {version:?}: {:.2} MiB beyond the payloads ({per:.0} B per message)",
            per * MESSAGES as f64 / f64::from(1 << 20)
        );
    }
    let payload = Bytes::from(vec![0xA5u8; 64]);
    let now = Instant::from_millis(1);
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut client = connected_client(version);
        for _ in 0..1_000 {
            qos1_round_trip(&mut client, &payload, now); // warm up buffers
        }
        let before = blocks();
        for _ in 0..MESSAGES {
            qos1_round_trip(&mut client, &payload, now);
        }
        let per = (blocks() - before) as f64 / MESSAGES as f64;
        println!("allocations per message, engine {version:?} QoS 1 publish + PUBACK: {per:.2}");

        if version == ProtocolVersion::V5 {
            let mut client = aliasing_client();
            for _ in 0..1_000 {
                qos1_round_trip(&mut client, &payload, now);
            }
            let before = blocks();
            for _ in 0..MESSAGES {
                qos1_round_trip(&mut client, &payload, now);
            }
            let per = (blocks() - before) as f64 / MESSAGES as f64;
            println!(
                "allocations per message, engine V5 QoS 1 publish + PUBACK with a topic alias: {per:.2}"
            );
        }

        let mut client = connected_client(version);
        let frames: Vec<(Vec<u8>, Vec<u8>)> = (1..=1024)
            .map(|id| incoming_qos2(version, id, &payload))
            .collect();
        for (publish, pubrel) in &frames {
            qos2_incoming_flow(&mut client, publish, pubrel, now);
        }
        let before = blocks();
        for i in 0..MESSAGES as usize {
            let (publish, pubrel) = &frames[i % frames.len()];
            qos2_incoming_flow(&mut client, publish, pubrel, now);
        }
        let per = (blocks() - before) as f64 / MESSAGES as f64;
        println!("allocations per message, engine {version:?} incoming QoS 2 flow: {per:.2}");
    }
}
