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

#[cfg(test)]
mod tests {
    use super::BrokerAddress;

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
}
