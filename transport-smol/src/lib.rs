//! An async MQTT 3.1.1 / 5.0 client on [smol](https://docs.rs/smol), driven by the sans-IO
//! [`mqtt_engine`]. TCP and TLS (rustls via `futures-rustls`) out of the box, or any
//! `AsyncRead + AsyncWrite` stream through [`Builder::connector`].
//!
//! ```no_run
//! use std::time::Duration;
//! use transport_smol::{Client, QoS};
//!
//! smol::block_on(async {
//!     let client = Client::builder("mqtt://127.0.0.1:1883").client_id("async-1").build()?;
//!     let (subscribed, messages) = client.subscribe_channel("cmd/#", QoS::AtLeastOnce, 64)?;
//!     client.connect().await?;
//!     subscribed.wait(Duration::from_secs(5)).await?;
//!     client.publish("data", r#"{"value":42}"#, QoS::AtLeastOnce).await?.wait(Duration::from_secs(5)).await?;
//!     if let Ok(m) = messages.recv().await {
//!         println!("{} {:?}", m.topic(), m.payload_str());
//!     }
//!     client.disconnect(Duration::from_secs(5)).await
//! })?;
//! # Ok::<(), transport_smol::Error>(())
//! ```
//!
//! The connection runs in [`Client::run`] (or a detached smol task: [`Client::start`],
//! [`Client::connect`]); reconnects follow the engine's backoff. Shares its vocabulary
//! (settings, addresses, TLS settings, messages, errors, session file) with `transport-std`:
//! both stand on `transport-core`, neither on the other.

#![forbid(unsafe_code)]

mod builder;
mod client;
mod driver;
mod nudge;
mod tcp;
mod token;
mod ws;

pub use builder::Builder;
pub use client::{BoxStream, Client, Connector, Payload, Stream};
pub use mqtt_engine::{Connected, DisconnectReason, Event, ReconnectPolicy};
pub use mqtt_proto::{
    ProtocolVersion, Publish, QoS, ReasonCode, Subscription, TopicFilter, TopicName,
};
pub use token::{SubscribeToken, Token};
pub use transport_core::{BrokerAddress, Error, IntoPayload, Message, SessionStore, TlsConfig};
