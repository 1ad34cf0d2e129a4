//! Allocations per message in the engine's hot paths, counted by dhat's allocator (no unsafe
//! code of ours). Prints one line per measurement.
//!
//! `cargo bench -p benches --bench allocations`

#![allow(clippy::cast_precision_loss)] // allocation counts as averages

use benches::engine_loops::{connected_client, incoming_qos2, qos1_round_trip, qos2_incoming_flow};
use bytes::Bytes;
use mqtt_engine::Instant;
use mqtt_proto::ProtocolVersion;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const MESSAGES: u64 = 10_000;

fn blocks() -> u64 {
    dhat::HeapStats::get().total_blocks
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
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
