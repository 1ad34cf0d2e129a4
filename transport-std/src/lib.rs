//! A blocking MQTT 3.1.1 / 5.0 client over TCP or TLS (rustls), driven by the sans-IO
//! [`mqtt_engine`]. Per-topic handlers, a background thread that does not keep the program
//! alive, automatic reconnect, QoS 0/1/2, and a crash-safe session file.
//!
//! ```no_run
//! use std::time::Duration;
//! use transport_std::{Client, QoS};
//!
//! let client = Client::builder("mqtt://127.0.0.1:1883").client_id("sensor-1").clean_session(false).build()?;
//! // Registered before connecting: nothing stored for the session is missed.
//! client.subscribe("cmd/#", QoS::AtLeastOnce, |msg| println!("{} {:?}", msg.topic(), msg.payload_str()))?;
//! client.start_background()?;
//! let token = client.publish("data", r#"{"value":42}"#, QoS::AtLeastOnce)?;
//! token.wait(Duration::from_secs(5))?; // PUBACK received
//! client.disconnect(Duration::from_secs(5))?;
//! # Ok::<(), transport_std::Error>(())
//! ```
//!
//! The full client: [`Client::events`] yields every engine [`Event`] (connection changes,
//! acknowledgements, messages), and [`Builder::manual_acks`] lets the application acknowledge
//! each message with [`Client::ack`].

#![forbid(unsafe_code)]

mod builder;
mod client;
mod connection;
mod driver;
mod link;
mod router;
mod token;
mod ws;

pub use builder::Builder;
pub use client::Client;
pub use token::{PublishToken, SubscribeToken, UnsubscribeToken};
pub use transport_core::{BrokerAddress, Error, IntoPayload, Message, SessionStore, TlsConfig};

pub use mqtt_engine::{Connected, DisconnectReason, Event, PublishFailure, ReconnectPolicy};
pub use mqtt_proto::{
    ProtocolVersion, Publish, QoS, ReasonCode, Subscription, SubscriptionOptions, TopicFilter,
    TopicName,
};
