//! Turning connection flags into a client, and errors into one line and an exit code.

use std::process::ExitCode;
use std::time::Duration;

use transport_std::{BrokerAddress, Client, Error, QoS, ReasonCode, TlsConfig};

use crate::args::Connection;

/// A failure the CLI reports: one line on stderr and an exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            code: 5,
            message: message.into(),
        }
    }

    pub fn exit(self) -> ExitCode {
        eprintln!("mqtt: {}", self.message);
        ExitCode::from(self.code)
    }
}

/// Describes a library error for a person, with the exit code that goes with it.
pub fn failure(error: &Error, target: &str) -> Failure {
    match error {
        Error::ConnectionRefused(code) => Failure {
            code: 3,
            message: format!("connection refused by {target}: {}", refusal(*code)),
        },
        Error::Tls(e) => Failure {
            code: 4,
            message: format!("TLS failure with {target}: {e}"),
        },
        Error::Certificate(e) => Failure {
            code: 4,
            message: format!("TLS configuration: {e}"),
        },
        Error::Timeout => Failure {
            code: 5,
            message: format!("timed out talking to {target}"),
        },
        Error::ConnectTimeout(cause) => Failure {
            code: 5,
            message: format!("timed out connecting to {target}: {cause}"),
        },
        Error::Engine(e @ mqtt_engine::Error::EmptyClientIdWithSession) => Failure {
            code: 2,
            message: format!("{e}: give -i ID, or drop -c"),
        },
        Error::Io(e) => Failure {
            code: 1,
            message: format!("cannot connect to {target}: {e}"),
        },
        other => Failure {
            code: 1,
            message: other.to_string(),
        },
    }
}

fn refusal(code: ReasonCode) -> &'static str {
    match code {
        ReasonCode::BadUserNameOrPassword => "bad user name or password",
        ReasonCode::NotAuthorized => "not authorized (bad user name or password?)",
        ReasonCode::ClientIdentifierNotValid => "client identifier not valid",
        ReasonCode::ServerUnavailable => "server unavailable",
        ReasonCode::ServerBusy => "server busy",
        ReasonCode::Banned => "banned",
        ReasonCode::UnsupportedProtocolVersion => "unsupported protocol version (try -V 311)",
        ReasonCode::BadAuthenticationMethod => "bad authentication method",
        _ => "refused",
    }
}

pub fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Parts of an `mqtt[s]://` or `ws[s]://` `[user[:pass]@]host[:port]/path` URL (the path is
/// the topic; the WebSocket path comes from `--ws-path`).
pub struct Url {
    pub address: BrokerAddress,
    pub user: Option<(String, Option<String>)>,
    pub path: Option<String>,
}

pub fn parse_url(url: &str) -> Result<Url, Failure> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Failure::usage(format!("not a URL: {url}")))?;
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, (!p.is_empty()).then(|| p.to_string())),
        None => (rest, None),
    };
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => {
            let user = match u.split_once(':') {
                Some((name, pass)) => (name.to_string(), Some(pass.to_string())),
                None => (u.to_string(), None),
            };
            (Some(user), h)
        }
        None => (None, authority),
    };
    let address = BrokerAddress::parse(&format!("{scheme}://{hostport}"))
        .map_err(|e| Failure::usage(e.to_string()))?;
    Ok(Url {
        address,
        user,
        path,
    })
}

/// The WebSocket path and upgrade headers of the flags.
fn websocket(
    mut builder: transport_std::Builder,
    conn: &Connection,
) -> Result<transport_std::Builder, Failure> {
    builder = builder.ws_path(&conn.ws_path);
    for header in &conn.ws_headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("--ws-header {header:?}: use 'Name: value'")))?;
        builder = builder.ws_header(name.trim(), value.trim());
    }
    Ok(builder)
}

