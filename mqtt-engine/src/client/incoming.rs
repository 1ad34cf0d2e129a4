//! Bytes and packets from the server.

use bytes::Buf;
use mqtt_proto::{
    decode, decode_ref, DecodeError, Packet, PacketType, ProtocolVersion, Publish, QoS, ReasonCode,
    SubAck,
};

use super::{Client, PendingAck, State};
use crate::error::ProtocolError;
use crate::event::{AckToken, Delivery, Event};
use crate::store::{Outgoing, Store};
use crate::time::Instant;

impl<S: Store> Client<S> {
    /// Bytes read from the transport. On a protocol violation by the server the engine queues
    /// DISCONNECT (MQTT 5), emits [`Event::Disconnected`], and returns the error too; the
    /// driver writes what `poll_output` returns and closes the transport.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) -> Result<(), ProtocolError> {
        if !matches!(
            self.state,
            State::Connecting { .. } | State::Connected { .. }
        ) {
            return Ok(());
        }
        self.timeout_pending = true;
        self.last_received = now;
        let connection = self.connection;
        // The rest of a message too large to take is dropped as it arrives.
        let skipped = self.skip.min(bytes.len());
        self.skip -= skipped;
        let mut fresh = &bytes[skipped..];
        if self.read_buf.is_empty() {
            fresh = self.acks_in_place(fresh, now)?;
            if connection != self.connection {
                return Ok(());
            }
        }
        self.read_buf.extend_from_slice(fresh);
        let max = self.options.max_incoming_packet as usize;
        if self.is_v3_refusal_of_v5() {
            // A 3.1.1-only server answers an MQTT 5 CONNECT with its own CONNACK, return code 1
            // "unacceptable protocol version" (3.1.1 section 3.2.2.3): a refusal, not garbage.
            self.read_buf.clear();
            let ack = mqtt_proto::ConnAck {
                session_present: false,
                reason_code: ReasonCode::UnsupportedProtocolVersion,
                properties: Default::default(),
            };
            return self.on_connack(ack, now);
        }
        while connection == self.connection && self.read_buf_usable() {
            let result = match self.read_buf.first().map(|b| b >> 4) {
                // Acknowledgements and PINGRESP are read as borrowed views: nothing is moved
                // or converted for the most frequent packets.
                Some(4..=7 | 13) => {
                    if let Some(ack) = short_ack(&self.read_buf, max) {
                        self.read_buf.advance(4);
                        self.handle_ack(ack, now).map(|()| self.note_progress())
                    } else {
                        match read_ack(&self.read_buf, self.options.version, max) {
                            Ok(Some((ack, used))) => {
                                self.read_buf.advance(used);
                                self.handle_ack(ack, now).map(|()| self.note_progress())
                            }
                            Ok(None) => break,
                            Err(e) => Err(ProtocolError::Decode(e)),
                        }
                    }
                }
                _ => match decode(&mut self.read_buf, self.options.version, max) {
                    Ok(Some(packet)) => {
                        let answer = !matches!(packet, Packet::ConnAck(_) | Packet::Disconnect(_));
                        let result = self.handle_packet(packet, now);
                        if answer && result.is_ok() {
                            self.note_progress();
                        }
                        result
                    }
                    Ok(None) => break,
                    Err(DecodeError::PacketTooLarge { .. }) if self.skips_oversize() => {
                        match self.skip_publish(now) {
                            Ok(None) => break,
                            Ok(Some(())) => {
                                self.note_progress();
                                Ok(())
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(ProtocolError::Decode(e)),
                },
            };
            if let Err(e) = result {
                self.protocol_violation(e.clone(), now);
                return Err(e);
            }
        }
        Ok(())
    }

    /// The acknowledgements (and PINGRESPs) at the front of a read that starts on a packet
    /// boundary, handled straight from the caller's bytes: a publisher's reads are mostly
    /// whole PUBACKs, which then never pass through the read buffer. Returns what is left (from
    /// the first other or incomplete packet on), nothing once the connection has ended.
    fn acks_in_place<'b>(
        &mut self,
        mut input: &'b [u8],
        now: Instant,
    ) -> Result<&'b [u8], ProtocolError> {
        let connection = self.connection;
        let max = self.options.max_incoming_packet as usize;
        while matches!(self.state, State::Connected { .. })
            && matches!(input.first().map(|b| b >> 4), Some(4..=7 | 13))
        {
            let result = if let Some(ack) = short_ack(input, max) {
                input = &input[4..];
                self.handle_ack(ack, now).map(|()| self.note_progress())
            } else {
                match read_ack(input, self.options.version, max) {
                    Ok(Some((ack, used))) => {
                        input = &input[used..];
                        self.handle_ack(ack, now).map(|()| self.note_progress())
                    }
                    Ok(None) => break,
                    Err(e) => Err(ProtocolError::Decode(e)),
                }
            };
            if let Err(e) = result {
                self.protocol_violation(e.clone(), now);
                return Err(e);
            }
            if connection != self.connection {
                return Ok(&[]);
            }
        }
        Ok(input)
    }

