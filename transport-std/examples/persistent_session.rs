//! A persistent session: the subscriber goes offline, messages published meanwhile are kept by
//! the broker and delivered when it comes back with the same client id.
//!
//! `cargo run -p transport-std --example persistent_session -- mqtt://127.0.0.1:1883`

use std::time::Duration;

use transport_std::{Client, QoS};

fn main() -> Result<(), transport_std::Error> {
    let broker = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let wait = Duration::from_secs(5);
    let subscriber = || {
        Client::builder(&broker)
            .client_id("example-persistent")
            .clean_session(false)
            .build()
    };

    let first = subscriber()?;
    let token = first.subscribe("tutorial/offline", QoS::AtLeastOnce, |_| {})?;
    first.connect()?;
    token.wait(wait)?;
    first.disconnect(wait)?;
    println!("subscriber offline");

    let publisher = Client::builder(&broker)
        .client_id("example-persistent-pub")
        .build()?;
    publisher.connect()?;
    publisher
        .publish(
            "tutorial/offline",
            "sent while you were away",
            QoS::AtLeastOnce,
        )?
        .wait(wait)?;
    publisher.disconnect(wait)?;
    println!("published while the subscriber was offline");

    let again = subscriber()?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Registered before connecting, so the stored message is not missed.
    again.on_message(move |m| {
        let _ = tx.send(format!("{}: {}", m.topic(), m.payload_str().unwrap_or("")));
    });
    let connected = again.connect()?;
    println!(
        "back online, session present: {}",
        connected.session_present
    );
    match rx.recv_timeout(wait) {
        Ok(line) => println!("delivered on reconnect -> {line}"),
        Err(_) => println!("nothing delivered (is the broker keeping sessions?)"),
    }
    again.disconnect(wait)
}
