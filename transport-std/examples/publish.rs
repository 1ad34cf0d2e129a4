//! Publishes a few messages at each QoS and waits for the broker's acknowledgements.
//!
//! `cargo run -p transport-std --example publish -- mqtt://127.0.0.1:1883`

use std::time::Duration;

use transport_std::{Client, QoS};

fn main() -> Result<(), transport_std::Error> {
    let broker = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let client = Client::builder(&broker)
        .client_id("example-publisher")
        .build()?;
    client.connect()?;
    for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        let token = client.publish("tutorial/greeting", format!("hello #{i} at {qos:?}"), qos)?;
        let outcome = token.wait(Duration::from_secs(5))?;
        println!("published at {qos:?}: {outcome:?}");
    }
    client.disconnect(Duration::from_secs(5))
}
