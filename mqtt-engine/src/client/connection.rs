//! The connection life cycle: CONNECT, CONNACK, keep-alive, loss, reconnect backoff and
//! session resumption.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use mqtt_proto::{
    ConnAck, Connect, Disconnect, Packet, ProtocolVersion, QoS, ReasonCode, Subscribe, Subscription,
};

use super::{Client, ServerLimits, State};
use crate::error::ProtocolError;
use crate::event::{Connected, DisconnectReason, Event, PublishFailure};
use crate::store::{Outgoing, Store};
use crate::time::Instant;

impl<S: Store> Client<S> {
    pub(crate) fn connect_packet(&self) -> Connect {
        let o = &self.options;
        let mut c = Connect::new(o.version, o.client_id.clone());
        c.clean_start = self.clean_start;
        c.keep_alive = o.keep_alive;
        c.will.clone_from(&o.will);
        c.username.clone_from(&o.username);
        c.password.clone_from(&o.password);
        if o.version == ProtocolVersion::V5 {
            c.properties = o.connect_properties().into();
        }
        c
    }

    /// A transport is open: sends CONNECT, the first packet of a connection [MQTT-3.1.0-1].
    /// Also the way to reconnect (after [`Event::ReconnectDue`]) and to restart after
    /// [`Client::disconnect`].
    pub fn connect(&mut self, now: Instant) {
        self.reset_connection();
        self.out.clear();
        self.connection += 1;
        let connect = self.connect_packet();
        self.send_packet(&Packet::from(connect), now);
        self.last_received = now;
        self.state = State::Connecting {
            deadline: now + self.options.connect_timeout,
        };
        self.timeout_pending = true;
    }

    /// Forgets everything that lives only as long as one network connection.
    fn reset_connection(&mut self) {
        self.read_buf.clear();
        self.skip = 0;
        self.ping_sent = None;
        self.progress = false;
        // [MQTT-3.3.2-7]: topic aliases do not outlive the connection.
        self.aliases_out.clear();
        self.aliases_in.clear();
        self.incoming_unacked = 0;
        // QoS 1 deliveries not yet acknowledged will be sent again by the server.
        self.pending_acks.retain(|p| p.qos == QoS::ExactlyOnce);
    }

    pub(crate) fn on_connack(&mut self, ack: ConnAck, now: Instant) -> Result<(), ProtocolError> {
        if !ack.reason_code.is_success() {
            let will_retry = self.backoff.is_some() && refusal_is_transient(ack.reason_code);
            self.events.push_back(Event::ConnectionRefused {
                reason_code: ack.reason_code,
                reason_string: ack.properties.reason_string.clone(),
                will_retry,
            });
            self.end_connection(now, will_retry);
            return Ok(());
        }
        if ack.session_present && self.clean_start {
            // [MQTT-3.2.2-2]: a server accepting Clean Start answers Session Present 0.
            return Err(ProtocolError::UnexpectedSessionPresent);
        }
        let p = &ack.properties;
        self.server = ServerLimits {
            receive_maximum: p.receive_maximum.unwrap_or(u16::MAX),
            max_packet_size: p.maximum_packet_size,
            max_qos: p.maximum_qos.unwrap_or(QoS::ExactlyOnce),
            retain_available: p.retain_available.unwrap_or(true),
            topic_alias_maximum: p.topic_alias_maximum.unwrap_or(0),
        };
        // [MQTT-3.2.2-21]
        self.keep_alive = p.server_keep_alive.unwrap_or(self.options.keep_alive);
        if let Some(id) = &p.assigned_client_identifier {
            // Reconnects must use the identifier the session belongs to.
            self.options.client_id = id.clone();
        }
        self.state = State::Connected { since: now };
        self.clean_start = !self.options.persistent();
        self.events.push_back(Event::Connected(Box::new(Connected {
            session_present: ack.session_present,
            client_id: self.options.client_id.clone(),
            keep_alive: self.keep_alive,
            properties: ack.properties,
        })));
        if ack.session_present {
            self.resend_session(now);
        } else {
            self.session_lost(now);
        }
        for packet in self.pending_subscribes.values() {
            let _ = Packet::Subscribe(packet.clone()).encode(self.options.version, &mut self.out);
        }
        for packet in self.pending_unsubscribes.values() {
            let _ = Packet::Unsubscribe(packet.clone()).encode(self.options.version, &mut self.out);
        }
        self.last_sent = now;
        self.send_ready_acks(now);
        self.recheck_queue();
        self.flush_queue(now);
        Ok(())
    }

