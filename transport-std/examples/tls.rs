//! Connects over TLS. With only an address, the bundled Mozilla roots are trusted; pass a CA
//! file for a private broker, and a client certificate and key if the broker asks for one.
//!
//! `cargo run -p transport-std --example tls -- mqtts://test.mosquitto.org:8883`
//! `cargo run -p transport-std --example tls -- mqtts://localhost:8883 ca.pem [client.pem client.key]`

use std::time::Duration;

use transport_std::{Client, QoS, TlsConfig};

fn main() -> Result<(), transport_std::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let broker = args
        .first()
        .cloned()
        .unwrap_or_else(|| "mqtts://localhost:8883".into());
    let mut tls = match args.get(1) {
        Some(ca) => TlsConfig::from_pem_file(ca)?,
        None => TlsConfig::webpki_roots(),
    };
    if let (Some(cert), Some(key)) = (args.get(2), args.get(3)) {
        tls = tls.client_cert_files(cert, key)?;
    }
    let client = Client::builder(&broker).tls(tls).build()?;
    let connected = client.connect()?;
    println!("connected over TLS as {}", connected.client_id);
    client
        .publish("tutorial/tls", "encrypted hello", QoS::AtLeastOnce)?
        .wait(Duration::from_secs(5))?;
    println!("published over TLS");
    client.disconnect(Duration::from_secs(5))
}
