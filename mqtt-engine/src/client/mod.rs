//! The [`Client`] state machine: one door in (`handle_*`, commands), one door out
//! ([`Client::poll_output`]).

mod connection;
mod incoming;
mod sending;
mod too_large;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use bytes::BytesMut;
use mqtt_proto::{
    ByteStr, Packet, ProtocolVersion, Publish, QoS, Subscribe, Subscription, SubscriptionOptions,
    TopicFilter, TopicName, Unsubscribe,
};

use crate::backoff::Backoff;
use crate::error::Error;
use crate::event::{AckToken, Event, Output};
use crate::id_set::IdSet;
use crate::options::Options;
use crate::store::{MemoryStore, Store};
use crate::stored::StoredPublish;
use crate::time::Instant;

/// Where the client is in its connection life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No connection and none scheduled: call [`Client::connect`] when a transport is open.
    Idle,
    /// CONNECT sent, waiting for CONNACK until `deadline`.
    Connecting {
        /// Connect timeout.
        deadline: Instant,
    },
    /// CONNACK received with success.
    Connected {
        /// When the CONNACK arrived.
        since: Instant,
    },
    /// Connection lost; a reconnect is due at `at`.
    WaitingReconnect {
        /// When [`Event::ReconnectDue`] fires.
        at: Instant,
    },
    /// [`Event::ReconnectDue`] was emitted: the driver should open a transport and call
    /// [`Client::connect`].
    ReconnectDue,
    /// [`Client::disconnect`] was called.
    ShutDown,
}

/// Limits the server announced in CONNACK (MQTT 5; 3.1.1 servers have the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerLimits {
    pub(crate) receive_maximum: u16,
    pub(crate) max_packet_size: Option<u32>,
    pub(crate) max_qos: QoS,
    pub(crate) retain_available: bool,
    pub(crate) topic_alias_maximum: u16,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            receive_maximum: u16::MAX,
            max_packet_size: None,
            max_qos: QoS::ExactlyOnce,
            retain_available: true,
            topic_alias_maximum: 0,
        }
    }
}

/// An incoming QoS 1/2 delivery waiting for the application's [`Client::ack`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingAck {
    pub(crate) packet_id: u16,
    pub(crate) qos: QoS,
    pub(crate) acked: bool,
}

/// The sans-IO MQTT client. See the crate documentation for the driving loop.
#[derive(Debug)]
pub struct Client<S: Store = MemoryStore> {
    pub(crate) options: Options,
    pub(crate) store: S,
    pub(crate) state: State,
    /// Counts connections; acknowledgement tokens of an older one are stale.
    pub(crate) connection: u64,
    /// Bytes waiting to be handed to the driver.
    pub(crate) out: BytesMut,
    pub(crate) events: VecDeque<Event>,
    /// Set when something changed, so `poll_output` reports the next deadline once.
    pub(crate) timeout_pending: bool,
    pub(crate) read_buf: BytesMut,
    /// Bytes of an oversize MQTT 3.1.1 PUBLISH still to be discarded as they arrive.
    pub(crate) skip: usize,
    pub(crate) server: ServerLimits,
    /// Keep-alive in effect for this connection (seconds).
    pub(crate) keep_alive: u16,
    /// Clean Start flag sent in the current / next CONNECT.
    pub(crate) clean_start: bool,
    pub(crate) last_sent: Instant,
    pub(crate) last_received: Instant,
    pub(crate) ping_sent: Option<Instant>,
    /// Identifiers of queued and in-flight publishes and pending (un)subscribes
    /// [MQTT-2.2.1-3].
    pub(crate) ids_in_use: IdSet,
    /// Publishes not yet sent: offline, or waiting for a send-quota slot.
    pub(crate) queue: VecDeque<StoredPublish>,
    pub(crate) aliases_out: BTreeMap<TopicName, u16>,
    /// The property box a publish without properties borrows to carry its Topic Alias while
    /// it is encoded (allocated once, not per message).
    pub(crate) alias_properties: mqtt_proto::Boxed<mqtt_proto::PublishProperties>,
    pub(crate) aliases_in: BTreeMap<u16, TopicName>,
    /// Incoming QoS 1/2 publishes of this connection not yet completed (our Receive Maximum).
    pub(crate) incoming_unacked: usize,
    /// Manual-ack deliveries, in arrival order (acknowledgements go out in that order,
    /// [MQTT-4.6.0-2], [MQTT-4.6.0-3]).
    pub(crate) pending_acks: VecDeque<PendingAck>,
    pub(crate) pending_subscribes: BTreeMap<u16, Subscribe>,
    pub(crate) pending_unsubscribes: BTreeMap<u16, Unsubscribe>,
    /// Subscriptions the server granted, for re-subscribing when it lost the session.
    pub(crate) subscriptions: BTreeMap<TopicFilter, SubscriptionOptions>,
    pub(crate) backoff: Option<Backoff>,
    /// The server answered something after CONNACK on this connection (an acknowledgement, a
    /// message, SUBACK, PINGRESP): the connection worked, so losing it resets the backoff.
    pub(crate) progress: bool,
    /// The highest QoS of a publish refused for want of room ([`Error::QueueFull`]) since the
    /// last [`Event::PublishReady`]: when such a publish fits again, the event is emitted.
    pub(crate) refused_for_room: Option<QoS>,
}