    fn handle_ack(&mut self, ack: Ack, now: Instant) -> Result<(), ProtocolError> {
        if let State::Connecting { .. } = self.state {
            // [MQTT-3.2.0-1]: nothing but CONNACK (or AUTH) comes first.
            return Err(ProtocolError::UnexpectedPacket(ack.packet_type()));
        }
        match ack {
            Ack::PubAck(id, code) => self.on_puback(id, code, now),
            Ack::PubRec(id, code) => self.on_pubrec(id, code, now),
            Ack::PubRel(id) => {
                self.on_pubrel(id, now);
                Ok(())
            }
            Ack::PubComp(id, code) => self.on_pubcomp(id, code, now),
            Ack::Other(PacketType::PingResp) => {
                self.ping_sent = None;
                Ok(())
            }
            Ack::Other(t) => Err(ProtocolError::UnexpectedPacket(t)),
        }
    }

    /// A packet after CONNACK was handled: the connection works (see the backoff rule in
    /// `end_connection`).
    fn note_progress(&mut self) {
        if matches!(self.state, State::Connected { .. }) {
            self.progress = true;
        }
    }

    fn is_v3_refusal_of_v5(&self) -> bool {
        matches!(self.state, State::Connecting { .. })
            && self.options.version == ProtocolVersion::V5
            && self.read_buf.starts_with(&[0x20, 0x02, 0x00, 0x01])
    }

    fn read_buf_usable(&self) -> bool {
        !self.read_buf.is_empty()
            && matches!(
                self.state,
                State::Connecting { .. } | State::Connected { .. }
            )
    }

    fn handle_packet(&mut self, packet: Packet, now: Instant) -> Result<(), ProtocolError> {
        if let State::Connecting { .. } = self.state {
            return match packet {
                Packet::ConnAck(ack) => self.on_connack(*ack, now),
                Packet::Auth(_) => Err(ProtocolError::AuthNotSupported),
                // [MQTT-3.2.0-1]: nothing but CONNACK (or AUTH) comes first.
                other => Err(ProtocolError::UnexpectedPacket(other.packet_type())),
            };
        }
        match packet {
            Packet::Publish(p) => self.on_publish(p, now),
            Packet::PubAck(r) => self.on_puback(r.packet_id, r.reason_code, now),
            Packet::PubRec(r) => self.on_pubrec(r.packet_id, r.reason_code, now),
            Packet::PubRel(r) => {
                self.on_pubrel(r.packet_id, now);
                Ok(())
            }
            Packet::PubComp(r) => self.on_pubcomp(r.packet_id, r.reason_code, now),
            Packet::SubAck(ack) => self.on_suback(ack),
            Packet::UnsubAck(ack) => self.on_unsuback(ack),
            Packet::PingResp => {
                self.ping_sent = None;
                Ok(())
            }
            Packet::Disconnect(d) => {
                self.on_server_disconnect(*d, now);
                Ok(())
            }
            Packet::Auth(_) => Err(ProtocolError::AuthNotSupported),
            // [MQTT-3.2.0-2]: one CONNACK per connection; the rest only go client → server.
            other => Err(ProtocolError::UnexpectedPacket(other.packet_type())),
        }
    }