    /// The server has no session: discard ours [MQTT-3.2.2-5], then publish again what was
    /// unacknowledged (or report it lost) and re-subscribe.
    fn session_lost(&mut self, now: Instant) {
        let entries: Vec<Outgoing> = self.store.outgoing().cloned().collect();
        self.store.clear();
        self.pending_acks.clear();
        let mut republish = Vec::new();
        for entry in entries {
            match entry {
                Outgoing::Publish(p) if self.options.republish_on_session_loss => republish.push(p),
                Outgoing::Publish(p) => self.fail_publish(p.packet_id, PublishFailure::SessionLost),
                Outgoing::Release(id) => {
                    // PUBREC was received: the server took ownership of the message.
                    self.free_id(id);
                    self.events.push_back(Event::PublishComplete {
                        packet_id: id,
                        reason_code: ReasonCode::Success,
                    });
                }
            }
        }
        for p in republish.into_iter().rev() {
            self.queue.push_front(p);
        }
        // `clear` emptied the stored queue too: store the whole new queue again, in order.
        for p in &self.queue {
            if p.packet_id.is_some() {
                self.store.push_queued(&p.to_publish());
            }
        }
        if self.options.resubscribe && !self.subscriptions.is_empty() {
            let subscriptions: Vec<Subscription> = self
                .subscriptions
                .iter()
                .map(|(filter, options)| Subscription {
                    filter: filter.clone(),
                    options: *options,
                })
                .collect();
            if let Ok(id) = self.allocate_id() {
                let packet = Subscribe::new(id, subscriptions);
                self.pending_subscribes.insert(id, packet);
            }
        }
        let _ = now;
    }

    /// Drops queued publishes the new connection's limits forbid.
    fn recheck_queue(&mut self) {
        let queue = core::mem::take(&mut self.queue);
        for stored in queue {
            match self.check_publish(&stored.to_publish()) {
                Ok(()) => self.queue.push_back(stored),
                Err(e) => self.fail_publish(stored.packet_id, PublishFailure::Refused(e)),
            }
        }
    }

    /// The transport closed or failed (or could not be opened after [`Event::ReconnectDue`]).
    pub fn connection_lost(&mut self, now: Instant) {
        match self.state {
            State::Connecting { .. } | State::Connected { .. } => {
                self.out.clear();
                self.events
                    .push_back(Event::Disconnected(DisconnectReason::TransportClosed));
                self.end_connection(now, true);
            }
            // The transport could not be opened: back off before the next attempt.
            State::Idle | State::ReconnectDue | State::WaitingReconnect { .. } => {
                self.end_connection(now, true);
            }
            State::ShutDown => {}
        }
        self.timeout_pending = true;
    }

    /// Closes gracefully: DISCONNECT (normal, so the server discards the will) and no reconnect.
    /// Session state is kept: a later [`Client::connect`] resumes it. To let in-flight messages
    /// complete first, wait until [`Client::is_idle`] before calling this.
    pub fn disconnect(&mut self, now: Instant) {
        if self.is_connected() {
            self.send_packet(&Packet::from(Disconnect::default()), now);
        }
        if !matches!(self.state, State::ShutDown) {
            self.events
                .push_back(Event::Disconnected(DisconnectReason::Requested));
        }
        self.reset_connection();
        self.state = State::ShutDown;
        self.timeout_pending = true;
    }

    /// The server broke the protocol: DISCONNECT with the reason (MQTT 5), then close.
    pub(crate) fn protocol_violation(&mut self, error: ProtocolError, now: Instant) {
        self.out.clear();
        if self.options.version == ProtocolVersion::V5 {
            let packet = Packet::from(Disconnect::new(error.reason_code()));
            let _ = packet.encode(self.options.version, &mut self.out);
        }
        self.events
            .push_back(Event::Disconnected(DisconnectReason::ProtocolError(error)));
        self.end_connection(now, true);
    }

