//! JSON payloads with serde: a sensor reading published and decoded by a handler.
//!
//! `cargo run -p transport-std --example json -- mqtt://127.0.0.1:1883`

use std::time::Duration;

use serde::{Deserialize, Serialize};
use transport_std::{Client, QoS};

#[derive(Debug, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    value: f64,
    unit: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let broker = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let client = Client::builder(&broker).client_id("example-json").build()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let token = client.subscribe("tutorial/readings/#", QoS::AtLeastOnce, move |m| {
        match serde_json::from_slice::<Reading>(m.payload()) {
            Ok(reading) => {
                let _ = tx.send(reading);
            }
            Err(e) => eprintln!("not a reading on {}: {e}", m.topic()),
        }
    })?;
    client.connect()?;
    token.wait(Duration::from_secs(5))?;
    let reading = Reading {
        sensor: "kitchen".into(),
        value: 21.5,
        unit: "°C".into(),
    };
    client
        .publish(
            "tutorial/readings/kitchen",
            serde_json::to_vec(&reading)?,
            QoS::AtLeastOnce,
        )?
        .wait(Duration::from_secs(5))?;
    println!("sent {}", serde_json::to_string(&reading)?);
    println!("received {:?}", rx.recv_timeout(Duration::from_secs(5))?);
    client.disconnect(Duration::from_secs(5))?;
    Ok(())
}
