//! Engine benchmarks, no I/O: per message, a QoS 1 publish and its PUBACK; an incoming QoS 2
//! message through PUBLISH/PUBREC/PUBREL/PUBCOMP. Allocations per message are counted by the
//! `allocations` bench.
//!
//! `cargo bench -p benches --bench engine`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use benches::engine_loops::{connected_client, incoming_qos2, qos1_round_trip, qos2_incoming_flow};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mqtt_engine::Instant;
use mqtt_proto::ProtocolVersion;

fn engine(c: &mut Criterion) {
    let payload = Bytes::from(vec![0xA5u8; 64]);
    let now = Instant::from_millis(1);
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut g = c.benchmark_group(format!("engine_{version:?}"));
        g.throughput(Throughput::Elements(1));
        let mut client = connected_client(version);
        g.bench_function("qos1_publish_puback", |b| {
            b.iter(|| black_box(qos1_round_trip(&mut client, &payload, now)))
        });
        let mut client = connected_client(version);
        let frames: Vec<(Vec<u8>, Vec<u8>)> = (1..=1024)
            .map(|id| incoming_qos2(version, id, &payload))
            .collect();
        let mut i = 0;
        g.bench_function("qos2_incoming_flow", |b| {
            b.iter(|| {
                let (publish, pubrel) = &frames[i % frames.len()];
                i += 1;
                black_box(qos2_incoming_flow(&mut client, publish, pubrel, now))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
