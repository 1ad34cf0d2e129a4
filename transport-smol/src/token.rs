//! Futures that wait for the broker's answer to one request.

use std::sync::Arc;
use std::time::Duration;

use mqtt_proto::{QoS, ReasonCode};
use transport_core::{Completion, Error};

use crate::client::{lock, Client, Shared};

/// The token of a subscribe: per filter, the granted QoS or the refusal code.
pub type SubscribeToken = Token<Vec<Result<QoS, ReasonCode>>>;

/// Resolves when the broker acknowledges one request: `token.wait().await`.
pub struct Token<T> {
    shared: Arc<Shared>,
    ticket: Option<(u64, u16)>,
    kind: core::marker::PhantomData<fn() -> T>,
}

impl<T> Token<T> {
    pub(crate) fn new(shared: Arc<Shared>, ticket: Option<(u64, u16)>) -> Self {
        Self {
            shared,
            ticket,
            kind: core::marker::PhantomData,
        }
    }

    /// The packet identifier (`None` for QoS 0).
    pub fn packet_id(&self) -> Option<u16> {
        self.ticket.map(|(_, id)| id)
    }

    async fn completion(&self, timeout: Duration) -> Result<Option<Completion>, Error> {
        let Some((ticket, _)) = self.ticket else {
            return Ok(None);
        };
        let client = Client {
            shared: self.shared.clone(),
        };
        client
            .wait_for(timeout, |inner| {
                if let Some(done) = inner.status.requests.take(ticket) {
                    return Some(Ok(Some(done)));
                }
                inner.status.fatal.as_ref().map(|e| Err(e.duplicate()))
            })
            .await
    }
}

impl Token<ReasonCode> {
    /// Waits for PUBACK / PUBCOMP and returns the broker's reason code.
    pub async fn wait(&self, timeout: Duration) -> Result<ReasonCode, Error> {
        match self.completion(timeout).await? {
            Some(Completion::Published(code)) => Ok(code),
            Some(Completion::Failed(reason)) => Err(Error::PublishFailed(reason)),
            _ => Ok(ReasonCode::Success),
        }
    }
}

impl Token<Vec<Result<QoS, ReasonCode>>> {
    /// Waits for SUBACK.
    pub async fn wait(&self, timeout: Duration) -> Result<Vec<Result<QoS, ReasonCode>>, Error> {
        match self.completion(timeout).await? {
            Some(Completion::Subscribed(r)) => Ok(r),
            _ => Ok(Vec::new()),
        }
    }
}

impl Token<Vec<ReasonCode>> {
    /// Waits for UNSUBACK.
    pub async fn wait(&self, timeout: Duration) -> Result<Vec<ReasonCode>, Error> {
        match self.completion(timeout).await? {
            Some(Completion::Unsubscribed(r)) => Ok(r),
            _ => Ok(Vec::new()),
        }
    }
}

impl<T> Drop for Token<T> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            lock(&self.shared.inner).status.requests.forget(ticket);
        }
    }
}
