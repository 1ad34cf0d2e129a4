//! [`Builder`]: every option of a [`Client`] (the shared [`Settings`] of `transport-core`),
//! checked when it is built.

use std::sync::{Arc, Condvar, Mutex};

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
}

impl Builder {
    transport_core::forward_setters!();

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
        };
        Ok(Client {
            shared: Arc::new(shared),
        })
    }
}
