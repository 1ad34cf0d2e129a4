//! Tokens that wait for the broker's answer to one request.

use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use mqtt_proto::{QoS, ReasonCode};

use crate::client::{lock, Shared};
use transport_core::Completion;
use transport_core::Error;

/// Waits for the completion of one request.
pub(crate) struct Token {
    pub(crate) shared: Arc<Shared>,
    /// Ticket and packet id of the request (none for QoS 0).
    pub(crate) ticket: Option<(u64, u16)>,
}

impl Token {
    fn wait(&self, timeout: Duration) -> Result<Option<Completion>, Error> {
        let Some((ticket, _)) = self.ticket else {
            return Ok(None);
        };
        let deadline = StdInstant::now() + timeout;
        let mut inner = lock(&self.shared.inner);
        if inner.driver_thread == Some(std::thread::current().id())
            && !inner.status.requests.is_done(ticket)
        {
            return Err(Error::WaitInHandler);
        }
        loop {
            if let Some(done) = inner.status.requests.take(ticket) {
                return Ok(Some(done));
            }
            if let Some(e) = &inner.status.fatal {
                return Err(e.duplicate());
            }
            if inner.stopping {
                return Err(Error::ShutDown);
            }
            let left = deadline.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Err(Error::Timeout);
            }
            inner = crate::client::wait_changed(&self.shared, inner, left);
        }
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            lock(&self.shared.inner).status.requests.forget(ticket);
        }
    }
}

/// The pending outcome of a publish.
pub struct PublishToken {
    pub(crate) token: Token,
    pub(crate) packet_id: Option<u16>,
}

impl PublishToken {
    /// The packet identifier (`None` for QoS 0).
    pub fn packet_id(&self) -> Option<u16> {
        self.packet_id
    }

    /// True once the outcome is known (at once for QoS 0): [`PublishToken::wait`] then
    /// returns without waiting. For pipelining: publish many, reap the finished ones.
    pub fn is_done(&self) -> bool {
        self.token.ticket.is_none_or(|(ticket, _)| {
            lock(&self.token.shared.inner)
                .status
                .requests
                .is_done(ticket)
        })
    }

    /// Waits for PUBACK (QoS 1) or PUBCOMP (QoS 2) and returns the broker's reason code
    /// (MQTT 3.1.1: `Success`). QoS 0 returns at once. Must not be called from a handler.
    pub fn wait(&self, timeout: Duration) -> Result<ReasonCode, Error> {
        match self.token.wait(timeout)? {
            None | Some(Completion::Subscribed(_) | Completion::Unsubscribed(_)) => {
                Ok(ReasonCode::Success)
            }
            Some(Completion::Published(code)) => Ok(code),
            Some(Completion::Failed(reason)) => Err(Error::PublishFailed(reason)),
        }
    }
}

/// The pending outcome of a subscribe.
pub struct SubscribeToken {
    pub(crate) token: Token,
}

impl SubscribeToken {
    /// Waits for SUBACK: per filter, the QoS granted or the refusal code.
    pub fn wait(&self, timeout: Duration) -> Result<Vec<Result<QoS, ReasonCode>>, Error> {
        match self.token.wait(timeout)? {
            Some(Completion::Subscribed(results)) => Ok(results),
            _ => Ok(Vec::new()),
        }
    }
}

/// The pending outcome of an unsubscribe.
pub struct UnsubscribeToken {
    pub(crate) token: Token,
}

impl UnsubscribeToken {
    /// Waits for UNSUBACK.
    pub fn wait(&self, timeout: Duration) -> Result<Vec<ReasonCode>, Error> {
        match self.token.wait(timeout)? {
            Some(Completion::Unsubscribed(results)) => Ok(results),
            _ => Ok(Vec::new()),
        }
    }
}
