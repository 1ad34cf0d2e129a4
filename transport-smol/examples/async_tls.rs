//! Bring your own TLS stream: the async client over `async-tls` instead of the built-in
//! futures-rustls. Any `AsyncRead + AsyncWrite` stream plugs in the same way.
//!
//! `cargo run -p transport-smol --example async_tls -- localhost:8883 ca.pem`

use std::sync::Arc;
use std::time::Duration;

use transport_smol::{BoxStream, BrokerAddress, Client, QoS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "localhost:8883".into());
    let ca_path = args.next().unwrap_or_else(|| "ca.pem".into());
    let mut roots = rustls021::RootCertStore::empty();
    let pem = std::fs::read(&ca_path)?;
    for cert in rustls_pemfile1::certs(&mut pem.as_slice())? {
        roots.add(&rustls021::Certificate(cert))?;
    }
    let config = rustls021::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = async_tls::TlsConnector::from(Arc::new(config));
    let client = Client::builder(&format!("mqtt://{address}"))
        .connector(Arc::new(move |address: BrokerAddress| {
            let tls = tls.clone();
            Box::pin(async move {
                let tcp =
                    smol::net::TcpStream::connect((address.host.as_str(), address.port)).await?;
                Ok(Box::new(tls.connect(&address.host, tcp).await?) as BoxStream)
            })
        }))
        .build()?;
    smol::block_on(async {
        client.connect().await?;
        client
            .publish("hello", "over async-tls", QoS::AtLeastOnce)
            .await?
            .wait(Duration::from_secs(5))
            .await?;
        println!("published over async-tls");
        client.disconnect(Duration::from_secs(5)).await
    })?;
    Ok(())
}
