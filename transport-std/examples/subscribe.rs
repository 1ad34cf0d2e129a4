//! Subscribes with per-topic handlers (wildcards included) and prints messages until Ctrl-C.
//!
//! `cargo run -p transport-std --example subscribe -- mqtt://127.0.0.1:1883`

use transport_std::{Client, QoS};

fn main() -> Result<(), transport_std::Error> {
    let broker = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let client = Client::builder(&broker)
        .client_id("example-subscriber")
        .build()?;
    client.subscribe("tutorial/greeting", QoS::AtLeastOnce, |m| {
        println!("greeting: {}", m.payload_str().unwrap_or("<binary>"));
    })?;
    client.subscribe("sensors/+/temperature", QoS::AtMostOnce, |m| {
        println!("temperature from {}: {:?}", m.topic(), m.payload_str());
    })?;
    client.on_message(|m| println!("other message on {}", m.topic()));
    // Foreground: runs until the connection ends for good.
    client.run()
}
