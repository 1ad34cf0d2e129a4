//! [`Builder`]: every option of a [`Client`] (the shared [`Settings`] of `transport-core`),
//! checked when it is built.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use transport_core::{Error, Settings, Status};

use crate::client::{Client, Inner, Shared};
use crate::router::Router;

/// Builds a [`Client`].
///
/// ```no_run
/// use transport_std::{Client, QoS};
/// let client = Client::builder("mqtt://127.0.0.1:1883")
///     .client_id("sensor-1")
///     .clean_session(false)
///     .credentials("user", "pass")
///     .build()?;
/// client.subscribe("cmd/#", QoS::AtLeastOnce, |msg| println!("{} {:?}", msg.topic(), msg.payload()))?;
/// client.start_background()?;
/// client.publish("data", r#"{"value":42}"#, QoS::AtLeastOnce)?;
/// # Ok::<(), transport_std::Error>(())
/// ```
#[derive(Debug)]
pub struct Builder {
    pub(crate) settings: Settings,
    pub(crate) gather: Duration,
}

impl Builder {
    transport_core::forward_setters!();

    /// How long, under load, the connection's reading thread gathers what it has to send
    /// (acknowledgements, and publishes they release from the in-flight window) before it
    /// writes them in one system call: bytes produced within this window after its last write
    /// wait for the window to pass or for the next bytes from the broker. Default 25 µs,
    /// which on the end-to-end benchmark halved the client's CPU per QoS 1 message (see the
    /// README); `Duration::ZERO` writes each at once. Plain TCP on Linux; TLS and WebSocket
    /// connections gather in their writer thread instead.
    #[must_use]
    pub fn write_gathering(mut self, window: Duration) -> Self {
        self.gather = window;
        self
    }

    /// Validates the settings and creates the client (nothing is connected yet).
    pub fn build(self) -> Result<Client, Error> {
        let resolved = self.settings.resolve()?;
        let inner = Inner {
            engine: resolved.engine,
            conn: None,
            status: Status::default(),
            running: false,
            stopping: false,
            driver_thread: None,
            background: None,
            events_tx: None,
            waiters: 0,
            wire: Vec::new(),
        };
        let shared = Shared {
            inner: Mutex::new(inner),
            changed: Condvar::new(),
            router: Mutex::new(Router::default()),
            backlog: Arc::default(),
            clock: resolved.clock,
            config: resolved.endpoint,
            gather: self.gather,
        };
        Ok(Client {
            shared: Arc::new(shared),
        })
    }
}
