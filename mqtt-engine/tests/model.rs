//! Property test against a model. A simulated broker (a correct MQTT server in miniature) and
//! the engine exchange bytes; random sequences of publishes in both directions, connection cuts
//! at any byte, reconnects, and (in one property) broker session loss are applied. Afterwards
//! the connection is allowed to settle, and the model checks:
//! - no QoS 1 or QoS 2 message is lost, in either direction;
//! - no QoS 2 message is delivered twice while the broker keeps the session;
//! - packet identifiers are never reused while in flight;
//! - the client's queues stay within their limits.

#![allow(
    clippy::large_enum_variant,
    clippy::needless_pass_by_value,
    clippy::semicolon_if_nothing_returned
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::{Bytes, BytesMut};
use mqtt_engine::{Client, DisconnectReason, Event, Instant, Options, Output, Store};
use mqtt_proto::{decode, ConnAck, Packet, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    ClientPublish(QoS),
    BrokerPublish(QoS),
    /// Deliver all pending bytes both ways, repeatedly, until quiet.
    Exchange,
    /// Deliver only part of what the client sent (a slow network).
    Trickle(prop::sample::Index),
    /// The connection dies after delivering a prefix of the pending bytes in each direction.
    Cut(prop::sample::Index, prop::sample::Index),
    Reconnect,
    /// The broker forgets the session (restart without persistence).
    LoseSession,
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn op(allow_session_loss: bool) -> impl Strategy<Value = Op> {
    let loss_weight = u32::from(allow_session_loss);
    prop_oneof![
        4 => qos().prop_map(Op::ClientPublish),
        4 => qos().prop_map(Op::BrokerPublish),
        3 => Just(Op::Exchange),
        2 => any::<prop::sample::Index>().prop_map(Op::Trickle),
        2 => (any::<prop::sample::Index>(), any::<prop::sample::Index>()).prop_map(|(a, b)| Op::Cut(a, b)),
        2 => Just(Op::Reconnect),
        loss_weight => Just(Op::LoseSession),
    ]
}

/// Broker-to-client message in flight at the broker.
#[derive(Debug, Clone)]
enum OutStage {
    AwaitAck(Publish),
    AwaitComp,
}

struct Sim {
    version: ProtocolVersion,
    client: Client,
    now: u64,
    c2b: BytesMut,
    b2c: BytesMut,
    broker_read: BytesMut,
    broker_connected: bool,
    broker_has_session: bool,
    /// Client messages the broker took ownership of (payload → times).
    broker_received: HashMap<Bytes, usize>,
    /// QoS 2 identifiers awaiting PUBREL, with the payload they carried.
    broker_qos2: BTreeMap<u16, Bytes>,
    broker_out: BTreeMap<u16, OutStage>,
    broker_queue: Vec<Publish>,
    broker_next_id: u16,
    /// Messages the application received (payload → times).
    app_received: HashMap<Bytes, usize>,
    client_sent: Vec<(Bytes, QoS)>,
    broker_sent: Vec<(Bytes, QoS)>,
    counter: u32,
    session_lost: bool,
}

impl Sim {
    fn new(version: ProtocolVersion) -> Self {
        let options = Options::new("model")
            .protocol(version)
            .clean_session(false)
            .max_queued(1_000)
            .keep_alive_secs(0);
        Self {
            version,
            client: Client::new(options, Instant::from_millis(0)).expect("client"),
            now: 0,
            c2b: BytesMut::new(),
            b2c: BytesMut::new(),
            broker_read: BytesMut::new(),
            broker_connected: false,
            broker_has_session: false,
            broker_received: HashMap::new(),
            broker_qos2: BTreeMap::new(),
            broker_out: BTreeMap::new(),
            broker_queue: Vec::new(),
            broker_next_id: 1,
            app_received: HashMap::new(),
            client_sent: Vec::new(),
            broker_sent: Vec::new(),
            counter: 0,
            session_lost: false,
        }
    }

    fn now(&mut self) -> Instant {
        self.now += 1;
        Instant::from_millis(self.now)
    }

    fn payload(&mut self, from: &str) -> Bytes {
        self.counter += 1;
        Bytes::from(format!("{from}-{}", self.counter))
    }

    fn pump_client(&mut self) -> Result<(), TestCaseError> {
        let now = self.now();
        while let Some(out) = self.client.poll_output(now) {
            match out {
                Output::Transmit(b) => self.c2b.extend_from_slice(&b),
                Output::Event(Event::Message(m)) => {
                    *self.app_received.entry(m.payload().clone()).or_default() += 1;
                }
                Output::Event(Event::Disconnected(DisconnectReason::ProtocolError(e))) => {
                    return Err(TestCaseError::fail(format!(
                        "client saw a protocol error from a correct broker: {e}"
                    )));
                }
                Output::Event(_) | Output::Timeout(_) => {}
            }
        }
        // Identifiers unique among in-flight messages [MQTT-2.2.1-3].
        let ids: Vec<u16> = self
            .client
            .store()
            .outgoing()
            .map(mqtt_engine::Outgoing::packet_id)
            .collect();
        let distinct: BTreeSet<u16> = ids.iter().copied().collect();
        prop_assert_eq!(ids.len(), distinct.len(), "in-flight ids reused: {:?}", ids);
        prop_assert!(self.client.queued_len() <= 1_000);
        Ok(())
    }

    fn broker_send(&mut self, packet: &Packet) {
        if self.broker_connected {
            packet
                .encode(self.version, &mut self.b2c)
                .expect("broker packet encodes");
        }
    }

    fn broker_publish_now(&mut self, mut p: Publish, dup: bool) {
        p.dup = dup && p.qos != QoS::AtMostOnce;
        self.broker_send(&Packet::Publish(p));
    }

    fn broker_alloc_id(&mut self) -> u16 {
        loop {
            let id = self.broker_next_id;
            self.broker_next_id = self.broker_next_id.wrapping_add(1).max(1);
            if !self.broker_out.contains_key(&id) {
                return id;
            }
        }
    }

    /// The broker processes what reached it.
    fn broker_input(&mut self, bytes: &[u8]) -> Result<(), TestCaseError> {
        self.broker_read.extend_from_slice(bytes);
        while let Some(packet) = decode(&mut self.broker_read, self.version, usize::MAX)
            .map_err(|e| TestCaseError::fail(format!("client sent malformed bytes: {e}")))?
        {
            self.broker_packet(packet)?;
        }
        Ok(())
    }

    fn broker_packet(&mut self, packet: Packet) -> Result<(), TestCaseError> {
        match packet {
            Packet::Connect(c) => {
                if c.clean_start {
                    self.broker_has_session = false;
                }
                let session_present = self.broker_has_session;
                if !session_present {
                    self.broker_qos2.clear();
                    // Messages for the old session are gone with it; new ones stay queued.
                    let lost: Vec<_> = std::mem::take(&mut self.broker_out).into_values().collect();
                    if !lost.is_empty() {
                        self.session_lost = true;
                    }
                }
                self.broker_has_session = true;
                self.broker_connected = true;
                let ack = ConnAck {
                    session_present,
                    reason_code: ReasonCode::Success,
                    properties: Default::default(),
                };
                self.broker_send(&Packet::from(ack));
                // [MQTT-4.4.0-1] from the server side.
                let inflight: Vec<(u16, OutStage)> = self
                    .broker_out
                    .iter()
                    .map(|(k, v)| (*k, v.clone()))
                    .collect();
                for (id, stage) in inflight {
                    match stage {
                        OutStage::AwaitAck(p) => self.broker_publish_now(p, true),
                        OutStage::AwaitComp => {
                            self.broker_send(&Packet::PubRel(PubResponse::new(id)))
                        }
                    }
                }
                for p in std::mem::take(&mut self.broker_queue) {
                    self.broker_deliver(p);
                }
            }
            Packet::Publish(p) => match p.qos {
                QoS::AtMostOnce => *self.broker_received.entry(p.payload.clone()).or_default() += 1,
                QoS::AtLeastOnce => {
                    *self.broker_received.entry(p.payload.clone()).or_default() += 1;
                    self.broker_send(&Packet::PubAck(PubResponse::new(p.packet_id.unwrap_or(0))));
                }
                QoS::ExactlyOnce => {
                    let id = p.packet_id.unwrap_or(0);
                    if let Some(held) = self.broker_qos2.get(&id) {
                        prop_assert_eq!(held, &p.payload, "id {} reused while awaiting PUBREL", id);
                        prop_assert!(p.dup, "a retransmission must carry DUP");
                    } else {
                        self.broker_qos2.insert(id, p.payload.clone());
                        *self.broker_received.entry(p.payload.clone()).or_default() += 1;
                    }
                    self.broker_send(&Packet::PubRec(PubResponse::new(id)));
                }
            },
            Packet::PubRel(r) => {
                self.broker_qos2.remove(&r.packet_id);
                self.broker_send(&Packet::PubComp(PubResponse::new(r.packet_id)));
            }
            Packet::PubAck(r) => {
                prop_assert!(
                    matches!(self.broker_out.remove(&r.packet_id), Some(OutStage::AwaitAck(p)) if p.qos == QoS::AtLeastOnce)
                );
            }
            Packet::PubRec(r) => {
                let stage = self.broker_out.get(&r.packet_id).cloned();
                prop_assert!(stage.is_some(), "PUBREC for unknown id {}", r.packet_id);
                self.broker_out.insert(r.packet_id, OutStage::AwaitComp);
                self.broker_send(&Packet::PubRel(PubResponse::new(r.packet_id)));
            }
            Packet::PubComp(r) => {
                prop_assert!(matches!(
                    self.broker_out.remove(&r.packet_id),
                    Some(OutStage::AwaitComp)
                ));
            }
            Packet::PingReq => self.broker_send(&Packet::PingResp),
            other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
        }
        Ok(())
    }

    fn broker_deliver(&mut self, mut p: Publish) {
        if !self.broker_connected {
            self.broker_queue.push(p);
            return;
        }
        if p.qos != QoS::AtMostOnce {
            let id = self.broker_alloc_id();
            p.packet_id = Some(id);
            self.broker_out.insert(id, OutStage::AwaitAck(p.clone()));
        }
        self.broker_publish_now(p, false);
    }

    fn client_input(&mut self, bytes: &[u8]) -> Result<(), TestCaseError> {
        let now = self.now();
        let _ = self.client.handle_input(bytes, now);
        self.pump_client()
    }

    fn exchange(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..200 {
            if self.c2b.is_empty() && self.b2c.is_empty() {
                return Ok(());
            }
            let up = self.c2b.split();
            if self.broker_connected || !up.is_empty() {
                self.broker_input(&up)?;
            }
            let down = self.b2c.split();
            self.client_input(&down)?;
        }
        Err(TestCaseError::fail("exchange did not settle"))
    }

    fn cut(
        &mut self,
        up: prop::sample::Index,
        down: prop::sample::Index,
    ) -> Result<(), TestCaseError> {
        if !self.broker_connected && !self.client.is_connected() {
            return Ok(());
        }
        let up_len = up.index(self.c2b.len() + 1);
        let down_len = down.index(self.b2c.len() + 1);
        let up_bytes = self.c2b.split_to(up_len);
        let down_bytes = self.b2c.split_to(down_len);
        self.broker_input(&up_bytes)?;
        self.client_input(&down_bytes)?;
        self.c2b.clear();
        self.b2c.clear();
        self.broker_read.clear();
        self.broker_connected = false;
        let now = self.now();
        self.client.connection_lost(now);
        self.pump_client()?;
        self.c2b.clear();
        Ok(())
    }

    fn reconnect(&mut self) -> Result<(), TestCaseError> {
        if self.client.is_connected() || self.broker_connected {
            return Ok(());
        }
        self.c2b.clear();
        self.b2c.clear();
        self.broker_read.clear();
        let now = self.now();
        self.client.connect(now);
        self.pump_client()
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::ClientPublish(qos) => {
                let payload = self.payload("c");
                let now = self.now();
                self.client
                    .publish(
                        Publish::new("t".try_into().expect("topic"), payload.clone()).with_qos(qos),
                        now,
                    )
                    .expect("accepted");
                self.client_sent.push((payload, qos));
                self.pump_client()
            }
            Op::BrokerPublish(qos) => {
                let payload = self.payload("b");
                self.broker_sent.push((payload.clone(), qos));
                self.broker_deliver(
                    Publish::new("t".try_into().expect("topic"), payload).with_qos(qos),
                );
                Ok(())
            }
            Op::Exchange => self.exchange(),
            Op::Trickle(n) => {
                let n = n.index(self.c2b.len() + 1);
                let bytes = self.c2b.split_to(n);
                self.broker_input(&bytes)
            }
            Op::Cut(a, b) => self.cut(a, b),
            Op::Reconnect => self.reconnect(),
            Op::LoseSession => {
                if !self.broker_connected {
                    self.broker_has_session = false;
                }
                Ok(())
            }
        }
    }

    /// Lets everything complete on a stable connection.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..20 {
            self.reconnect()?;
            self.exchange()?;
            if self.client.is_idle()
                && self.broker_out.is_empty()
                && self.broker_queue.is_empty()
                && self.broker_qos2.is_empty()
            {
                return Ok(());
            }
        }
        Err(TestCaseError::fail(format!(
            "did not settle: idle={} broker_out={:?} queue={}",
            self.client.is_idle(),
            self.broker_out.keys().collect::<Vec<_>>(),
            self.broker_queue.len()
        )))
    }

    fn check(&self, exactly_once: bool) -> Result<(), TestCaseError> {
        for (payload, qos) in &self.client_sent {
            let n = self.broker_received.get(payload).copied().unwrap_or(0);
            match qos {
                QoS::AtMostOnce => prop_assert!(n <= 1, "QoS 0 {:?} received {} times", payload, n),
                QoS::AtLeastOnce => {
                    prop_assert!(n >= 1, "QoS 1 {:?} lost (client → broker)", payload)
                }
                QoS::ExactlyOnce if exactly_once => {
                    prop_assert_eq!(n, 1, "QoS 2 {:?} (client → broker)", payload)
                }
                QoS::ExactlyOnce => {
                    prop_assert!(n >= 1, "QoS 2 {:?} lost (client → broker)", payload)
                }
            }
        }
        for (payload, qos) in &self.broker_sent {
            let n = self.app_received.get(payload).copied().unwrap_or(0);
            match qos {
                QoS::AtMostOnce => prop_assert!(n <= 1),
                // A broker that lost its session lost its undelivered messages too: that is
                // the broker's loss, not the client's.
                QoS::AtLeastOnce if self.session_lost => {}
                QoS::AtLeastOnce => prop_assert!(n >= 1, "QoS 1 {:?} lost (broker → app)", payload),
                QoS::ExactlyOnce if self.session_lost => prop_assert!(n <= 1 || !exactly_once),
                QoS::ExactlyOnce => prop_assert_eq!(n, 1, "QoS 2 {:?} (broker → app)", payload),
            }
        }
        Ok(())
    }
}

fn run(version: ProtocolVersion, ops: Vec<Op>, exactly_once: bool) -> Result<(), TestCaseError> {
    let mut sim = Sim::new(version);
    sim.reconnect()?;
    for op in ops {
        sim.apply(op)?;
    }
    sim.settle()?;
    sim.check(exactly_once)
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(ProtocolVersion::V311), Just(ProtocolVersion::V5)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_loss_no_duplicate_qos2_with_a_persistent_broker(
        version in version(),
        ops in prop::collection::vec(op(false), 0..80),
    ) {
        run(version, ops, true)?;
    }

    #[test]
    fn no_qos1_or_qos2_loss_when_the_broker_loses_the_session(
        version in version(),
        ops in prop::collection::vec(op(true), 0..80),
    ) {
        run(version, ops, false)?;
    }
}
