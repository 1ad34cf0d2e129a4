//! Everything that writes packets: publishes through the send quota and topic aliases,
//! acknowledgements, and the checks against the server's limits.

use core::mem;

use mqtt_proto::{Packet, PacketType, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode};

use super::{Client, State};
use crate::error::Error;
use crate::event::{Event, PublishFailure};
use crate::store::{Outgoing, Store};
use crate::time::Instant;

/// Spare room below which the output buffer takes [`OUT_CHUNK`] more.
const OUT_SPARE: usize = 32;
/// Output buffer growth step for small packets.
const OUT_CHUNK: usize = 256;

impl<S: Store> Client<S> {
    /// Checks a publish against the protocol and the server's limits.
    /// The server's QoS and retain limits (the size is checked when encoding).
    pub(crate) fn check_publish_limits(&self, publish: &Publish) -> Result<(), Error> {
        if publish.qos > self.server.max_qos {
            // [MQTT-3.2.2-11]
            return Err(Error::QoSNotSupported {
                requested: publish.qos,
                max: self.server.max_qos,
            });
        }
        if publish.retain && !self.server.retain_available {
            // [MQTT-3.2.2-14]
            return Err(Error::RetainNotSupported);
        }
        Ok(())
    }

    pub(crate) fn check_publish(&self, publish: &Publish) -> Result<(), Error> {
        self.check_publish_limits(publish)?;
        let size = publish.encoded_len(self.options.version)?;
        self.check_limit(size)
    }

    pub(crate) fn check_size(&self, packet: &Packet) -> Result<(), Error> {
        let size = packet.encoded_len(self.options.version)?;
        self.check_limit(size)
    }

    fn check_limit(&self, size: usize) -> Result<(), Error> {
        match self.server.max_packet_size {
            // [MQTT-3.2.2-15]
            Some(max) if size > max as usize => Err(Error::PacketTooLarge { size, max }),
            _ => Ok(()),
        }
    }

    /// Keeps some spare room in the output buffer, so that the small packets of a busy
    /// connection are encoded without a reservation each (the room is reclaimed in place once
    /// the driver has dropped what it wrote).
    fn out_room(&mut self) {
        if self.out.capacity() - self.out.len() < OUT_SPARE {
            self.out.reserve(OUT_CHUNK);
        }
    }

    /// Encodes a packet into the output (the packet was validated when it was accepted).
    pub(crate) fn send_packet(&mut self, packet: &Packet, now: Instant) {
        self.out_room();
        if packet.encode(self.options.version, &mut self.out).is_ok() {
            self.last_sent = now;
        }
    }

    /// Sends queued publishes while connected and within the send quota: the smaller of the
    /// server's Receive Maximum and our own limit [MQTT-3.3.4-7], [MQTT-4.9.0-2]. QoS 0
    /// messages keep their place in the queue.
    pub(crate) fn flush_queue(&mut self, now: Instant) {
        if !self.is_connected() {
            return;
        }
        let quota = self.send_quota();
        while let Some(front) = self.queue.front() {
            if front.qos != QoS::AtMostOnce && self.store.outgoing_len() >= quota {
                break;
            }
            let Some(stored) = self.queue.pop_front() else {
                break;
            };
            let mut publish = stored.into_publish();
            match self.send_new_publish(&mut publish, now) {
                Ok(()) => {
                    if let Some(id) = publish.packet_id {
                        // In flight first, then out of the queue: a crash between the two
                        // records leaves it in both, and it is sent once (see `with_store`).
                        self.store.push_outgoing(Outgoing::Publish(publish.into()));
                        self.store.remove_queued(id);
                    }
                }
                Err(e) => self.fail_publish(publish.packet_id, PublishFailure::Refused(e)),
            }
        }
    }

    /// QoS 1/2 publishes allowed in flight: the smaller of the server's Receive Maximum and our
    /// own limit.
    pub(crate) fn send_quota(&self) -> usize {
        usize::from(
            self.server
                .receive_maximum
                .min(self.options.inflight_window()),
        )
    }

    pub(crate) fn fail_publish(&mut self, packet_id: Option<u16>, reason: PublishFailure) {
        if let Some(id) = packet_id {
            self.store.remove_queued(id);
            self.free_id(id);
        }
        self.events
            .push_back(Event::PublishFailed { packet_id, reason });
    }

