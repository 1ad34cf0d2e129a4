//! The publisher and subscriber of a run, on either client library.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use transport_core::{ProtocolVersion, QoS, ReconnectPolicy};

use crate::chaos::{Config, Received, Transport};

const WAIT: Duration = Duration::from_secs(60);

/// Reconnects quickly and never waits more than 2 s: faults come every few hundred ms.
fn policy() -> ReconnectPolicy {
    ReconnectPolicy {
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(2),
        stable_after: Duration::from_secs(5),
    }
}

fn version(config: &Config) -> ProtocolVersion {
    if config.version == 5 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    }
}

/// A client of either library with the suite's settings: persistent session, keep-alive 2 s
/// (a half-open link is noticed within seconds), quick reconnects.
macro_rules! chaos_client {
    ($library:ident, $url:expr, $role:expr, $tag:expr, $config:expr) => {
        $library::Client::builder($url)
            .client_id(&format!("chaos-{}-{}", $role, $tag))
            .protocol(version($config))
            .clean_session(false)
            .keep_alive(2)
            .reconnect(policy())
            .build()
            .expect("build")
    };
}

/// A connected publisher and subscriber, both with persistent sessions.
#[derive(Clone)]
pub enum Pair {
    Blocking {
        publisher: transport_std::Client,
        subscriber: transport_std::Client,
    },
    Async {
        publisher: transport_smol::Client,
        subscriber: transport_smol::Client,
    },
}

/// Connects both (the proxy is still calm) and subscribes to `chaos/#` at QoS 2.
pub fn connect(config: &Config, url: &str, tag: &str, received: Arc<Mutex<Received>>) -> Pair {
    match config.transport {
        Transport::Blocking => {
            let build = |role: &str| chaos_client!(transport_std, url, role, tag, config);
            let subscriber = build("sub");
            let token = subscriber
                .subscribe("chaos/#", QoS::ExactlyOnce, move |m| {
                    received.lock().expect("lock").record(m);
                })
                .expect("subscribe");
            subscriber.connect().expect("subscriber connects");
            token.wait(WAIT).expect("suback");
            let publisher = build("pub");
            publisher.connect().expect("publisher connects");
            Pair::Blocking {
                publisher,
                subscriber,
            }
        }
        Transport::Async => smol::block_on(async {
            let build = |role: &str| chaos_client!(transport_smol, url, role, tag, config);
            let subscriber = build("sub");
            let (token, messages) = subscriber
                .subscribe_channel("chaos/#", QoS::ExactlyOnce, 1024)
                .expect("subscribe");
            subscriber.connect().await.expect("subscriber connects");
            token.wait(WAIT).await.expect("suback");
            std::thread::spawn(move || {
                smol::block_on(async {
                    while let Ok(m) = messages.recv().await {
                        received.lock().expect("lock").record(&m);
                    }
                });
            });
            let publisher = build("pub");
            publisher.connect().await.expect("publisher connects");
            Pair::Async {
                publisher,
                subscriber,
            }
        }),
    }
}

impl Pair {
    /// Publishes `messages` numbered messages at QoS 1 (`chaos/1`) and at QoS 2 (`chaos/2`),
    /// then waits until the broker acknowledged them all (and disconnects the publisher).
    /// `before` is told each number first (the run's timeline).
    pub fn publish_all(
        &self,
        messages: u64,
        before: impl Fn(u64),
    ) -> Result<(), transport_core::Error> {
        match self {
            Self::Blocking { publisher, .. } => {
                for n in 0..messages {
                    before(n);
                    publisher.publish("chaos/1", n.to_string(), QoS::AtLeastOnce)?;
                    publisher.publish("chaos/2", n.to_string(), QoS::ExactlyOnce)?;
                }
                publisher.disconnect(WAIT)
            }
            Self::Async { publisher, .. } => smol::block_on(async {
                for n in 0..messages {
                    before(n);
                    publisher
                        .publish("chaos/1", n.to_string(), QoS::AtLeastOnce)
                        .await?;
                    publisher
                        .publish("chaos/2", n.to_string(), QoS::ExactlyOnce)
                        .await?;
                }
                publisher.disconnect(WAIT).await
            }),
        }
    }

    /// Disconnects the subscriber.
    pub fn close(&self) {
        match self {
            Self::Blocking { subscriber, .. } => {
                let _ = subscriber.disconnect(Duration::from_secs(2));
            }
            Self::Async { subscriber, .. } => {
                let _ = smol::block_on(subscriber.disconnect(Duration::from_secs(2)));
            }
        }
    }
}