    fn on_publish(&mut self, mut publish: Publish, now: Instant) -> Result<(), ProtocolError> {
        if let Some(alias) = publish.properties.topic_alias {
            self.resolve_alias(&mut publish, alias)?;
        }
        let packet_id = publish.packet_id.unwrap_or(0);
        match publish.qos {
            QoS::AtMostOnce => self.deliver(publish, None),
            QoS::AtLeastOnce => {
                self.take_receive_slot()?;
                if self.options.manual_acks {
                    self.deliver(publish, Some(QoS::AtLeastOnce));
                } else {
                    self.deliver(publish, None);
                    // [MQTT-4.3.2-4], in arrival order [MQTT-4.6.0-2]
                    self.incoming_unacked = self.incoming_unacked.saturating_sub(1);
                    self.send_response(PacketType::PubAck, packet_id, ReasonCode::Success, now);
                }
            }
            QoS::ExactlyOnce => {
                match self.qos2_arrival(packet_id, publish.dup, now) {
                    // Delivered before: not again.
                    Qos2Arrival::Repeat => return Ok(()),
                    // The identifier's receive slot is still taken.
                    Qos2Arrival::Reused => {}
                    Qos2Arrival::New => self.take_receive_slot()?,
                }
                if self.options.manual_acks {
                    self.deliver(publish, Some(QoS::ExactlyOnce));
                } else {
                    self.deliver(publish, None);
                    // [MQTT-4.3.3-8]
                    self.store.insert_incoming(packet_id);
                    self.send_response(PacketType::PubRec, packet_id, ReasonCode::Success, now);
                }
            }
        }
        Ok(())
    }

    /// What a QoS 2 PUBLISH is, by its identifier and DUP flag. An identifier still held — PUBREC
    /// sent and no PUBREL yet, or delivered and not yet acknowledged by the application —
    /// with DUP set is a re-delivery: acknowledged again if it was, not delivered again
    /// [MQTT-4.3.3-10]. Without DUP the sender says it is a first attempt [MQTT-3.3.1-1]: a
    /// sender that lost its state (a broker restarted from an older save, a session moved in
    /// a cluster) is reusing an identifier we still hold for a new message, which is taken —
    /// dropping it would lose it, the sender having been told it arrived.
    pub(super) fn qos2_arrival(&mut self, packet_id: u16, dup: bool, now: Instant) -> Qos2Arrival {
        let acknowledged = self.store.contains_incoming(packet_id);
        if !acknowledged && !self.pending_acks.iter().any(|p| p.packet_id == packet_id) {
            return Qos2Arrival::New;
        }
        if !dup {
            return Qos2Arrival::Reused;
        }
        if acknowledged {
            self.send_response(PacketType::PubRec, packet_id, ReasonCode::Success, now);
        }
        Qos2Arrival::Repeat
    }

    /// [MQTT-3.3.2-10]: aliases 1..=our maximum; an empty topic must name a known alias.
    fn resolve_alias(&mut self, publish: &mut Publish, alias: u16) -> Result<(), ProtocolError> {
        if self.options.version != ProtocolVersion::V5
            || alias == 0
            || alias > self.options.topic_alias_maximum
        {
            return Err(ProtocolError::TopicAliasInvalid(alias));
        }
        if publish.topic.is_empty() {
            let topic = self
                .aliases_in
                .get(&alias)
                .ok_or(ProtocolError::TopicAliasInvalid(alias))?;
            publish.topic = topic.clone();
        } else {
            self.aliases_in.insert(alias, publish.topic.clone());
        }
        Ok(())
    }

    /// Counts an incoming QoS 1/2 publish against our Receive Maximum (MQTT 5).
    pub(super) fn take_receive_slot(&mut self) -> Result<(), ProtocolError> {
        if self.options.version == ProtocolVersion::V5
            && self.incoming_unacked >= usize::from(self.options.receive_maximum)
        {
            // [MQTT-3.3.4-9]
            return Err(ProtocolError::ReceiveMaximumExceeded);
        }
        self.incoming_unacked += 1;
        Ok(())
    }

    fn deliver(&mut self, publish: Publish, manual_ack: Option<QoS>) {
        let ack = manual_ack.map(|qos| {
            let packet_id = publish.packet_id.unwrap_or(0);
            self.pending_acks.push_back(PendingAck {
                packet_id,
                qos,
                acked: false,
            });
            AckToken {
                packet_id,
                qos,
                connection: self.connection,
            }
        });
        self.events
            .push_back(Event::Message(Delivery { publish, ack }));
    }