/// The client for these flags (and URL, which overrides host, port and credentials).
pub fn build(conn: &Connection, url: Option<&Url>) -> Result<(Client, String), Failure> {
    let wants_tls = conn.tls || conn.cafile.is_some() || conn.cert.is_some() || conn.insecure;
    let address = match url {
        Some(u) => u.address.clone(),
        None => BrokerAddress {
            host: conn.host.clone(),
            port: conn.port.unwrap_or(if wants_tls { 8883 } else { 1883 }),
            tls: wants_tls,
            websocket: None,
        },
    };
    let tls = address.tls || wants_tls;
    let target = format!("{}:{}", address.host, address.port);
    // The flags may ask for TLS on an `mqtt://` / `ws://` URL.
    let address = BrokerAddress { tls, ..address };
    let mut builder = Client::builder(&address.to_string())
        .protocol(conn.protocol_version.into())
        .keep_alive(conn.keepalive)
        .clean_session(!conn.disable_clean_session)
        .connect_timeout(Duration::from_secs(10))
        .options(|o| o.max_incoming_packet_size(conn.max_packet_size));
    if conn.disable_clean_session && conn.id.is_none() {
        return Err(Failure::usage(
            "-c (persistent session) needs a client id (-i)",
        ));
    }
    if let Some(id) = &conn.id {
        builder = builder.client_id(id);
    }
    if let Some(us) = conn.write_gathering {
        builder = builder.write_gathering(Duration::from_micros(us));
    }
    if address.websocket.is_some() {
        builder = websocket(builder, conn)?;
    }
    let credentials = match url.and_then(|u| u.user.clone()) {
        Some((user, pass)) => Some((user, pass.or_else(|| conn.password.clone()))),
        None => conn.username.clone().map(|u| (u, conn.password.clone())),
    };
    if let Some((user, pass)) = credentials {
        builder = match pass {
            Some(p) => builder.credentials(&user, p),
            None => builder.options(|o| o.username(user.as_str())),
        };
    } else if conn.password.is_some() {
        return Err(Failure::usage("-P needs -u"));
    }
    if let Some(topic) = &conn.will_topic {
        builder = builder.last_will(
            topic,
            conn.will_payload.as_str(),
            qos(conn.will_qos),
            conn.will_retain,
        );
    }
    if conn.no_reconnect {
        builder = builder.no_reconnect();
    }
    if tls {
        let mut config = match &conn.cafile {
            Some(path) => TlsConfig::from_pem_file(path).map_err(|e| failure(&e, &target))?,
            None => TlsConfig::webpki_roots(),
        };
        match (&conn.cert, &conn.key) {
            (Some(cert), Some(key)) => {
                config = config
                    .client_cert_files(cert, key)
                    .map_err(|e| failure(&e, &target))?
            }
            (None, None) => {}
            _ => return Err(Failure::usage("--cert and --key go together")),
        }
        if conn.insecure {
            eprintln!("mqtt: WARNING: --insecure: the broker's certificate is NOT verified; anyone on the network path can impersonate it");
            config = config.danger_accept_any_certificate();
        }
        builder = builder.tls(config);
    }
    let client = builder.build().map_err(|e| failure(&e, &target))?;
    crate::logger::install(conn.debug);
    if conn.debug {
        let events = client.events(1024);
        std::thread::spawn(move || {
            for event in events {
                if !matches!(event, transport_std::Event::Message(_)) {
                    eprintln!("mqtt: {event:?}");
                }
            }
        });
    }
    Ok((client, target))
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls_with_credentials_and_topics() {
        let u = parse_url("mqtts://alice:secret@broker.example:8884/sensors/+/temp").expect("url");
        assert_eq!(
            (u.address.host.as_str(), u.address.port, u.address.tls),
            ("broker.example", 8884, true)
        );
        assert_eq!(u.user, Some(("alice".into(), Some("secret".into()))));
        assert_eq!(u.path.as_deref(), Some("sensors/+/temp"));
        let u = parse_url("mqtt://localhost/").expect("url");
        assert_eq!((u.address.port, u.path), (1883, None));
        assert!(parse_url("localhost:1883").is_err());
    }
}