/// Packet identifiers that exist (1..=65535): QoS 1/2 messages in flight plus queued ones never
/// exceed it.
const PACKET_IDS: usize = u16::MAX as usize;

impl Client<MemoryStore> {
    /// A client with session state in memory. Validates that the CONNECT the options describe
    /// can be encoded.
    pub fn new(options: Options, now: Instant) -> Result<Self, Error> {
        Self::with_store(options, MemoryStore::new(), now)
    }
}

impl<S: Store> Client<S> {
    /// A client resuming the session state in `store` (messages in flight when a previous
    /// process stopped are resent once the server confirms the session). Refuses options that
    /// describe a CONNECT the protocol forbids (e.g. [`Error::EmptyClientIdWithSession`]).
    pub fn with_store(options: Options, mut store: S, now: Instant) -> Result<Self, Error> {
        if options.version == ProtocolVersion::V311
            && options.client_id.is_empty()
            && !options.clean_start
        {
            return Err(Error::EmptyClientIdWithSession);
        }
        let mut ids_in_use = IdSet::new();
        for entry in store.outgoing() {
            ids_in_use.insert(entry.packet_id());
        }
        // Messages a previous process accepted but had not sent: first in line. One also in
        // flight (the process stopped between the two records) is sent once, as a resend.
        let mut queue = VecDeque::new();
        for publish in store.take_queued() {
            if let Some(id) = publish.packet_id {
                if ids_in_use.insert(id) {
                    queue.push_back(StoredPublish::from(publish));
                }
            }
        }
        let backoff = options.reconnect.map(|p| Backoff::new(p, options.seed));
        let client = Self {
            clean_start: options.clean_start,
            keep_alive: options.keep_alive,
            options,
            store,
            state: State::Idle,
            connection: 0,
            out: BytesMut::new(),
            events: VecDeque::new(),
            timeout_pending: true,
            read_buf: BytesMut::new(),
            skip: 0,
            server: ServerLimits::default(),
            last_sent: now,
            last_received: now,
            ping_sent: None,
            ids_in_use,
            queue,
            aliases_out: BTreeMap::new(),
            alias_properties: mqtt_proto::Boxed::none(),
            aliases_in: BTreeMap::new(),
            incoming_unacked: 0,
            pending_acks: VecDeque::new(),
            pending_subscribes: BTreeMap::new(),
            pending_unsubscribes: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            backoff,
            progress: false,
            refused_for_room: None,
        };
        Packet::from(client.connect_packet()).encoded_len(client.options.version)?;
        Ok(client)
    }