    fn on_puback(
        &mut self,
        packet_id: u16,
        reason_code: ReasonCode,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        let acked = self.store.remove_outgoing_if(
            packet_id,
            |e| matches!(e, Outgoing::Publish(p) if p.qos == QoS::AtLeastOnce),
        );
        if acked.is_none() {
            return Err(unknown(PacketType::PubAck, packet_id));
        }
        self.complete(packet_id, reason_code, now);
        Ok(())
    }

    fn on_pubrec(
        &mut self,
        packet_id: u16,
        reason_code: ReasonCode,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        match self.store.get_outgoing(packet_id) {
            Some(Outgoing::Publish(p)) if p.qos == QoS::ExactlyOnce => {}
            // PUBREC again for a released message: release again.
            Some(Outgoing::Release(_)) => {
                self.send_response(PacketType::PubRel, packet_id, ReasonCode::Success, now);
                return Ok(());
            }
            _ => return Err(unknown(PacketType::PubRec, packet_id)),
        }
        self.store.remove_outgoing(packet_id);
        if reason_code.is_success() {
            // [MQTT-4.3.3-4]; PUBRELs follow PUBREC order [MQTT-4.6.0-4].
            self.store.push_outgoing(Outgoing::Release(packet_id));
            self.send_response(PacketType::PubRel, packet_id, ReasonCode::Success, now);
        } else {
            // [MQTT-4.4.0-2]: refused, acknowledged, never retransmitted.
            self.complete(packet_id, reason_code, now);
        }
        Ok(())
    }

    /// [MQTT-4.3.3-11]; an unknown identifier gets PUBCOMP "Packet Identifier not found".
    fn on_pubrel(&mut self, packet_id: u16, now: Instant) {
        let code = if self.store.remove_incoming(packet_id) {
            self.incoming_unacked = self.incoming_unacked.saturating_sub(1);
            ReasonCode::Success
        } else {
            ReasonCode::PacketIdentifierNotFound
        };
        self.send_response(PacketType::PubComp, packet_id, code, now);
    }

    fn on_pubcomp(
        &mut self,
        packet_id: u16,
        reason_code: ReasonCode,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        if !matches!(
            self.store.get_outgoing(packet_id),
            Some(Outgoing::Release(_))
        ) {
            return Err(unknown(PacketType::PubComp, packet_id));
        }
        self.store.remove_outgoing(packet_id);
        self.complete(packet_id, reason_code, now);
        Ok(())
    }

    /// A QoS 1/2 publish is done: its identifier and send-quota slot are free again.
    fn complete(&mut self, packet_id: u16, reason_code: ReasonCode, now: Instant) {
        self.free_id(packet_id);
        self.events.push_back(Event::PublishComplete {
            packet_id,
            reason_code,
        });
        self.flush_queue(now);
    }

    fn on_suback(&mut self, ack: SubAck) -> Result<(), ProtocolError> {
        let Some(request) = self.pending_subscribes.get(&ack.packet_id) else {
            return Err(unknown(PacketType::SubAck, ack.packet_id));
        };
        if request.subscriptions.len() != ack.reason_codes.len() {
            return Err(ProtocolError::AckCountMismatch {
                packet: PacketType::SubAck,
                expected: request.subscriptions.len(),
                got: ack.reason_codes.len(),
            });
        }
        let Some(request) = self.pending_subscribes.remove(&ack.packet_id) else {
            return Ok(());
        };
        let mut results = alloc::vec::Vec::with_capacity(ack.reason_codes.len());
        for (sub, code) in request.subscriptions.into_iter().zip(ack.reason_codes) {
            if let Some(qos) = code.granted_qos() {
                self.subscriptions.insert(sub.filter, sub.options);
                results.push(Ok(qos));
            } else {
                self.subscriptions.remove(&sub.filter);
                results.push(Err(code));
            }
        }
        self.free_id(ack.packet_id);
        self.events.push_back(Event::Subscribed {
            packet_id: ack.packet_id,
            results,
        });
        Ok(())
    }

