//! The session file: messages accepted while they could not be sent survive a restart, and a
//! damaged file (cut at any byte of its last record, or with garbage appended) recovers the
//! intact prefix or fails with a typed error, never a panic.

use std::path::PathBuf;

use bytes::BytesMut;
use mqtt_engine::{Client, Instant, Options, Output, Store};
use mqtt_proto::{decode, ConnAck, Packet, ProtocolVersion, Publish, QoS, ReasonCode};
use transport_core::SessionStore;

fn temp_file(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("mqtt-session-file-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn options() -> Options {
    Options::new("keeper")
        .clean_session(false)
        .protocol(ProtocolVersion::V311)
        .max_inflight(2)
}

/// Everything the client wrote, decoded.
fn sent(client: &mut Client<SessionStore>, now: Instant) -> Vec<Packet> {
    let mut wire = BytesMut::new();
    while let Some(out) = client.poll_output(now) {
        if let Output::Transmit(bytes) = out {
            wire.extend_from_slice(&bytes);
        }
    }
    let mut packets = Vec::new();
    while let Some(p) = decode(&mut wire, ProtocolVersion::V311, usize::MAX).expect("valid") {
        packets.push(p);
    }
    packets
}

fn connack(client: &mut Client<SessionStore>, session_present: bool, now: Instant) {
    let mut buf = BytesMut::new();
    Packet::from(ConnAck {
        session_present,
        reason_code: ReasonCode::Success,
        properties: Default::default(),
    })
    .encode(ProtocolVersion::V311, &mut buf)
    .expect("encode");
    client.handle_input(&buf, now).expect("CONNACK");
}

fn payloads(packets: &[Packet]) -> Vec<(String, bool)> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some((String::from_utf8_lossy(&p.payload).into_owned(), p.dup)),
            _ => None,
        })
        .collect()
}

