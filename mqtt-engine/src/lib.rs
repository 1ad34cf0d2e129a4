//! A sans-IO MQTT 3.1.1 / 5.0 client: a deterministic state machine that never touches a
//! socket, a clock, a thread or an executor. Bytes, time and commands go in; bytes to send,
//! events and the next deadline come out. `#![no_std]` + `alloc`.
//!
//! A whole driver over a blocking `TcpStream` (error handling trimmed):
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::Duration;
//! use mqtt_engine::{Client, Event, Options, Output, StdClock};
//! use mqtt_proto::{Publish, QoS, TopicName};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = StdClock::new();
//! let mut client = Client::new(Options::new("demo").keep_alive_secs(30), clock.now())?;
//! let mut socket = TcpStream::connect("127.0.0.1:1883")?;
//! client.connect(clock.now());
//! client.subscribe_one("demo/#", QoS::AtLeastOnce, clock.now())?;
//! let hello = Publish::new(TopicName::new("demo/hello")?, "world");
//! client.publish(hello.with_qos(QoS::AtLeastOnce), clock.now())?;
//! let mut buf = [0u8; 4096];
//! loop {
//!     let mut deadline = None;
//!     while let Some(output) = client.poll_output(clock.now()) {
//!         match output {
//!             Output::Transmit(bytes) => socket.write_all(&bytes)?,
//!             Output::Event(Event::Message(m)) => println!("{} {:?}", m.topic(), m.payload()),
//!             Output::Event(event) => println!("{event:?}"),
//!             Output::Timeout(at) => deadline = Some(at),
//!         }
//!     }
//!     let wait = deadline.map(|at| clock.to_std(at).saturating_duration_since(std::time::Instant::now()));
//!     socket.set_read_timeout(Some(wait.unwrap_or(Duration::from_secs(1)).max(Duration::from_millis(1))))?;
//!     match socket.read(&mut buf) {
//!         Ok(0) => client.connection_lost(clock.now()),
//!         Ok(n) => { let _ = client.handle_input(&buf[..n], clock.now()); }
//!         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
//!             client.handle_timeout(clock.now())
//!         }
//!         Err(_) => client.connection_lost(clock.now()),
//!     }
//! }
//! # }
//! ```
//!
//! The runnable version, with reconnects, is `examples/tcp_loop.rs`.
//!
//! What the engine does: CONNECT/CONNACK for both versions; QoS 0, 1 and 2 in both
//! directions with the session kept in a [`Store`]; in-order resend with DUP when the session is
//! resumed; an offline queue; the server's Receive Maximum, Maximum Packet Size, Maximum QoS,
//! Retain Available and Topic Alias Maximum; keep-alive; reconnect backoff with jitter; manual
//! acknowledgements; typed errors for every protocol violation.
//!
//! Flow rules a driver can rely on:
//! - **Room for publishes.** [`Client::publish`] refuses with [`Error::QueueFull`] when
//!   [`Options::max_queued`] messages wait or every packet identifier is taken (QoS 1/2 messages
//!   in flight plus queued never exceed 65,535). After such a refusal the engine emits
//!   [`Event::PublishReady`] once a publish fits again: drivers wait for that event (or ask
//!   [`Client::has_room`]) instead of retrying.
//! - **Reconnect backoff.** Delays grow exponentially (with seeded jitter) over failed attempts.
//!   A connection that was accepted and worked (the server answered anything after CONNACK, or
//!   the connection stayed up [`ReconnectPolicy::stable_after`]) resets the backoff, so a
//!   flapping but working link reconnects after the shortest delay every time. One dropped right
//!   after CONNACK with nothing answered (a broker that kicks us, e.g. for a duplicate client
//!   identifier) counts as a failed attempt: no tight loop.
//! - **Ping timeout.** After PINGREQ, the connection is lost when PINGRESP does not come
//!   within the keep-alive in effect, bounded to 1–10 s ([`Options::ping_timeout`] overrides).

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod backoff;
mod client;
mod error;
mod event;
mod id_set;
mod options;
mod store;
mod stored;
mod time;

pub use client::{Client, State};
pub use error::{Error, ProtocolError};
pub use event::{AckToken, Connected, Delivery, DisconnectReason, Event, Output, PublishFailure};
pub use id_set::IdSet;
pub use options::{Options, ReconnectPolicy};
pub use store::{MemoryStore, Outgoing, Store};
pub use stored::StoredPublish;
pub use time::Instant;
#[cfg(feature = "std")]
pub use time::StdClock;
