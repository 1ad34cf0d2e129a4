//! The whole driving loop over a blocking `TcpStream`, with automatic reconnect: publishes a
//! counter every second on `demo/counter` and prints what arrives on `demo/#`.
//!
//! `cargo run -p mqtt-engine --example tcp_loop -- 127.0.0.1:1883 [count]`

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mqtt_engine::{Client, Event, Options, Output, State, StdClock};
use mqtt_proto::{Publish, QoS, TopicName};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:1883".into());
    let count: u32 = std::env::args().nth(2).map_or(Ok(5), |c| c.parse())?;
    let clock = StdClock::new();
    let mut client = Client::new(
        Options::new("tcp-loop-example").keep_alive_secs(5),
        clock.now(),
    )?;
    // Subscribing before connecting: sent right after CONNACK, so nothing is missed.
    client.subscribe_one("demo/#", QoS::AtLeastOnce, clock.now())?;
    let (mut socket, mut sent, mut received) = (None::<TcpStream>, 0, 0);
    let mut next_publish = clock.now();
    while received < count {
        // Open a transport when the engine wants one.
        if socket.is_none() && matches!(client.state(), State::Idle | State::ReconnectDue) {
            match TcpStream::connect(&addr) {
                Ok(s) => {
                    s.set_read_timeout(Some(Duration::from_millis(50)))?;
                    socket = Some(s);
                    client.connect(clock.now());
                }
                Err(e) => {
                    eprintln!("connect to {addr}: {e}");
                    client.connection_lost(clock.now()); // schedules the next attempt
                }
            }
        }
        if client.is_connected() && clock.now() >= next_publish && sent < count {
            sent += 1;
            let counter = Publish::new(TopicName::new("demo/counter")?, sent.to_string());
            client.publish(counter.with_qos(QoS::AtLeastOnce), clock.now())?;
            next_publish = clock.now() + Duration::from_secs(1);
        }
        // One door out.
        while let Some(output) = client.poll_output(clock.now()) {
            match output {
                Output::Transmit(bytes) => {
                    if let Some(Err(_)) = socket.as_mut().map(|s| s.write_all(&bytes)) {
                        socket = None;
                        client.connection_lost(clock.now());
                    }
                }
                Output::Event(Event::Message(m)) => {
                    received += 1;
                    println!(
                        "received {} = {}",
                        m.topic(),
                        String::from_utf8_lossy(m.payload())
                    );
                }
                Output::Event(Event::Disconnected(reason)) => {
                    println!("disconnected: {reason:?}");
                    socket = None;
                }
                Output::Event(event) => println!("{event:?}"),
                Output::Timeout(_) => {} // the 50 ms read timeout wakes us often enough
            }
        }
        // Doors in: bytes, loss, time.
        let mut buf = [0u8; 4096];
        match socket.as_mut().map(|s| s.read(&mut buf)) {
            Some(Ok(0)) => {
                socket = None;
                client.connection_lost(clock.now());
            }
            Some(Ok(n)) => {
                let _ = client.handle_input(&buf[..n], clock.now());
            }
            Some(Err(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Some(Err(_)) => {
                socket = None;
                client.connection_lost(clock.now());
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
        client.handle_timeout(clock.now());
    }
    client.disconnect(clock.now());
    while let Some(output) = client.poll_output(clock.now()) {
        if let (Output::Transmit(bytes), Some(s)) = (output, socket.as_mut()) {
            s.write_all(&bytes)?;
        }
    }
    Ok(())
}