    /// Publishes a message. QoS 1/2 messages get a packet identifier at once (returned), which
    /// later [`Event::PublishComplete`] refers to. While disconnected, or while the send quota is
    /// used up, the message waits in order in a bounded queue.
    ///
    /// When there is no room ([`Options::max_queued`] messages waiting, or every packet
    /// identifier taken by QoS 1/2 messages in flight or queued) the publish is refused with
    /// [`Error::QueueFull`] and nothing changes; the engine then emits [`Event::PublishReady`]
    /// once a publish of that QoS fits again, so a driver can make its caller wait for exactly
    /// that moment ([`Client::has_room`] asks the same question directly).
    ///
    /// The engine manages DUP, packet identifiers and topic aliases: those fields of `publish`
    /// are ignored, as are Subscription Identifiers [MQTT-3.3.4-6].
    pub fn publish(&mut self, mut publish: Publish, now: Instant) -> Result<Option<u16>, Error> {
        if self.state == State::ShutDown {
            return Err(Error::ShutDown);
        }
        publish.dup = false;
        if let Some(properties) = publish.properties.get_mut() {
            properties.topic_alias = None;
            properties.subscription_identifiers.clear();
        }
        publish.packet_id = (publish.qos != QoS::AtMostOnce).then_some(1);
        let send_now = self.queue.is_empty()
            && self.is_connected()
            && (publish.qos == QoS::AtMostOnce || self.store.outgoing_len() < self.send_quota());
        if send_now {
            // Sent at once below: encoding checks the packet and its size in the same pass.
            self.check_publish_limits(&publish)?;
        } else {
            self.check_publish(&publish)?;
        }
        if !self.has_room(publish.qos) {
            self.refused_for_room = Some(
                self.refused_for_room
                    .map_or(publish.qos, |q| q.max(publish.qos)),
            );
            return Err(Error::QueueFull(self.queue.len()));
        }
        let packet_id = if publish.qos == QoS::AtMostOnce {
            None
        } else {
            Some(self.allocate_id()?)
        };
        publish.packet_id = packet_id;
        self.timeout_pending = true;
        if !send_now {
            if packet_id.is_some() {
                // In the store before `publish` returns: a restarted process still sends it.
                self.store.push_queued(&publish);
            }
            crate::stored::push_growing(&mut self.queue, StoredPublish::from(publish));
            self.flush_queue(now);
            return Ok(packet_id);
        }
        // Nothing waits ahead of it: straight to the wire (and the session), no queueing.
        if let Err(e) = self.send_new_publish(&mut publish, now) {
            if let Some(id) = packet_id {
                self.free_id(id);
            }
            return Err(e);
        }
        if packet_id.is_some() {
            self.store
                .push_outgoing(crate::store::Outgoing::Publish(publish.into()));
        }
        Ok(packet_id)
    }

    /// Subscribes to `subscriptions` in one SUBSCRIBE; the result arrives as
    /// [`Event::Subscribed`] with the returned identifier. Made while disconnected, it is sent
    /// right after the next CONNACK (before queued publishes).
    pub fn subscribe(
        &mut self,
        subscriptions: Vec<Subscription>,
        now: Instant,
    ) -> Result<u16, Error> {
        if self.state == State::ShutDown {
            return Err(Error::ShutDown);
        }
        if subscriptions.is_empty() {
            return Err(Error::NoFilters);
        }
        let mut packet = Subscribe::new(1, subscriptions);
        self.check_size(&Packet::Subscribe(packet.clone()))?;
        packet.packet_id = self.allocate_id()?;
        let id = packet.packet_id;
        if self.is_connected() {
            self.send_packet(&Packet::Subscribe(packet.clone()), now);
        }
        self.pending_subscribes.insert(id, packet);
        self.timeout_pending = true;
        Ok(id)
    }

    /// Subscribes to one filter with `max_qos`; a filter that breaks the rules of MQTT 4.7 is
    /// refused with [`Error::Invalid`] (see [`TopicFilter::new`](mqtt_proto::TopicFilter::new)).
    pub fn subscribe_one(
        &mut self,
        filter: impl Into<ByteStr>,
        max_qos: QoS,
        now: Instant,
    ) -> Result<u16, Error> {
        let filter = TopicFilter::new(filter)?;
        self.subscribe(alloc::vec![Subscription::new(filter, max_qos)], now)
    }

    /// Unsubscribes from `filters`; the result arrives as [`Event::Unsubscribed`].
    pub fn unsubscribe(&mut self, filters: Vec<ByteStr>, now: Instant) -> Result<u16, Error> {
        if self.state == State::ShutDown {
            return Err(Error::ShutDown);
        }
        if filters.is_empty() {
            return Err(Error::NoFilters);
        }
        let mut packet = Unsubscribe::new(1, filters);
        self.check_size(&Packet::Unsubscribe(packet.clone()))?;
        packet.packet_id = self.allocate_id()?;
        let id = packet.packet_id;
        if self.is_connected() {
            self.send_packet(&Packet::Unsubscribe(packet.clone()), now);
        }
        self.pending_unsubscribes.insert(id, packet);
        self.timeout_pending = true;
        Ok(id)
    }

    /// Acknowledges a delivery in manual-ack mode: PUBACK (QoS 1) or PUBREC (QoS 2) is sent,
    /// in the order the messages arrived. A token from an earlier connection is ignored for
    /// QoS 1 (the server sends the message again).
    pub fn ack(&mut self, token: AckToken, now: Instant) {
        if token.qos == QoS::ExactlyOnce || token.connection == self.connection {
            if let Some(p) = self
                .pending_acks
                .iter_mut()
                .find(|p| p.packet_id == token.packet_id)
            {
                p.acked = true;
            }
        }
        self.send_ready_acks(now);
        self.timeout_pending = true;
    }