#[test]
fn queued_messages_survive_the_process_and_are_sent_in_order() {
    let path = temp_file("queued");
    let now = Instant::from_millis(0);
    {
        let store = SessionStore::open(&path).expect("open");
        let mut client = Client::with_store(options(), store, now).expect("client");
        client.connect(now);
        connack(&mut client, false, now);
        sent(&mut client, now);
        // Two fit in flight; three wait in the queue.
        for n in 0..5 {
            client
                .publish(
                    Publish::new("t".try_into().expect("topic"), format!("m{n}"))
                        .with_qos(QoS::AtLeastOnce),
                    now,
                )
                .expect("accepted");
        }
        assert_eq!((client.inflight_len(), client.queued_len()), (2, 3));
        let on_wire = payloads(&sent(&mut client, now));
        assert_eq!(on_wire.len(), 2);
        // What a client does before `publish` returns: the records reach the file.
        client.store_mut().flush().expect("flush");
        // The process dies here: no graceful anything.
    }
    let store = SessionStore::open(&path).expect("reopen");
    let mut client = Client::with_store(options(), store, now).expect("client");
    assert_eq!((client.inflight_len(), client.queued_len()), (2, 3));
    client.connect(now);
    connack(&mut client, true, now);
    let resent = payloads(&sent(&mut client, now));
    assert_eq!(
        resent,
        [("m0".to_string(), true), ("m1".to_string(), true),],
        "in flight: resent with DUP; the queue waits for the send quota"
    );
    // PUBACK m0 → m2 leaves the queue for the wire, first transmission, DUP 0.
    let mut ack = BytesMut::new();
    Packet::PubAck(mqtt_proto::PubResponse::new(1))
        .encode(ProtocolVersion::V311, &mut ack)
        .expect("encode");
    client.handle_input(&ack, now).expect("PUBACK");
    assert_eq!(
        payloads(&sent(&mut client, now)),
        [("m2".to_string(), false)]
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_message_in_both_queue_and_flight_is_sent_once() {
    // The process stopped between "in flight" and "out of the queue": both records exist.
    let path = temp_file("both");
    let mut p = Publish::new("t".try_into().expect("topic"), "once").with_qos(QoS::AtLeastOnce);
    p.packet_id = Some(7);
    {
        let mut store = SessionStore::open(&path).expect("open");
        store.push_queued(&p);
        store.push_outgoing(mqtt_engine::Outgoing::Publish(p.clone().into()));
        store.flush().expect("flush");
    }
    let store = SessionStore::open(&path).expect("reopen");
    let now = Instant::from_millis(0);
    let mut client = Client::with_store(options(), store, now).expect("client");
    assert_eq!((client.inflight_len(), client.queued_len()), (1, 0));
    client.connect(now);
    connack(&mut client, true, now);
    assert_eq!(
        payloads(&sent(&mut client, now)),
        [("once".to_string(), true)]
    );
    let _ = std::fs::remove_file(&path);
}

/// A file with a few records of every kind, and the offset where its last record starts.
fn sample_file(path: &PathBuf) -> (Vec<u8>, usize) {
    let mut store = SessionStore::open(path).expect("open");
    store.set_next_packet_id(40);
    for id in 1..=3u16 {
        let mut p = Publish::new("a/b".try_into().expect("topic"), format!("in flight {id}"))
            .with_qos(QoS::ExactlyOnce);
        p.packet_id = Some(id);
        store.push_outgoing(mqtt_engine::Outgoing::Publish(p.into()));
    }
    store.insert_incoming(9);
    let mut q = Publish::new("a/q".try_into().expect("topic"), "queued").with_qos(QoS::AtLeastOnce);
    q.packet_id = Some(4);
    store.push_queued(&q);
    store.sync().expect("sync");
    let before_last = std::fs::metadata(path).expect("meta").len() as usize;
    let mut last =
        Publish::new("a/q".try_into().expect("topic"), "queued last").with_qos(QoS::AtLeastOnce);
    last.packet_id = Some(5);
    store.push_queued(&last);
    store.sync().expect("sync");
    drop(store);
    (std::fs::read(path).expect("read"), before_last)
}

#[test]
fn a_file_cut_at_every_byte_of_its_last_record_recovers_the_rest() {
    let path = temp_file("cut");
    let (bytes, last_start) = sample_file(&path);
    for cut in last_start..bytes.len() {
        std::fs::write(&path, &bytes[..cut]).expect("write");
        let mut store = SessionStore::open(&path).expect("a torn tail is recovered");
        assert_eq!(store.outgoing_len(), 3, "cut at {cut}");
        assert_eq!(store.incoming_len(), 1);
        assert_eq!(store.next_packet_id(), 40);
        let queued = store.take_queued();
        assert_eq!(
            queued.len(),
            1,
            "only the intact queued record, cut at {cut}"
        );
        assert_eq!(
            std::fs::metadata(&path).expect("meta").len() as usize,
            last_start,
            "the torn tail is truncated away"
        );
    }
    std::fs::write(&path, &bytes).expect("write");
    let mut whole = SessionStore::open(&path).expect("open");
    assert_eq!(whole.take_queued().len(), 2);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn random_bytes_appended_or_instead_never_panic() {
    let path = temp_file("garbage");
    let (bytes, _) = sample_file(&path);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for round in 0..300 {
        let mut damaged = if round % 2 == 0 {
            bytes.clone()
        } else {
            Vec::new()
        };
        let extra = (round * 7) % 200 + 1;
        for _ in 0..extra {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            damaged.push((x >> 24) as u8);
        }
        std::fs::write(&path, &damaged).expect("write");
        match SessionStore::open(&path) {
            Ok(mut store) => {
                if round % 2 == 0 {
                    // The intact records before the garbage are all there.
                    assert_eq!(store.outgoing_len(), 3);
                    assert_eq!(store.take_queued().len(), 2);
                }
            }
            Err(e) => panic!("a damaged file is recovered, not an error here: {e}"),
        }
    }
    let _ = std::fs::remove_file(&path);
}
