//! Requests (publish, subscribe, unsubscribe) a token may wait for, and their outcomes. Shared
//! by both transports: the engine's completion events are turned into results here, once.

use std::collections::HashMap;

use mqtt_engine::{Event, PublishFailure};
use mqtt_proto::{QoS, ReasonCode};

/// How a request ended.
#[derive(Debug, Clone)]
pub enum Completion {
    /// PUBACK / PUBCOMP (or a refusing PUBREC) with this code.
    Published(ReasonCode),
    /// The engine dropped the publish.
    Failed(PublishFailure),
    /// SUBACK: per filter, the granted QoS or the refusal.
    Subscribed(Vec<Result<QoS, ReasonCode>>),
    /// UNSUBACK.
    Unsubscribed(Vec<ReasonCode>),
}

/// Requests in flight that a token waits for (packet id → ticket) and outcomes not read yet
/// (ticket → completion). A ticket tells apart two requests that reuse a packet id.
#[derive(Debug, Default)]
pub struct Requests {
    waiting: HashMap<u16, u64>,
    results: HashMap<u64, Completion>,
    next_ticket: u64,
}

impl Requests {
    /// A token will wait for the request with `packet_id`; returns its (ticket, packet id).
    pub fn register(&mut self, packet_id: u16) -> (u64, u16) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiting.insert(packet_id, ticket);
        (ticket, packet_id)
    }

    /// True for an event that ends a publish, subscribe or unsubscribe (whether or not a token
    /// waits for it).
    pub fn ends_a_request(event: &Event) -> bool {
        matches!(
            event,
            Event::PublishComplete { .. }
                | Event::PublishFailed { .. }
                | Event::Subscribed { .. }
                | Event::Unsubscribed { .. }
        )
    }

    /// Records the outcome `event` carries, if it ends a request; true when a live token's
    /// request ended (a completion nobody holds a token for wakes nobody).
    pub fn record(&mut self, event: &Event) -> bool {
        let (packet_id, completion) = match event {
            Event::PublishComplete {
                packet_id,
                reason_code,
            } => (*packet_id, Completion::Published(*reason_code)),
            Event::PublishFailed {
                packet_id: Some(id),
                reason,
            } => (*id, Completion::Failed(reason.clone())),
            Event::Subscribed { packet_id, results } => {
                (*packet_id, Completion::Subscribed(results.clone()))
            }
            Event::Unsubscribed { packet_id, results } => {
                (*packet_id, Completion::Unsubscribed(results.clone()))
            }
            _ => return false,
        };
        match self.waiting.remove(&packet_id) {
            Some(ticket) => {
                self.results.insert(ticket, completion);
                true
            }
            None => false,
        }
    }

    /// True when the outcome of `ticket` is ready.
    pub fn is_done(&self, ticket: u64) -> bool {
        self.results.contains_key(&ticket)
    }

    /// Takes the outcome of `ticket`, if ready.
    pub fn take(&mut self, ticket: u64) -> Option<Completion> {
        self.results.remove(&ticket)
    }

    /// The token is gone: forget its request and any unread outcome. The packet id may already
    /// belong to a newer request, so only this ticket's entry is removed.
    pub fn forget(&mut self, (ticket, packet_id): (u64, u16)) {
        self.results.remove(&ticket);
        if self.waiting.get(&packet_id) == Some(&ticket) {
            self.waiting.remove(&packet_id);
        }
    }
}
