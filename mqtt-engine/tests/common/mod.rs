//! A scripted broker and a simulated clock around one engine `Client`: the test plays the
//! server packet by packet and inspects what the client sent and reported.

#![allow(dead_code, clippy::needless_pass_by_value)]

use bytes::BytesMut;
use mqtt_engine::{Client, Event, Instant, Options, Output};
use mqtt_proto::{
    decode, ConnAck, ConnAckProperties, Packet, ProtocolVersion, PubResponse, Publish, QoS,
    ReasonCode, SubAck,
};

pub struct Harness {
    pub client: Client,
    pub now: Instant,
    pub version: ProtocolVersion,
    /// Bytes the client wrote, not yet decoded.
    wire: BytesMut,
    /// Packets the client sent, decoded, oldest first.
    pub sent: Vec<Packet>,
    pub events: Vec<Event>,
    pub deadline: Option<Instant>,
    /// Drain the bytes with `poll_transmit` (as the drivers do) instead of `Transmit`s.
    pub gather: bool,
}

impl Harness {
    pub fn new(options: Options) -> Self {
        Self::with_drain(options, false)
    }

    /// A harness that drains the client's bytes with `poll_transmit` when `gather` is set.
    pub fn with_drain(options: Options, gather: bool) -> Self {
        let version = options.version();
        let now = Instant::from_millis(1_000);
        let client = Client::new(options, now).expect("valid options");
        let mut h = Self {
            client,
            now,
            version,
            wire: BytesMut::new(),
            sent: Vec::new(),
            events: Vec::new(),
            deadline: None,
            gather,
        };
        h.pump();
        h
    }

    pub fn v5(client_id: &str) -> Self {
        Self::new(Options::new(client_id).protocol(ProtocolVersion::V5))
    }

    pub fn v311(client_id: &str) -> Self {
        Self::new(Options::new(client_id).protocol(ProtocolVersion::V311))
    }

    /// Drains the client's output.
    pub fn pump(&mut self) {
        if self.gather {
            let mut bytes = Vec::new();
            let n = self.client.poll_transmit(&mut bytes);
            assert_eq!(n, bytes.len());
            self.wire.extend_from_slice(&bytes);
        }
        while let Some(out) = self.client.poll_output(self.now) {
            match out {
                Output::Transmit(_) if self.gather => {
                    panic!("poll_output returned bytes that poll_transmit had taken")
                }
                Output::Transmit(bytes) => self.wire.extend_from_slice(&bytes),
                Output::Event(e) => self.events.push(e),
                Output::Timeout(at) => self.deadline = Some(at),
            }
        }
        self.deadline = self.client.poll_timeout();
        while let Some(p) =
            decode(&mut self.wire, self.version, usize::MAX).expect("client sent a valid packet")
        {
            self.sent.push(p);
        }
    }

    /// The server sends `packet`.
    pub fn send(&mut self, packet: Packet) {
        let mut buf = BytesMut::new();
        packet
            .encode(self.version, &mut buf)
            .expect("test packet encodes");
        let _ = self.client.handle_input(&buf, self.now);
        self.pump();
    }

    /// The server sends raw bytes; returns the engine's verdict.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), mqtt_engine::ProtocolError> {
        let r = self.client.handle_input(bytes, self.now);
        self.pump();
        r
    }

    /// Opens a connection: CONNECT out, CONNACK in.
    pub fn connect(&mut self, session_present: bool) {
        self.connect_with(session_present, ConnAckProperties::default());
    }

    pub fn connect_with(&mut self, session_present: bool, properties: ConnAckProperties) {
        self.client.connect(self.now);
        self.pump();
        let connect = self.take_sent();
        assert!(
            matches!(connect.first(), Some(Packet::Connect(_))),
            "first packet is CONNECT: {connect:?}"
        );
        self.send(Packet::from(ConnAck {
            session_present,
            reason_code: ReasonCode::Success,
            properties,
        }));
    }

    /// Moves the clock forward, firing the deadline if it passed.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now = Instant::from_millis(self.now.as_millis() + ms);
        if self.deadline.is_some_and(|d| d <= self.now) {
            self.client.handle_timeout(self.now);
        }
        self.pump();
    }

    pub fn take_sent(&mut self) -> Vec<Packet> {
        std::mem::take(&mut self.sent)
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The client publishes; returns the packet id.
    pub fn publish(&mut self, topic: &str, payload: &'static [u8], qos: QoS) -> Option<u16> {
        let id = self
            .client
            .publish(
                Publish::new(topic.try_into().expect("topic"), payload).with_qos(qos),
                self.now,
            )
            .expect("publish accepted");
        self.pump();
        id
    }

    pub fn puback(&mut self, id: u16) {
        self.send(Packet::PubAck(PubResponse::new(id)));
    }

    pub fn suback(&mut self, id: u16, codes: Vec<ReasonCode>) {
        self.send(Packet::SubAck(SubAck {
            packet_id: id,
            properties: Default::default(),
            reason_codes: codes,
        }));
    }

    /// The server delivers a message.
    pub fn deliver(
        &mut self,
        topic: &str,
        payload: &'static [u8],
        qos: QoS,
        id: Option<u16>,
        dup: bool,
    ) {
        let mut p = Publish::new(topic.try_into().expect("topic"), payload).with_qos(qos);
        p.packet_id = id;
        p.dup = dup;
        self.send(Packet::Publish(p));
    }

    pub fn messages(&self) -> Vec<(String, Vec<u8>)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some((m.topic().to_string(), m.payload().to_vec())),
                _ => None,
            })
            .collect()
    }
}

/// The PUBLISH packets among `packets`.
pub fn publishes(packets: &[Packet]) -> Vec<&Publish> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// The packet types of `packets`, for compact assertions.
pub fn types(packets: &[Packet]) -> Vec<mqtt_proto::PacketType> {
    packets.iter().map(Packet::packet_type).collect()
}
