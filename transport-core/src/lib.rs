//! The runtime-neutral base of the MQTT transports: what is not a loop over a socket.
//! `transport-std` (blocking) and `transport-smol` (async) both stand on it, and neither on the
//! other. It holds the client [`Settings`] (one set of builder options for both), broker
//! addresses, TLS configuration, the crash-safe [`SessionStore`], received [`Message`]s,
//! request tracking ([`Requests`]), connection bookkeeping ([`Status`]), the rules both
//! drivers' outboxes follow ([`outbox`]) and the [`Error`] type.
//!
//! ```
//! use transport_core::{BrokerAddress, QoS, Settings};
//!
//! let address = BrokerAddress::parse("mqtts://broker.example")?;
//! assert_eq!((address.port, address.tls), (8883, true));
//!
//! // What a transport's builder does with its settings:
//! let resolved = Settings::new("mqtt://127.0.0.1:1883")
//!     .client_id("sensor-1")
//!     .clean_session(false)
//!     .last_will("status/sensor-1", "offline", QoS::AtLeastOnce, true)
//!     .resolve()?;
//! assert_eq!(resolved.engine.options().client_id(), "sensor-1");
//! assert!(resolved.endpoint.tls.is_none());
//! # Ok::<(), transport_core::Error>(())
//! ```
//!
//! Logging: connection life-cycle (connecting, connected with session present, lost with the
//! reason, reconnect scheduled with delay and attempt), protocol errors and TLS failures go to
//! the [`log`](https://docs.rs/log) facade under the `mqtt:` prefix; nothing is printed unless
//! the application installs a logger. Payloads and passwords are never logged.

#![forbid(unsafe_code)]

mod address;
mod error;
mod message;
pub mod outbox;
mod requests;
mod settings;
mod status;
mod store;
mod tls;
pub mod websocket;

pub use address::{loopback_listening, refuse_self_connection, BrokerAddress};
pub use error::Error;
pub use message::{IntoPayload, Message};
pub use requests::{Completion, Requests};
pub use settings::{Endpoint, Engine, Resolved, Settings};
pub use status::{describe, wakes_waiters, Status, DROPPED_LOG_TARGET};
pub use store::SessionStore;
pub use tls::TlsConfig;

pub use mqtt_engine::{
    Connected, DisconnectReason, Event, Options, PublishFailure, ReconnectPolicy,
};
pub use mqtt_proto::{
    ProtocolVersion, Publish, QoS, ReasonCode, Subscription, SubscriptionOptions, TopicFilter,
    TopicName,
};