    fn on_unsuback(&mut self, ack: SubAck) -> Result<(), ProtocolError> {
        let Some(request) = self.pending_unsubscribes.get(&ack.packet_id) else {
            return Err(unknown(PacketType::UnsubAck, ack.packet_id));
        };
        let expected = request.filters.len();
        let results = match self.options.version {
            ProtocolVersion::V311 => alloc::vec![ReasonCode::Success; expected],
            ProtocolVersion::V5 if ack.reason_codes.len() == expected => ack.reason_codes,
            ProtocolVersion::V5 => {
                return Err(ProtocolError::AckCountMismatch {
                    packet: PacketType::UnsubAck,
                    expected,
                    got: ack.reason_codes.len(),
                })
            }
        };
        if let Some(request) = self.pending_unsubscribes.remove(&ack.packet_id) {
            for filter in &request.filters {
                self.subscriptions.remove(filter.as_str());
            }
        }
        self.free_id(ack.packet_id);
        self.events.push_back(Event::Unsubscribed {
            packet_id: ack.packet_id,
            results,
        });
        Ok(())
    }
}

fn unknown(packet: PacketType, packet_id: u16) -> ProtocolError {
    ProtocolError::UnknownPacketId { packet, packet_id }
}

/// The fields of an acknowledgement (or PINGRESP) the engine acts on.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::enum_variant_names)] // named after the packets
enum Ack {
    PubAck(u16, ReasonCode),
    PubRec(u16, ReasonCode),
    PubRel(u16),
    PubComp(u16, ReasonCode),
    Other(PacketType),
}

impl Ack {
    fn packet_type(self) -> PacketType {
        match self {
            Self::PubAck(..) => PacketType::PubAck,
            Self::PubRec(..) => PacketType::PubRec,
            Self::PubRel(_) => PacketType::PubRel,
            Self::PubComp(..) => PacketType::PubComp,
            Self::Other(t) => t,
        }
    }
}

/// A QoS 2 PUBLISH seen by its identifier (see `Client::qos2_arrival`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Qos2Arrival {
    /// An identifier not held: a new message.
    New,
    /// A re-delivery (DUP) of a message already delivered.
    Repeat,
    /// A first attempt (no DUP) on an identifier still held: a new message.
    Reused,
}

/// The acknowledgement at the front of `input` when it has the short form (two-byte body:
/// packet identifier, Success), read in place; its length is 4. Anything else, a zero
/// identifier included, is [`read_ack`]'s. The callers branch on this one on its own: merged
/// with the decoder's result, the acknowledgement went through a stack slot written field by
/// field and read back with one wider load, a store-forwarding stall (perf: a third of
/// `handle_input`'s samples in the QoS 1 round trip).
#[inline]
fn short_ack(input: &[u8], max: usize) -> Option<Ack> {
    let [first, 2, hi, lo, ..] = *input else {
        return None;
    };
    let id = u16::from_be_bytes([hi, lo]);
    if id == 0 || max < 4 {
        return None;
    }
    match first {
        0x40 => Some(Ack::PubAck(id, ReasonCode::Success)),
        0x50 => Some(Ack::PubRec(id, ReasonCode::Success)),
        0x62 => Some(Ack::PubRel(id)),
        0x70 => Some(Ack::PubComp(id, ReasonCode::Success)),
        _ => None,
    }
}

/// Decodes the acknowledgement or PINGRESP at the front of `input` through the decoder (reason
/// codes, properties, errors; the short form is [`short_ack`]'s), keeping only the fields the
/// engine uses; with the bytes it took.
#[inline(never)]
fn read_ack(
    input: &[u8],
    version: ProtocolVersion,
    max: usize,
) -> Result<Option<(Ack, usize)>, mqtt_proto::DecodeError> {
    let Some((packet, used)) = decode_ref(input, version, max)? else {
        return Ok(None);
    };
    let ack = match packet {
        Packet::PubAck(r) => Ack::PubAck(r.packet_id, r.reason_code),
        Packet::PubRec(r) => Ack::PubRec(r.packet_id, r.reason_code),
        Packet::PubRel(r) => Ack::PubRel(r.packet_id),
        Packet::PubComp(r) => Ack::PubComp(r.packet_id, r.reason_code),
        other => Ack::Other(other.packet_type()),
    };
    Ok(Some((ack, used)))
}
