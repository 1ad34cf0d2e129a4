//! [`Status`]: what a driver knows about its connection beyond the engine — requests waited
//! for, the current connection, the last failure and the error that stopped the client — and
//! the rules that turn engine events and transport failures into it. Both transports keep one
//! behind their lock; waiters read it.

use std::io;

use mqtt_engine::{Connected, DisconnectReason, Event};

use crate::address::BrokerAddress;
use crate::error::Error;
use crate::requests::Requests;

/// The `log` target of the warning for each message the client drops (a message over the
/// maximum packet size, acknowledged and skipped): an application can show these without the
/// rest of the client's log (`mqtt sub` prints them on stderr).
pub const DROPPED_LOG_TARGET: &str = "transport_core::dropped";

/// Connection bookkeeping shared by the drivers.
#[derive(Debug, Default)]
pub struct Status {
    /// Requests tokens wait for, and their outcomes.
    pub requests: Requests,
    /// The current connection's CONNACK, while connected.
    pub connected: Option<Connected>,
    /// Why the client stopped for good (bad credentials, untrusted certificate, a first
    /// connection that cannot be made…).
    pub fatal: Option<Error>,
    /// The cause of the last failure, for messages and timeouts.
    pub last_error: Option<String>,
    /// A CONNACK accepted us once: failures from now on are reconnects.
    pub ever_connected: bool,
    /// Connection attempts so far.
    pub attempts: u32,
    /// Index (modulo the number of addresses) of the address to try next.
    pub address_index: usize,
}

impl Status {
    /// The address for the next connection attempt (counted).
    pub fn next_address<'a>(&mut self, addresses: &'a [BrokerAddress]) -> &'a BrokerAddress {
        self.attempts += 1;
        let address = &addresses[self.address_index % addresses.len()];
        log::debug!("mqtt: connecting to {address} (attempt {})", self.attempts);
        address
    }

    /// Opening a connection to `address` failed. The next attempt goes to the next address;
    /// a TLS failure, and a first connection with `first_fails`, stop the client with `error`.
    pub fn open_failed(&mut self, address: &BrokerAddress, error: Error, first_fails: bool) {
        self.last_error = Some(format!("{address}: {error}"));
        self.address_index += 1;
        if matches!(error, Error::Tls(_) | Error::Certificate(_)) {
            log::error!("mqtt: TLS failure with {address}: {error}");
            // A certificate does not fix itself: stop and say why.
            self.fatal.get_or_insert(error);
        } else if first_fails {
            log::error!("mqtt: cannot connect to {address}: {error}");
            // The first connection cannot be made: say why now, not after retrying.
            self.fatal.get_or_insert(match error {
                Error::Io(e) => Error::Io(io::Error::new(e.kind(), format!("{address}: {e}"))),
                other => other,
            });
        } else {
            log::warn!("mqtt: cannot connect to {address}: {error}");
        }
    }

    /// Bookkeeping for one engine event; true if waiters should look again. With
    /// `first_fails` a failure stops the client with its cause.
    pub fn record(&mut self, event: &Event, first_fails: bool) -> bool {
        if Requests::ends_a_request(event) {
            return self.requests.record(event);
        }
        match event {
            // The engine has room for a publish again: waiting publishers go on.
            Event::PublishReady => {}
            Event::Connected(c) => {
                log::info!(
                    "mqtt: connected as {:?} (session present: {})",
                    c.client_id.as_str(),
                    c.session_present
                );
                self.connected = Some((**c).clone());
                self.last_error = None;
                self.ever_connected = true;
            }
            Event::Disconnected(reason) => {
                self.connected = None;
                // The driver's own account of a closed transport says more than the engine's.
                if !matches!(reason, DisconnectReason::TransportClosed) || self.last_error.is_none()
                {
                    self.last_error = Some(describe(reason));
                }
                let why = self.last_error.clone().unwrap_or_default();
                match reason {
                    DisconnectReason::Requested => log::info!("mqtt: disconnected"),
                    DisconnectReason::ProtocolError(e) => {
                        log::error!("mqtt: the broker broke the protocol: {e}");
                    }
                    _ => log::warn!("mqtt: connection lost: {why}"),
                }
                if first_fails && !matches!(reason, DisconnectReason::Requested) {
                    self.fatal.get_or_insert(match reason {
                        DisconnectReason::ConnectTimeout => Error::ConnectTimeout(why),
                        _ => Error::Io(io::Error::new(io::ErrorKind::ConnectionAborted, why)),
                    });
                }
            }
            Event::ConnectionRefused {
                reason_code,
                will_retry,
                ..
            } => {
                log::error!("mqtt: connection refused by the broker: {reason_code:?}");
                self.last_error = Some(format!("connection refused: {reason_code:?}"));
                if !will_retry || first_fails {
                    self.fatal
                        .get_or_insert(Error::ConnectionRefused(*reason_code));
                }
            }
            Event::MessageTooLarge {
                topic, size, qos, ..
            } => {
                log::warn!(
                    target: DROPPED_LOG_TARGET,
                    "mqtt: a {qos:?} message of {size} bytes on {:?} is over the maximum packet size: acknowledged and dropped",
                    topic.as_str()
                );
                return false;
            }
            Event::ReconnectScheduled { delay, attempt, .. } => {
                // A client that just stopped for good does not reconnect.
                if self.fatal.is_none() {
                    log::info!("mqtt: reconnecting in {delay:?} (attempt {attempt})");
                }
                return false;
            }
            _ => return false,
        }
        true
    }

    /// The error of a wait for a connection that timed out: the cause of the last failure.
    pub fn connect_timeout(&self) -> Error {
        Error::ConnectTimeout(
            self.last_error
                .clone()
                .unwrap_or_else(|| "no answer from the broker".into()),
        )
    }

    /// The error of a client that stopped because the connection was lost for good (no
    /// reconnect).
    pub fn lost(&self) -> Error {
        Error::Io(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            self.last_error
                .clone()
                .unwrap_or_else(|| "connection closed".into()),
        ))
    }
}

/// True when, after events, the engine's state may let a waiting caller go on: a publisher
/// that waits for room (an eighth of the queue free again, see
/// [`Client::has_room_to_resume`](mqtt_engine::Client::has_room_to_resume)) or a disconnect
/// that waits for the session to drain. Completions wake only the tokens waiting for them
/// ([`Status::record`]), so a publisher at a full queue sleeps through a batch of
/// acknowledgements instead of waking for each. The blocking client wakes its threads by this
/// rule, and so does the async client for its publishers waiting for room.
pub fn wakes_waiters<S: mqtt_engine::Store>(engine: &mqtt_engine::Client<S>) -> bool {
    engine.is_idle() || engine.has_room_to_resume(mqtt_proto::QoS::AtMostOnce)
}

/// A disconnect reason, for a person.
pub fn describe(reason: &DisconnectReason) -> String {
    match reason {
        DisconnectReason::ServerDisconnect {
            reason_code,
            reason_string,
        } => format!(
            "disconnected by the broker: {reason_code:?} {}",
            reason_string.as_ref().map_or("", |s| s.as_str())
        )
        .trim_end()
        .to_string(),
        DisconnectReason::ConnectTimeout => "no CONNACK from the broker in time".into(),
        DisconnectReason::PingTimeout => "no PINGRESP from the broker in time".into(),
        DisconnectReason::TransportClosed => "the connection closed".into(),
        DisconnectReason::Requested => "disconnected on request".into(),
        DisconnectReason::ProtocolError(e) => format!("protocol error: {e}"),
    }
}
