//! [`Builder`]: every option of an async [`Client`] (the shared [`Settings`] of
//! `transport-core`), plus the stream [`Connector`], checked when it is built.

use std::sync::{Arc, Mutex};

use event_listener::Event as Signal;
use transport_core::{Error, Settings, Status};

use crate::client::{Client, Connector, Inner, Shared};

/// Builds a [`Client`].
///
/// ```no_run
/// use transport_smol::{Client, QoS};
/// let client = Client::builder("mqtt://127.0.0.1:1883")
///     .client_id("sensor-1")
///     .clean_session(false)
///     .credentials("user", "pass")
///     .build()?;
/// # Ok::<(), transport_smol::Error>(())
/// ```
pub struct Builder {
    pub(crate) settings: Settings,
    pub(crate) connector: Option<Connector>,
}

impl Builder {
    transport_core::forward_setters!();

    /// Opens connections with `connector` instead of TCP/TLS: bring your own stream (a TLS
    /// library of your choice, a proxy, a socket pair in tests…).
    #[must_use]
    pub fn connector(mut self, connector: Connector) -> Self {
        self.connector = Some(connector);
        self
    }

    /// Validates the settings and creates the client (nothing is connected yet).
    pub fn build(self) -> Result<Client, Error> {
        let resolved = self.settings.resolve()?;
        let inner = Inner {
            engine: resolved.engine,
            outbox: Vec::new(),
            status: Status::default(),
            running: false,
            stopping: false,
            routes: Vec::new(),
            messages_tx: None,
            events_tx: None,
            unrouted: Vec::new(),
        };
        let shared = Shared {
            inner: Mutex::new(inner),
            wake_driver: crate::nudge::Nudge::default(),
            changed: Signal::new(),
            room: Signal::new(),
            clock: resolved.clock,
            config: resolved.endpoint,
            connector: self.connector,
        };
        Ok(Client {
            shared: Arc::new(shared),
        })
    }
}
