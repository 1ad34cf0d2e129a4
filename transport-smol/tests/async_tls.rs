//! Any `AsyncRead + AsyncWrite` stream works: the async client over an `async-tls` stream (a
//! TLS library of its own, on rustls 0.21) to a mosquitto TLS listener with certificates
//! generated at test time, publishing and receiving at QoS 1.

#[path = "../../transport-std/tests/broker/mod.rs"]
mod broker;

use std::sync::Arc;

use broker::{Broker, BrokerConfig, Pki, T};
use transport_smol::{BoxStream, BrokerAddress, Client, Connector, QoS};

/// A connector that opens TCP, then TLS with async-tls, trusting `ca_pem` only.
fn async_tls_connector(ca_pem: &str) -> Connector {
    let mut roots = rustls021::RootCertStore::empty();
    let mut reader = std::io::BufReader::new(ca_pem.as_bytes());
    for cert in rustls_pemfile1::certs(&mut reader).expect("CA PEM") {
        roots
            .add(&rustls021::Certificate(cert))
            .expect("CA certificate");
    }
    let config = rustls021::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = async_tls::TlsConnector::from(Arc::new(config));
    Arc::new(move |address: BrokerAddress| {
        let connector = connector.clone();
        Box::pin(async move {
            let tcp = smol::net::TcpStream::connect((address.host.as_str(), address.port)).await?;
            let tls = connector.connect(&address.host, tcp).await?;
            Ok(Box::new(tls) as BoxStream)
        })
    })
}

#[test]
fn qos1_both_ways_over_an_async_tls_stream() {
    let pki = Pki::generate();
    let broker = Broker::start(BrokerConfig {
        tls: Some(pki.broker_files(false)),
        ..Default::default()
    });
    // The address names the certificate's host; TLS comes from the connector, not `mqtts://`.
    let url = format!("mqtt://localhost:{}", broker.port);
    smol::block_on(async {
        let client = Client::builder(&url)
            .client_id("async-tls")
            .connector(async_tls_connector(&pki.ca_pem))
            .build()
            .expect("build");
        let (subscribed, messages) = client
            .subscribe_channel("atls/#", QoS::AtLeastOnce, 16)
            .expect("subscribe");
        client.connect().await.expect("connect over async-tls");
        assert_eq!(
            subscribed.wait(T).await.expect("suback"),
            [Ok(QoS::AtLeastOnce)]
        );
        let code = client
            .publish("atls/1", "over async-tls", QoS::AtLeastOnce)
            .await
            .expect("publish")
            .wait(T)
            .await
            .expect("puback");
        assert!(code.is_success());
        let message = smol::future::or(async { messages.recv().await.ok() }, async {
            smol::Timer::after(T).await;
            None
        })
        .await
        .expect("message back over async-tls");
        assert_eq!(message.payload_str(), Some("over async-tls"));
        assert_eq!(message.qos(), QoS::AtLeastOnce);
        client.disconnect(T).await.expect("disconnect");
    });
    assert!(
        broker.log().contains("async-tls"),
        "the broker saw the client over its TLS listener"
    );
}
