//! Publishing rate with the session file: `cargo run --release -p transport-std --example
//! persist_rate -- mqtt://127.0.0.1:1883 20000 1` (address, messages, QoS). Prints messages
//! per second until every acknowledgement arrived.

use std::time::{Duration, Instant};

use transport_std::{Client, QoS};

fn main() -> Result<(), transport_std::Error> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let count: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let qos = match args.next().as_deref() {
        Some("2") => QoS::ExactlyOnce,
        _ => QoS::AtLeastOnce,
    };
    let file = std::env::temp_dir().join(format!("persist-rate-{}.log", std::process::id()));
    let client = Client::builder(&url)
        .client_id("persist-rate")
        .clean_session(false)
        .persistence(&file)
        .build()?;
    client.connect()?;
    let started = Instant::now();
    for n in 0..count {
        client.publish("persist/rate", n.to_string(), qos)?;
    }
    client.disconnect(Duration::from_secs(60))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{count} messages at QoS {qos:?} with a session file: {:.0} msg/s ({seconds:.2} s)",
        f64::from(count) / seconds
    );
    let _ = std::fs::remove_file(file);
    Ok(())
}