    /// The server sent DISCONNECT.
    pub(crate) fn on_server_disconnect(&mut self, disconnect: Disconnect, now: Instant) {
        let retry = !matches!(
            disconnect.reason_code,
            ReasonCode::SessionTakenOver
                | ReasonCode::NotAuthorized
                | ReasonCode::BadAuthenticationMethod
        );
        self.out.clear();
        self.events
            .push_back(Event::Disconnected(DisconnectReason::ServerDisconnect {
                reason_code: disconnect.reason_code,
                reason_string: disconnect.properties.reason_string,
            }));
        self.end_connection(now, retry);
    }

    /// Leaves the connection and schedules a reconnect when allowed.
    ///
    /// The backoff rule: a connection that was accepted (CONNACK) *and* worked — the server
    /// answered something after CONNACK, or it stayed up for
    /// [`ReconnectPolicy::stable_after`](crate::ReconnectPolicy::stable_after) — resets the
    /// backoff, so the next attempt comes after the first, shortest delay. A connection that
    /// failed to open, was refused, or was dropped right after CONNACK with nothing answered
    /// (a broker that kicks us, e.g. for a duplicate client identifier) counts as one more
    /// failed attempt, and the delay keeps growing: no tight loop.
    fn end_connection(&mut self, now: Instant, retry: bool) {
        let was_stable = match self.state {
            State::Connected { since } => {
                self.progress
                    || self
                        .backoff
                        .as_ref()
                        .is_some_and(|b| now.saturating_duration_since(since) >= b.stable_after())
            }
            _ => false,
        };
        self.reset_connection();
        self.state = State::Idle;
        if !retry {
            return;
        }
        let Some(backoff) = self.backoff.as_mut() else {
            return;
        };
        if was_stable {
            backoff.reset();
        }
        let (delay, attempt) = backoff.next_delay();
        let at = now + delay;
        self.state = State::WaitingReconnect { at };
        self.events
            .push_back(Event::ReconnectScheduled { at, delay, attempt });
    }

    /// A deadline from [`Client::poll_timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.timeout_pending = true;
        match self.state {
            State::Connecting { deadline } if now >= deadline => {
                self.out.clear();
                self.events
                    .push_back(Event::Disconnected(DisconnectReason::ConnectTimeout));
                self.end_connection(now, true);
            }
            State::WaitingReconnect { at } if now >= at => {
                self.state = State::ReconnectDue;
                self.events.push_back(Event::ReconnectDue);
            }
            State::Connected { .. } => self.keep_alive_tick(now),
            _ => {}
        }
    }

    /// PINGREQ when the connection was quiet for the keep-alive period [MQTT-3.1.2-22]; lost
    /// when PINGRESP does not come back in time.
    fn keep_alive_tick(&mut self, now: Instant) {
        if let Some(sent) = self.ping_sent {
            if now >= sent + self.ping_timeout() {
                self.out.clear();
                self.events
                    .push_back(Event::Disconnected(DisconnectReason::PingTimeout));
                self.end_connection(now, true);
            }
            return;
        }
        if self.keep_alive == 0 {
            return;
        }
        let period = Duration::from_secs(u64::from(self.keep_alive));
        if now >= self.last_sent.min(self.last_received) + period {
            self.send_packet(&Packet::PingReq, now);
            self.ping_sent = Some(now);
        }
    }
}

impl<S: Store> Client<S> {
    /// Time allowed for PINGRESP: the option when set, else the keep-alive in effect bounded
    /// to 1..=10 s (a 2 s keep-alive cannot wait 10 s for an answer; a 60 s one need not).
    pub(crate) fn ping_timeout(&self) -> Duration {
        self.options
            .ping_timeout
            .unwrap_or_else(|| Duration::from_secs(u64::from(self.keep_alive).clamp(1, 10)))
    }
}

/// Refusals worth retrying: the server may accept later.
fn refusal_is_transient(code: ReasonCode) -> bool {
    matches!(
        code,
        ReasonCode::ServerUnavailable
            | ReasonCode::ServerBusy
            | ReasonCode::ConnectionRateExceeded
            | ReasonCode::QuotaExceeded
            | ReasonCode::UnspecifiedError
            | ReasonCode::ImplementationSpecificError
    )
}
