//! What handlers receive, and what `publish` accepts as a payload.

use bytes::Bytes;
use mqtt_engine::{AckToken, Delivery};
use mqtt_proto::{PublishProperties, QoS};

/// A received application message. Topic and payload share the received buffer (no copy).
#[derive(Debug, Clone)]
pub struct Message {
    delivery: Delivery,
}

impl Message {
    /// Topic name.
    pub fn topic(&self) -> &str {
        self.delivery.topic()
    }

    /// Payload bytes.
    pub fn payload(&self) -> &[u8] {
        self.delivery.payload()
    }

    /// Payload as `Bytes` (cheap to clone and keep).
    pub fn payload_bytes(&self) -> Bytes {
        self.delivery.payload().clone()
    }

    /// Payload as text, if it is UTF-8.
    pub fn payload_str(&self) -> Option<&str> {
        core::str::from_utf8(self.payload()).ok()
    }

    /// QoS it was delivered with (at most the subscription's maximum).
    pub fn qos(&self) -> QoS {
        self.delivery.qos()
    }

    /// RETAIN flag: a retained message sent when subscribing.
    pub fn retain(&self) -> bool {
        self.delivery.retain()
    }

    /// DUP flag: the server may have sent it before.
    pub fn dup(&self) -> bool {
        self.delivery.publish.dup
    }

    /// MQTT 5 properties (content type, correlation data, user properties…).
    pub fn properties(&self) -> &PublishProperties {
        &self.delivery.publish.properties
    }

    /// Manual-ack mode: the token the client's `ack` takes.
    pub fn ack_token(&self) -> Option<AckToken> {
        self.delivery.ack_token()
    }

    /// The engine's delivery.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }
}

impl From<Delivery> for Message {
    fn from(delivery: Delivery) -> Self {
        Self { delivery }
    }
}

/// Anything usable as a payload: `&str`, `String`, `&[u8]`, `Vec<u8>`, `Bytes`.
pub trait IntoPayload {
    /// The bytes.
    fn into_payload(self) -> Bytes;
}

impl IntoPayload for Bytes {
    fn into_payload(self) -> Bytes {
        self
    }
}

impl IntoPayload for Vec<u8> {
    fn into_payload(self) -> Bytes {
        Bytes::from(self)
    }
}

impl IntoPayload for String {
    fn into_payload(self) -> Bytes {
        Bytes::from(self)
    }
}

impl IntoPayload for &str {
    fn into_payload(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

impl IntoPayload for &String {
    fn into_payload(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

impl IntoPayload for &[u8] {
    fn into_payload(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl<const N: usize> IntoPayload for &[u8; N] {
    fn into_payload(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}