    /// Encodes `publish` with `alias` as its Topic Alias and leaves it as it was. A publish
    /// without properties borrows the engine's spare property box meanwhile (a box per message
    /// would be an allocation per message).
    fn encode_aliased(
        &mut self,
        publish: &mut Publish,
        alias: u16,
    ) -> Result<usize, mqtt_proto::EncodeError> {
        let borrowed = publish.properties.is_absent();
        if borrowed {
            mem::swap(&mut publish.properties, &mut self.alias_properties);
        }
        publish.properties.topic_alias = Some(alias);
        let result = publish.encode_within(
            self.options.version,
            self.server.max_packet_size,
            &mut self.out,
        );
        publish.properties.topic_alias = None;
        if borrowed {
            mem::swap(&mut publish.properties, &mut self.alias_properties);
        }
        result
    }

    /// First transmission: DUP 0 [MQTT-4.3.1-1], [MQTT-4.3.2-2], [MQTT-4.3.3-2], with a topic
    /// alias when the server accepts them (never above its maximum, [MQTT-3.2.2-17],
    /// [MQTT-3.3.2-9]). The stored copy keeps its full topic.
    pub(crate) fn send_new_publish(
        &mut self,
        publish: &mut Publish,
        now: Instant,
    ) -> Result<(), Error> {
        publish.dup = false;
        self.out_room();
        let max = self.server.topic_alias_maximum;
        if self.options.version == ProtocolVersion::V5 && max > 0 {
            if let Some(&alias) = self.aliases_out.get(&publish.topic) {
                let topic = mem::take(&mut publish.topic);
                let result = self.encode_aliased(publish, alias);
                publish.topic = topic;
                result?;
                self.last_sent = now;
                return Ok(());
            }
            if self.aliases_out.len() < usize::from(max) {
                let alias = self.aliases_out.len() as u16 + 1;
                self.encode_aliased(publish, alias)?;
                self.aliases_out.insert(publish.topic.clone(), alias);
                self.last_sent = now;
                return Ok(());
            }
        }
        publish.encode_within(
            self.options.version,
            self.server.max_packet_size,
            &mut self.out,
        )?;
        self.last_sent = now;
        Ok(())
    }

    /// Re-sends what the session holds, in the original order, with DUP set and the full topic
    /// [MQTT-4.4.0-1], [MQTT-4.6.0-1], [MQTT-3.3.1-1].
    pub(crate) fn resend_session(&mut self, now: Instant) {
        let version = self.options.version;
        for entry in self.store.outgoing() {
            match entry {
                Outgoing::Publish(p) => {
                    let mut again = p.to_publish();
                    again.dup = true;
                    let _ = again.encode(version, &mut self.out);
                }
                Outgoing::Release(id) => {
                    let _ =
                        PubResponse::new(*id).encode(PacketType::PubRel, version, &mut self.out);
                }
            }
        }
        self.last_sent = now;
    }

    /// Sends PUBACK, PUBREC, PUBREL or PUBCOMP.
    pub(crate) fn send_response(
        &mut self,
        packet: PacketType,
        packet_id: u16,
        code: ReasonCode,
        now: Instant,
    ) {
        self.out_room();
        let mut response = PubResponse::new(packet_id);
        if self.options.version == ProtocolVersion::V5 {
            response.reason_code = code;
        }
        if response
            .encode(packet, self.options.version, &mut self.out)
            .is_ok()
        {
            self.last_sent = now;
        }
    }

    /// Sends the acknowledgements of manual-ack deliveries that the application acknowledged,
    /// stopping at the first one still waiting so they leave in arrival order.
    pub(crate) fn send_ready_acks(&mut self, now: Instant) {
        if !matches!(self.state, State::Connected { .. }) {
            return;
        }
        while self.pending_acks.front().is_some_and(|p| p.acked) {
            let Some(p) = self.pending_acks.pop_front() else {
                break;
            };
            if p.qos == QoS::ExactlyOnce {
                self.store.insert_incoming(p.packet_id);
                self.send_response(PacketType::PubRec, p.packet_id, ReasonCode::Success, now);
            } else {
                self.incoming_unacked = self.incoming_unacked.saturating_sub(1);
                self.send_response(PacketType::PubAck, p.packet_id, ReasonCode::Success, now);
            }
        }
    }
}