    /// True when a publish of `qos` would find room now: fewer than [`Options::max_queued`]
    /// messages wait, and (QoS 1/2) a packet identifier is free. Limits of the server (size,
    /// QoS, retain) are checked by [`Client::publish`] itself.
    pub fn has_room(&self, qos: QoS) -> bool {
        self.room(qos) > 0
    }

    /// How many publishes of `qos` would find room now (see [`Client::has_room`]).
    pub fn room(&self, qos: QoS) -> usize {
        let queue = self.options.max_queued.saturating_sub(self.queue.len());
        if qos == QoS::AtMostOnce {
            return queue;
        }
        queue.min(PACKET_IDS.saturating_sub(self.ids_in_use.len()))
    }

    /// True when a publisher that had to wait for room should go on: an eighth of the queue
    /// (or of the packet identifiers) is free again. Waking waiters once per batch of
    /// acknowledgements instead of once per message saves a thread or task wake-up per
    /// message; the threshold is always reached once the session drains.
    pub fn has_room_to_resume(&self, qos: QoS) -> bool {
        let limit = if qos == QoS::AtMostOnce {
            self.options.max_queued
        } else {
            self.options.max_queued.min(PACKET_IDS)
        };
        self.room(qos) >= (limit / 8).max(1)
    }

    /// Number of QoS 1/2 publishes sent and not yet completed.
    pub fn inflight_len(&self) -> usize {
        self.store.outgoing_len()
    }

    /// Number of publishes waiting to be sent.
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is queued, in flight, or awaiting SUBACK/UNSUBACK.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
            && self.store.outgoing_len() == 0
            && self.pending_subscribes.is_empty()
            && self.pending_unsubscribes.is_empty()
    }

    /// True after a successful CONNACK on the current connection.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// The connection state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The options (the client identifier is updated when the server assigns one).
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The session store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The session store, mutably: a driver with a persistent store flushes it here before
    /// writing the bytes `poll_output` returned. Changing the session state through it is
    /// not supported.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The protocol version in use.
    pub fn version(&self) -> ProtocolVersion {
        self.options.version
    }

    /// The next thing for the driver to do: bytes to write, an event, or (once, after the
    /// others) the deadline at which to call [`Client::handle_timeout`]. `None` when there is
    /// nothing to do and no deadline.
    pub fn poll_output(&mut self, now: Instant) -> Option<Output> {
        let _ = now;
        if let Some(qos) = self.refused_for_room {
            if self.has_room(qos) || self.state == State::ShutDown {
                self.refused_for_room = None;
                self.events.push_back(Event::PublishReady);
            }
        }
        if !self.out.is_empty() {
            return Some(Output::Transmit(self.out.split().freeze()));
        }
        if let Some(event) = self.events.pop_front() {
            return Some(Output::Event(event));
        }
        if self.timeout_pending {
            self.timeout_pending = false;
            return self.poll_timeout().map(Output::Timeout);
        }
        None
    }

    /// Appends every byte waiting to be sent to `buf` and returns how many: the bytes of the
    /// [`Output::Transmit`]s that [`Client::poll_output`] would return, in the same order, for
    /// a driver that gathers its writes in a buffer of its own (no `Bytes` per packet, and the
    /// engine keeps its buffer). Events and the deadline still come from `poll_output`, which
    /// returns no `Transmit` until more bytes are produced.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> usize {
        let n = self.out.len();
        buf.extend_from_slice(&self.out);
        self.out.clear();
        n
    }

    /// The next deadline, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Connecting { deadline } => Some(deadline),
            State::WaitingReconnect { at } => Some(at),
            State::Connected { .. } => {
                if let Some(sent) = self.ping_sent {
                    return Some(sent + self.ping_timeout());
                }
                if self.keep_alive == 0 {
                    return None;
                }
                let period = core::time::Duration::from_secs(u64::from(self.keep_alive));
                Some(self.last_sent.min(self.last_received) + period)
            }
            State::Idle | State::ReconnectDue | State::ShutDown => None,
        }
    }

    /// A free packet identifier, never one in use [MQTT-2.2.1-3].
    pub(crate) fn allocate_id(&mut self) -> Result<u16, Error> {
        let mut id = self.store.next_packet_id();
        for _ in 0..=u16::MAX {
            if id == 0 {
                id = 1;
            }
            if self.ids_in_use.insert(id) {
                self.store.set_next_packet_id(id.wrapping_add(1));
                return Ok(id);
            }
            id = id.wrapping_add(1);
        }
        Err(Error::PacketIdsExhausted)
    }

    pub(crate) fn free_id(&mut self, id: u16) {
        self.ids_in_use.remove(id);
    }
}
