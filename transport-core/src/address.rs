//! Broker addresses: `mqtt://host:port`, `mqtts://host`, `ws://host:port/path`,
//! `wss://host/path`, `host:port` or `host`.

use crate::error::Error;

/// Where a broker listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    /// Host name or IP address (also the TLS server name).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `mqtts://` or `wss://`: connect with TLS.
    pub tls: bool,
    /// `ws://` or `wss://`: MQTT over WebSocket, with this request path (`/` when the address
    /// has none).
    pub websocket: Option<String>,
}

impl BrokerAddress {
    /// Parses an address. Schemes `mqtt://` / `tcp://` (port 1883 by default), `mqtts://` /
    /// `ssl://` (8883), `ws://` (80) and `wss://` (443); without a scheme, plain TCP. IPv6
    /// literals go in brackets (`mqtt://[::1]:1883`). A path after the host is the WebSocket
    /// request path for `ws://` / `wss://` and ignored otherwise.
    pub fn parse(address: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidAddress {
            address: address.to_string(),
            reason,
        };
        let (tls, ws, rest) = match address.split_once("://") {
            Some(("mqtt" | "tcp", rest)) => (false, false, rest),
            Some(("mqtts" | "ssl", rest)) => (true, false, rest),
            Some(("ws", rest)) => (false, true, rest),
            Some(("wss", rest)) => (true, true, rest),
            Some(_) => {
                return Err(invalid(
                    "unknown scheme (use mqtt://, mqtts://, ws:// or wss://)",
                ))
            }
            None => (false, false, address),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let default_port = match (ws, tls) {
            (false, false) => 1883,
            (false, true) => 8883,
            (true, false) => 80,
            (true, true) => 443,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| invalid("unclosed '['"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| invalid("invalid port"))?,
                None if after.is_empty() => default_port,
                None => return Err(invalid("unexpected text after ']'")),
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (
                    host.to_string(),
                    port.parse().map_err(|_| invalid("invalid port"))?,
                ),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(invalid("missing host"));
        }
        Ok(Self {
            host,
            port,
            tls,
            websocket: ws.then(|| path.to_string()),
        })
    }
}

impl BrokerAddress {
    /// `host:port`, with an IPv6 literal in brackets, as in a URL.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl core::fmt::Display for BrokerAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let scheme = match (&self.websocket, self.tls) {
            (None, false) => "mqtt",
            (None, true) => "mqtts",
            (Some(_), false) => "ws",
            (Some(_), true) => "wss",
        };
        write!(f, "{scheme}://{}", self.authority())?;
        match &self.websocket {
            Some(path) if path != "/" => write!(f, "{path}"),
            _ => Ok(()),
        }
    }
}

/// Refuses a TCP connection that is connected to itself. Connecting to a loopback port in the
/// system's ephemeral range where nothing listens can pick that very port as the connection's
/// own source port, and TCP's simultaneous open then "succeeds" (Linux): no broker is there,
/// and what the client sends would come back as the broker's answer. Called with the new
/// connection's local and peer addresses; the error reads as a refused connection.
pub fn refuse_self_connection(
    local: std::io::Result<std::net::SocketAddr>,
    peer: std::io::Result<std::net::SocketAddr>,
) -> std::io::Result<()> {
    match (local, peer) {
        (Ok(local), Ok(peer)) if local == peer => Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            format!("{peer}: the connection reached itself (nothing listens there)"),
        )),
        _ => Ok(()),
    }
}

/// True when something other than the probe itself accepts a TCP connection on
/// `127.0.0.1:port`: a probe of a port nobody listens on yet can reach itself (see
/// [`refuse_self_connection`]). How a test harness, a benchmark or `mqtt demo` knows that the
/// broker it started listens.
pub fn loopback_listening(port: u16) -> bool {
    std::net::TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, port))
        .is_ok_and(|s| refuse_self_connection(s.local_addr(), s.peer_addr()).is_ok())
}

#[cfg(test)]
mod tests {
    use super::{refuse_self_connection, BrokerAddress};

    fn parse(s: &str) -> (String, u16, bool) {
        let a = BrokerAddress::parse(s).expect(s);
        (a.host, a.port, a.tls)
    }

    #[test]
    fn schemes_and_default_ports() {
        assert_eq!(
            parse("mqtt://broker.local"),
            ("broker.local".into(), 1883, false)
        );
        assert_eq!(
            parse("mqtts://broker.local"),
            ("broker.local".into(), 8883, true)
        );
        assert_eq!(parse("ssl://h:1234"), ("h".into(), 1234, true));
        assert_eq!(parse("127.0.0.1:1884"), ("127.0.0.1".into(), 1884, false));
        assert_eq!(parse("localhost"), ("localhost".into(), 1883, false));
        assert_eq!(
            parse("mqtt://[::1]:1885/topic"),
            ("::1".into(), 1885, false)
        );
        assert_eq!(parse("mqtts://[::1]"), ("::1".into(), 8883, true));
    }

    #[test]
    fn websocket_addresses_keep_their_path() {
        let ws = |s: &str| {
            let a = BrokerAddress::parse(s).expect(s);
            (a.host, a.port, a.tls, a.websocket)
        };
        assert_eq!(
            ws("ws://broker.local/mqtt"),
            ("broker.local".into(), 80, false, Some("/mqtt".into()))
        );
        assert_eq!(
            ws("wss://broker.local:8443/a/b?x=1"),
            ("broker.local".into(), 8443, true, Some("/a/b?x=1".into()))
        );
        assert_eq!(
            ws("wss://[::1]"),
            ("::1".into(), 443, true, Some("/".into()))
        );
        assert_eq!(ws("mqtt://h/ignored").3, None);
        assert_eq!(
            BrokerAddress::parse("ws://h:8083/mqtt")
                .expect("ws")
                .to_string(),
            "ws://h:8083/mqtt"
        );
    }

    #[test]
    fn invalid_addresses() {
        for bad in [
            "http://x",
            "mqtt://",
            "mqtt://h:port",
            "mqtt://[::1",
            ":1883",
        ] {
            assert!(BrokerAddress::parse(bad).is_err(), "{bad}");
        }
    }

    /// A socket bound to the port it then connects to (no listener there) is connected to
    /// itself, as an ephemeral source port can make it by chance: refused. A connection to a
    /// listener is not.
    #[test]
    fn a_connection_to_itself_is_refused() {
        use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket.set_reuse_address(true).expect("reuse");
        socket.bind(&addr.into()).expect("bind");
        socket
            .connect(&addr.into())
            .expect("simultaneous open with itself");
        let looped = TcpStream::from(socket);
        let refused =
            refuse_self_connection(looped.local_addr(), looped.peer_addr()).expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
        let normal = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        assert!(refuse_self_connection(normal.local_addr(), normal.peer_addr()).is_ok());
    }
}
