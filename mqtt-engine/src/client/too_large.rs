//! MQTT 3.1.1 messages larger than our maximum packet size: 3.1.1 cannot announce the limit,
//! so such a message is acknowledged, reported ([`Event::MessageTooLarge`]) and its bytes
//! dropped as they arrive, unbuffered.

use bytes::Buf;
use mqtt_proto::{decode_publish_head, ByteStr, DecodeError, PacketType, ProtocolVersion, QoS};

use super::incoming::Qos2Arrival;
use super::{Client, PendingAck, State};
use crate::error::ProtocolError;
use crate::event::Event;
use crate::store::Store;
use crate::time::Instant;

impl<S: Store> Client<S> {
    /// An MQTT 3.1.1 PUBLISH over our maximum size waits at the front of the read buffer
    /// (3.1.1 cannot announce the limit: see [`Event::MessageTooLarge`]).
    pub(super) fn skips_oversize(&self) -> bool {
        self.options.version == ProtocolVersion::V311
            && matches!(self.state, State::Connected { .. })
            && self
                .read_buf
                .first()
                .is_some_and(|b| b >> 4 == PacketType::Publish as u8)
    }

    /// Reads the head of the oversize PUBLISH at the front of the read buffer, drops what has
    /// arrived of it (the rest is dropped as it comes), then acknowledges and reports it.
    /// `Ok(None)` until its topic and identifier have arrived.
    pub(super) fn skip_publish(&mut self, now: Instant) -> Result<Option<()>, ProtocolError> {
        let head = match decode_publish_head(&self.read_buf) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            Err(e) => return Err(ProtocolError::Decode(e)),
        };
        if head.topic.is_empty() {
            return Err(ProtocolError::Decode(DecodeError::EmptyTopicName));
        }
        let (topic, qos, dup, packet_id, size) = (
            ByteStr::from(head.topic),
            head.qos,
            head.dup,
            head.packet_id,
            head.size,
        );
        let here = self.read_buf.len().min(size);
        self.read_buf.advance(here);
        self.skip = size - here;
        let id = packet_id.unwrap_or(0);
        let arrival = match qos {
            QoS::ExactlyOnce => self.qos2_arrival(id, dup, now),
            _ => Qos2Arrival::New,
        };
        if arrival == Qos2Arrival::Repeat {
            return Ok(Some(()));
        }
        self.events.push_back(Event::MessageTooLarge {
            topic,
            qos,
            packet_id,
            size,
        });
        if qos != QoS::AtMostOnce {
            // Acknowledged in arrival order, behind deliveries the application still holds.
            if arrival == Qos2Arrival::New {
                self.take_receive_slot()?;
            }
            self.pending_acks.push_back(PendingAck {
                packet_id: id,
                qos,
                acked: true,
            });
            self.send_ready_acks(now);
        }
        Ok(Some(()))
    }
}
