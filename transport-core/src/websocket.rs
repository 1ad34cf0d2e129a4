//! MQTT over WebSocket (MQTT 5.0 §6, 3.1.1 §6), the runtime-neutral parts: the upgrade request
//! and what its failures mean. Framing is tungstenite's; each transport carries the MQTT byte
//! stream in binary messages over its own socket.

use tungstenite::handshake::client::Request;
use tungstenite::http::{HeaderName, HeaderValue};

use crate::address::BrokerAddress;
use crate::error::Error;

/// The sub-protocol MQTT asks for and the server must accept [MQTT-6.0.0-3], [MQTT-6.0.0-4].
pub const SUBPROTOCOL: &str = "mqtt";

/// The upgrade request for `address` (a `ws://` / `wss://` address): its path, the `mqtt`
/// sub-protocol and the application's extra `headers`.
pub fn upgrade_request(
    address: &BrokerAddress,
    headers: &[(String, String)],
) -> Result<Request, Error> {
    use tungstenite::client::IntoClientRequest;
    let scheme = if address.tls { "wss" } else { "ws" };
    let path = address.websocket.as_deref().unwrap_or("/");
    let url = format!("{scheme}://{}{path}", address.authority());
    let invalid = |reason| Error::InvalidAddress {
        address: url.clone(),
        reason,
    };
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|_| invalid("not a valid WebSocket URL"))?;
    let fields = request.headers_mut();
    fields.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid("invalid WebSocket header name"))?;
        let value =
            HeaderValue::from_str(value).map_err(|_| invalid("invalid WebSocket header value"))?;
        fields.append(name, value);
    }
    Ok(request)
}

/// The typed error for a failed upgrade or a broken WebSocket connection.
pub fn error(e: tungstenite::Error) -> Error {
    use tungstenite::error::ProtocolError;
    match e {
        tungstenite::Error::Io(e) => Error::Io(e),
        tungstenite::Error::Http(response) => Error::WebSocketRefused {
            status: response.status().as_u16(),
            reason: response
                .status()
                .canonical_reason()
                .unwrap_or_default()
                .to_string(),
        },
        tungstenite::Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(_)) => {
            Error::WebSocket(format!(
                "the server did not accept the {SUBPROTOCOL:?} sub-protocol"
            ))
        }
        other => Error::WebSocket(other.to_string()),
    }
}

/// A broken WebSocket connection as an error of a transport's byte stream: I/O errors keep
/// their kind; anything else is `InvalidData` carrying the text of [`error`].
pub fn io_error(e: tungstenite::Error) -> std::io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, error(other).to_string()),
    }
}

/// The stream error for a text frame, which MQTT never sends [MQTT-6.0.0-1].
pub fn text_frame() -> std::io::Error {
    let e = Error::WebSocket("the server sent a text frame (MQTT uses binary frames)".into());
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_asks_for_mqtt_and_carries_the_extra_headers() {
        let address = BrokerAddress::parse("wss://broker.example:8443/mqtt?x=1").expect("url");
        let headers = [("Authorization".to_string(), "Bearer abc".to_string())];
        let request = upgrade_request(&address, &headers).expect("request");
        assert_eq!(
            request.uri().to_string(),
            "wss://broker.example:8443/mqtt?x=1"
        );
        let h = request.headers();
        assert_eq!(h["Sec-WebSocket-Protocol"], "mqtt");
        assert_eq!(h["Authorization"], "Bearer abc");
        assert!(h.contains_key("Sec-WebSocket-Key"));
        let bad = [("Bad Name".to_string(), "v".to_string())];
        assert!(matches!(
            upgrade_request(&address, &bad),
            Err(Error::InvalidAddress { .. })
        ));
    }
}
