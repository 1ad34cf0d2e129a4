//! Session state that must survive a reconnect (and, with a persistent store, a restart):
//! outgoing QoS 1/2 messages in flight, QoS 1/2 messages accepted but not yet sent (queued),
//! incoming QoS 2 identifiers awaiting PUBREL, and the next packet identifier.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use mqtt_proto::Publish;

use crate::id_set::IdSet;
use crate::stored::StoredPublish;

/// An outgoing message the server has not finished acknowledging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A QoS 1/2 PUBLISH sent, awaiting PUBACK or PUBREC.
    Publish(StoredPublish),
    /// PUBREC received and PUBREL sent for this identifier, awaiting PUBCOMP.
    Release(u16),
}

impl Outgoing {
    /// The packet identifier.
    pub fn packet_id(&self) -> u16 {
        match self {
            Self::Publish(p) => p.packet_id.unwrap_or(0),
            Self::Release(id) => *id,
        }
    }
}

/// Where the engine keeps session state. The engine calls these methods at the moment the
/// state changes, so an implementation can persist each change (append a log record, write a
/// file) before the corresponding packet is written by the driver.
///
/// Methods are infallible: a store backed by a disk records its own failures and exposes them
/// to the driver, which decides whether to stop.
pub trait Store {
    /// Appends an entry to the in-flight sequence (kept in sending order for resends,
    /// [MQTT-4.6.0-1]).
    fn push_outgoing(&mut self, entry: Outgoing);
    /// Removes and returns the entry with `packet_id`.
    fn remove_outgoing(&mut self, packet_id: u16) -> Option<Outgoing>;
    /// Removes and returns the entry with `packet_id` if `wanted` accepts it (one lookup where
    /// the store can; the default looks it up, then removes it).
    #[inline]
    fn remove_outgoing_if(
        &mut self,
        packet_id: u16,
        wanted: impl FnOnce(&Outgoing) -> bool,
    ) -> Option<Outgoing> {
        if !wanted(self.get_outgoing(packet_id)?) {
            return None;
        }
        self.remove_outgoing(packet_id)
    }
    /// The entry with `packet_id`.
    fn get_outgoing(&self, packet_id: u16) -> Option<&Outgoing>;
    /// The entries in sending order.
    fn outgoing(&self) -> impl Iterator<Item = &Outgoing>;
    /// Number of entries.
    fn outgoing_len(&self) -> usize;
    /// Records an incoming QoS 2 identifier whose PUBREC was sent; false if already present.
    fn insert_incoming(&mut self, packet_id: u16) -> bool;
    /// Forgets an incoming QoS 2 identifier (PUBREL received); false if absent.
    fn remove_incoming(&mut self, packet_id: u16) -> bool;
    /// True if `packet_id` is an incoming QoS 2 identifier awaiting PUBREL.
    fn contains_incoming(&self, packet_id: u16) -> bool;
    /// Incoming QoS 2 identifiers awaiting PUBREL.
    fn incoming_len(&self) -> usize;
    /// Discards the whole session (clean start, or the server lost it) [MQTT-3.2.2-5].
    fn clear(&mut self);
    /// The next packet identifier to try.
    fn next_packet_id(&self) -> u16;
    /// Records the next packet identifier to try.
    fn set_next_packet_id(&mut self, id: u16);

    /// A QoS 1/2 publish was accepted (its identifier handed out) but waits in the engine's
    /// queue (offline, or no send quota). A persistent store keeps it so that a restarted
    /// process still sends it: once `publish` returned, the message is in the store. The
    /// default keeps nothing (the engine's queue is in memory anyway).
    fn push_queued(&mut self, publish: &Publish) {
        let _ = publish;
    }

    /// The queued publish with `packet_id` left the queue: sent (the engine pushes it to the
    /// outgoing sequence first) or dropped.
    fn remove_queued(&mut self, packet_id: u16) {
        let _ = packet_id;
    }

    /// Queued publishes recovered from a previous process, in order; handed over once, when
    /// the engine is created. [`Store::clear`] discards them too.
    fn take_queued(&mut self) -> Vec<Publish> {
        Vec::new()
    }
}

/// Session state in memory: lost when the process exits.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    outgoing: VecDeque<Outgoing>,
    incoming: IdSet,
    next_id: u16,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Incoming QoS 2 identifiers awaiting PUBREL, in increasing order (for persistence).
    pub fn incoming_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.incoming.iter()
    }

    #[inline]
    fn position(&self, packet_id: u16) -> Option<usize> {
        // Acknowledgements mostly arrive in sending order: the match is usually at the front.
        if self.outgoing.front()?.packet_id() == packet_id {
            return Some(0);
        }
        self.outgoing
            .iter()
            .position(|e| e.packet_id() == packet_id)
    }
}

impl Store for MemoryStore {
    fn push_outgoing(&mut self, entry: Outgoing) {
        crate::stored::push_growing(&mut self.outgoing, entry);
    }

    fn remove_outgoing(&mut self, packet_id: u16) -> Option<Outgoing> {
        self.remove_outgoing_if(packet_id, |_| true)
    }

    fn remove_outgoing_if(
        &mut self,
        packet_id: u16,
        wanted: impl FnOnce(&Outgoing) -> bool,
    ) -> Option<Outgoing> {
        let at = self.position(packet_id)?;
        if !wanted(self.outgoing.get(at)?) {
            return None;
        }
        match at {
            // Acknowledgements mostly come in sending order.
            0 => self.outgoing.pop_front(),
            at => self.outgoing.remove(at),
        }
    }

    fn get_outgoing(&self, packet_id: u16) -> Option<&Outgoing> {
        self.position(packet_id)
            .and_then(|at| self.outgoing.get(at))
    }

    fn outgoing(&self) -> impl Iterator<Item = &Outgoing> {
        self.outgoing.iter()
    }

    fn outgoing_len(&self) -> usize {
        self.outgoing.len()
    }

    fn insert_incoming(&mut self, packet_id: u16) -> bool {
        self.incoming.insert(packet_id)
    }

    fn remove_incoming(&mut self, packet_id: u16) -> bool {
        self.incoming.remove(packet_id)
    }

    fn contains_incoming(&self, packet_id: u16) -> bool {
        self.incoming.contains(packet_id)
    }

    fn incoming_len(&self) -> usize {
        self.incoming.len()
    }

    fn clear(&mut self) {
        self.outgoing.clear();
        self.incoming.clear();
    }

    fn next_packet_id(&self) -> u16 {
        self.next_id
    }

    fn set_next_packet_id(&mut self, id: u16) {
        self.next_id = id;
    }
}
