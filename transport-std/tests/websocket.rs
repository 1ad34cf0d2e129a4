//! MQTT over WebSocket with the blocking client, against a real rumqttd (mosquitto's Debian
//! build cannot open a WebSocket listener): QoS 0/1/2 both ways, packets larger than a
//! frame, `wss://` with certificates generated here, a persistent session resumed over
//! WebSocket, and a real HTTP server that refuses the upgrade.

mod broker;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use broker::rumqttd::Rumqttd;
use broker::{collector, free_port, wait_until, Pki, T};
use transport_std::{Client, Error, ProtocolVersion, QoS, ReasonCode, TlsConfig};

fn ws_client(url: &str, id: &str) -> Client {
    Client::builder(url)
        .client_id(id)
        .protocol(ProtocolVersion::V311) // rumqttd's WebSocket listener speaks MQTT 3.1.1
        .build()
        .expect("build")
}

#[test]
fn qos_0_1_2_both_ways_and_a_packet_larger_than_a_frame() {
    let broker = Rumqttd::start(None);
    let url = broker.ws_url("/mqtt");
    let sub = ws_client(&url, "ws-sub");
    let (got, handler) = collector();
    let token = sub
        .subscribe("ws/#", QoS::ExactlyOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect over ws://");
    assert_eq!(token.wait(T).expect("suback"), [Ok(QoS::ExactlyOnce)]);
    let publisher = ws_client(&url, "ws-pub");
    publisher.connect().expect("connect over ws://");
    let big = vec![0x5Au8; 200 * 1024];
    for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        let token = publisher
            .publish(&format!("ws/{i}"), format!("payload {i}"), qos)
            .expect("publish");
        assert_eq!(token.wait(T).expect("ack"), ReasonCode::Success);
    }
    publisher
        .publish("ws/big", big.clone(), QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    assert!(
        wait_until(T, || got.lock().expect("lock").len() == 4),
        "received {} of 4; broker log:\n{}",
        got.lock().expect("lock").len(),
        broker.log()
    );
    let got = got.lock().expect("lock");
    for i in 0..3 {
        let m = got
            .iter()
            .find(|m| m.topic() == format!("ws/{i}"))
            .expect("received");
        // rumqttd 0.20 delivers at the subscription's QoS even when the message was published
        // with less (MQTT 3.1.1 §3.8.4 says the minimum of the two): only the payload is ours
        // to check here; the QoS rules are tested against mosquitto in pubsub.rs.
        assert_eq!(m.payload_str(), Some(format!("payload {i}").as_str()));
    }
    let m = got.iter().find(|m| m.topic() == "ws/big").expect("big");
    assert_eq!(m.payload(), &big[..]);
    publisher.disconnect(T).expect("disconnect");
    sub.disconnect(T).expect("disconnect");
}

/// Our test CA as the only root, and a client certificate it signed.
fn trusting_ca_with_client_cert(pki: &Pki) -> TlsConfig {
    TlsConfig::from_pem(&pki.ca_pem)
        .expect("ca")
        .client_cert(&pki.client_cert_pem, &pki.client_key_pem)
        .expect("client cert")
}

#[test]
fn wss_verifies_the_broker_certificate() {
    let pki = Pki::generate();
    let broker = Rumqttd::start(Some(pki.broker_files(false)));
    let url = format!("wss://localhost:{}/mqtt", broker.ws_port);
    let client = Client::builder(&url)
        .client_id("wss-ok")
        .protocol(ProtocolVersion::V311)
        .tls(trusting_ca_with_client_cert(&pki))
        .build()
        .expect("build");
    let (got, handler) = collector();
    let token = client
        .subscribe("wss/echo", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    client.connect().expect("connect over wss://");
    token.wait(T).expect("suback");
    client
        .publish("wss/echo", "over TLS", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    assert!(wait_until(T, || got.lock().expect("lock").len() == 1));
    client.disconnect(T).expect("disconnect");

    // Without our CA, the webpki roots do not trust the broker: a TLS error, no connection.
    let untrusted = Client::builder(&url)
        .client_id("wss-untrusted")
        .protocol(ProtocolVersion::V311)
        .tls(
            TlsConfig::webpki_roots()
                .client_cert(&pki.client_cert_pem, &pki.client_key_pem)
                .expect("client cert"),
        )
        .build()
        .expect("build");
    match untrusted.connect() {
        Err(Error::Tls(_)) => {}
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[test]
fn wss_presents_a_client_certificate() {
    let pki = Pki::generate();
    let broker = Rumqttd::start(Some(pki.broker_files(true)));
    let url = format!("wss://localhost:{}/mqtt", broker.ws_port);
    let with_cert = Client::builder(&url)
        .client_id("wss-client-cert")
        .protocol(ProtocolVersion::V311)
        .tls(trusting_ca_with_client_cert(&pki))
        .build()
        .expect("build");
    with_cert
        .connect()
        .expect("connect with a client certificate");
    with_cert
        .publish("wss/cert", "signed", QoS::AtLeastOnce)
        .expect("publish")
        .wait(T)
        .expect("ack");
    with_cert.disconnect(T).expect("disconnect");
    let without = Client::builder(&url)
        .client_id("wss-no-cert")
        .protocol(ProtocolVersion::V311)
        .tls(TlsConfig::from_pem(&pki.ca_pem).expect("ca"))
        .build()
        .expect("build");
    assert!(
        without.connect().is_err(),
        "the broker requires a client certificate"
    );
}

#[test]
fn a_persistent_session_resumes_over_websocket() {
    let broker = Rumqttd::start(None);
    let url = broker.ws_url("/mqtt");
    let options = |id: &str| {
        Client::builder(&url)
            .client_id(id)
            .protocol(ProtocolVersion::V311)
            .clean_session(false)
    };
    let first = options("ws-persistent").build().expect("build");
    let (_, handler) = collector();
    let token = first
        .subscribe("resume/#", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    first.connect().expect("connect");
    token.wait(T).expect("suback");
    first.disconnect(T).expect("disconnect");

    let publisher = ws_client(&url, "ws-resume-pub");
    publisher.connect().expect("connect");
    for i in 0..5 {
        publisher
            .publish(
                &format!("resume/{i}"),
                format!("stored {i}"),
                QoS::AtLeastOnce,
            )
            .expect("publish")
            .wait(T)
            .expect("ack");
    }
    // The handler is registered before connecting: nothing stored for us is lost.
    let again = options("ws-persistent").build().expect("build");
    let (got, handler) = collector();
    again
        .subscribe("resume/#", QoS::AtLeastOnce, handler)
        .expect("handler");
    let connected = again.connect().expect("reconnect");
    assert!(connected.session_present, "the broker kept the session");
    assert!(
        wait_until(T, || got.lock().expect("lock").len() >= 5),
        "received {} of 5 stored messages",
        got.lock().expect("lock").len()
    );
}

/// Python's own HTTP server: a real server that answers the upgrade request with 404.
struct HttpServer(Child, u16);

impl HttpServer {
    fn start() -> Option<Self> {
        let port = free_port();
        // HTTP/1.1, as a WebSocket upgrade requires; 404 for every path we ask for.
        let script = format!(
            "import http.server as h\n\
             h.test(HandlerClass=h.SimpleHTTPRequestHandler, protocol='HTTP/1.1', \
             port={port}, bind='127.0.0.1')"
        );
        let child = Command::new("python3")
            .args(["-c", &script])
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Self(child, port);
        wait_until(T, || transport_core::loopback_listening(port)).then_some(server)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_refused_upgrade_is_a_typed_error() {
    let Some(http) = HttpServer::start() else {
        panic!("python3 is needed for this test (an HTTP server that refuses the upgrade)");
    };
    let url = format!("ws://127.0.0.1:{}/no-such-endpoint", http.1);
    let client = ws_client(&url, "refused");
    match client.connect() {
        Err(Error::WebSocketRefused { status: 404, .. }) => {}
        other => panic!("expected WebSocketRefused 404, got {other:?}"),
    }

    // A listener that is not a WebSocket server at all (it closes at once).
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in listener.incoming().take(1) {
            drop(s);
        }
    });
    let client = ws_client(&format!("ws://127.0.0.1:{port}/"), "closed");
    assert!(client.connect().is_err());
}

#[test]
fn a_connection_cut_mid_stream_loses_nothing() {
    const COUNT: usize = 2_000;
    let broker = Rumqttd::start(None);
    let proxy = broker::Proxy::start(broker.ws_port);
    let sub = ws_client(&broker.ws_url("/mqtt"), "cut-sub");
    let (got, handler) = collector();
    let token = sub
        .subscribe("cut/#", QoS::AtLeastOnce, handler)
        .expect("subscribe");
    sub.connect().expect("connect");
    token.wait(T).expect("suback");
    let publisher = Client::builder(&format!("ws://127.0.0.1:{}/mqtt", proxy.port))
        .client_id("cut-pub")
        .protocol(ProtocolVersion::V311)
        .clean_session(false)
        .build()
        .expect("build");
    let events = publisher.events(4096);
    publisher.connect().expect("connect");
    let mut tokens = std::collections::VecDeque::new();
    for i in 0..COUNT {
        if i == COUNT / 3 || i == 2 * COUNT / 3 {
            // Once the connection carries traffic (the message published 100 before this one
            // is acknowledged), every WebSocket through the proxy is closed.
            while tokens.len() > 100 {
                let t: transport_std::PublishToken = tokens.pop_front().expect("token");
                if tokens.len() == 100 {
                    t.wait(T).expect("acknowledged before the cut");
                }
            }
            proxy.cut();
        }
        let token = publisher
            .publish("cut/x", format!("{i}"), QoS::AtLeastOnce)
            .expect("publish");
        tokens.push_back(token);
    }
    let distinct = || {
        got.lock()
            .expect("lock")
            .iter()
            .map(|m| m.payload_str().unwrap_or_default().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert!(
        wait_until(Duration::from_secs(30), || distinct() == COUNT),
        "distinct messages received after two cuts: {}",
        distinct()
    );
    let connections = events
        .try_iter()
        .filter(|e| matches!(e, transport_std::Event::Connected(_)))
        .count();
    assert!(
        connections >= 3,
        "the cuts closed the WebSocket: {connections} connections"
    );
}

#[test]
fn an_upgrade_without_the_mqtt_sub_protocol_is_a_typed_error() {
    // A WebSocket server that answers the upgrade but does not accept `mqtt`.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let _ = tungstenite::accept(stream);
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    let client = ws_client(&format!("ws://127.0.0.1:{port}/mqtt"), "no-subprotocol");
    match client.connect() {
        Err(Error::WebSocket(why)) => assert!(why.contains("sub-protocol"), "{why}"),
        other => panic!("expected Error::WebSocket, got {other:?}"),
    }
}

#[test]
#[allow(clippy::result_large_err)] // the callback's signature is tungstenite's
fn a_text_frame_from_the_server_ends_the_connection_with_a_typed_error() {
    // A peer that completes the upgrade (accepting `mqtt`) and then sends a text frame, which
    // MQTT never does: not a broker, the one misbehaviour no real broker shows on demand.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let accept_mqtt =
            |_: &tungstenite::handshake::server::Request,
             mut response: tungstenite::handshake::server::Response| {
                response
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", "mqtt".parse().expect("header"));
                Ok(response)
            };
        let Ok(mut ws) = tungstenite::accept_hdr(stream, accept_mqtt) else {
            return;
        };
        let _ = ws.read(); // the CONNECT
        let _ = ws.send(tungstenite::Message::Text("not MQTT".into()));
        std::thread::sleep(Duration::from_secs(2));
    });
    let client = Client::builder(&format!("ws://127.0.0.1:{port}/mqtt"))
        .client_id("text-frame")
        .protocol(ProtocolVersion::V311)
        .build()
        .expect("build");
    let error = client
        .connect()
        .expect_err("a text frame is a protocol error");
    assert!(
        error.to_string().contains("text frame"),
        "the error names the text frame: {error}"
    );
}
