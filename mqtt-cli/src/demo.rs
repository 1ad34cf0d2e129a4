//! `mqtt demo`: the tutorial end to end, printed as a transcript.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use transport_std::{Client, Message, QoS};

use crate::args::DemoArgs;
use crate::connect::{parse_url, Failure};
use crate::demo_broker::DemoBroker;

const WAIT: Duration = Duration::from_secs(10);

/// The broker the demo talks to, stopped on drop when the demo started it.
struct LocalBroker {
    child: Option<Child>,
    dir: Option<PathBuf>,
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(d) = self.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn find_mosquitto() -> Option<PathBuf> {
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
        "/opt/homebrew/sbin/mosquitto",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn free_port() -> Result<u16, Failure> {
    let l =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::other(e.to_string()))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Failure::other(e.to_string()))
}

/// Starts a local broker: the system mosquitto when installed, else the built-in one.
fn local_broker(builtin: bool) -> Result<(String, LocalBroker), Failure> {
    if let Some(mosquitto) = find_mosquitto().filter(|_| !builtin) {
        let dir = std::env::temp_dir().join(format!("mqtt-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Failure::other(e.to_string()))?;
        // The port is free when `free_port` looks, not necessarily when mosquitto binds it
        // (another process may take it meanwhile): mosquitto then exits, and another port is
        // tried. Its log says when it runs, so the demo never talks to another process.
        for _ in 0..3 {
            let port = free_port()?;
            if let Some(broker) = start_mosquitto(&mosquitto, &dir, port)? {
                println!(
                    "broker: the system mosquitto ({}) on 127.0.0.1:{port}",
                    mosquitto.display()
                );
                return Ok((format!("mqtt://127.0.0.1:{port}"), broker));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        return Err(Failure::other("mosquitto did not start"));
    }
    let demo = DemoBroker::start()
        .map_err(|e| Failure::other(format!("starting the built-in broker: {e}")))?;
    println!(
        "broker: no mosquitto installed, so the built-in demo broker (a minimal in-process broker, \
         for this demo only) on 127.0.0.1:{}",
        demo.port
    );
    Ok((
        format!("mqtt://127.0.0.1:{}", demo.port),
        LocalBroker {
            child: None,
            dir: None,
        },
    ))
}

/// mosquitto on `port`, once its log (in `dir`) says it runs and a connection reaches it;
/// `None` when it exits first (the port was taken).
fn start_mosquitto(
    mosquitto: &std::path::Path,
    dir: &std::path::Path,
    port: u16,
) -> Result<Option<LocalBroker>, Failure> {
    let conf = dir.join("mosquitto.conf");
    let log = dir.join("mosquitto.log");
    let _ = std::fs::remove_file(&log);
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\nlog_dest file {}\n",
            log.display()
        ),
    )
    .map_err(|e| Failure::other(e.to_string()))?;
    let child = Command::new(mosquitto)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Failure::other(format!("starting {}: {e}", mosquitto.display())))?;
    let mut broker = LocalBroker {
        child: Some(child),
        dir: None,
    };
    for _ in 0..250 {
        let runs = std::fs::read_to_string(&log).is_ok_and(|l| l.contains(" running"));
        if runs && transport_core::loopback_listening(port) {
            broker.dir = Some(dir.to_path_buf());
            return Ok(Some(broker));
        }
        if let Some(Ok(Some(_))) = broker.child.as_mut().map(Child::try_wait) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    broker.dir = Some(dir.to_path_buf());
    Err(Failure::other("mosquitto did not start"))
}

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

fn fail(what: &str) -> Failure {
    Failure::other(format!("demo step failed: {what}"))
}

#[allow(clippy::too_many_lines)] // the tutorial's steps, in order, read top to bottom
pub fn run(args: &DemoArgs) -> Result<(), Failure> {
    println!("mqtt demo: the tutorial, end to end");
    let (url, _broker) = match &args.host {
        Some(host) if host.contains("://") => {
            let url = parse_url(host)?;
            let mut address = url.address;
            if address.websocket.is_some() {
                // In the demo the URL's path is the WebSocket path, not a topic.
                address.websocket = Some(format!("/{}", url.path.unwrap_or_default()));
            }
            (address.to_string(), None)
        }
        Some(host) => (format!("mqtt://{host}:{}", args.port.unwrap_or(1883)), None),
        None => {
            let (url, broker) = local_broker(args.builtin_broker)?;
            (url, Some(broker))
        }
    };
    let version = args.protocol_version.into();
    let run_id = std::process::id();
    let sub_id = format!("demo-subscriber-{run_id}");
    let prefix = format!("demo/{run_id}");
    let error = |e: transport_std::Error| Failure::other(format!("{e}"));

    step(1, &format!("subscriber {sub_id} connects with a persistent session and a handler on {prefix}/sensors/#"));
    let (tx, rx) = mpsc::channel::<Message>();
    let subscriber = Client::builder(&url)
        .protocol(version)
        .client_id(&sub_id)
        .clean_session(false)
        .build()
        .map_err(error)?;
    let handler_tx = tx.clone();
    let token = subscriber
        .subscribe(&format!("{prefix}/sensors/#"), QoS::AtLeastOnce, move |m| {
            let _ = handler_tx.send(m.clone());
        })
        .map_err(error)?;
    let connected = subscriber.connect().map_err(error)?;
    println!(
        "    connected to {url} (session present: {})",
        connected.session_present
    );
    println!("    SUBACK: {:?}", token.wait(WAIT).map_err(error)?);

    step(2, "a publisher sends {\"value\":42} as JSON at QoS 1");
    let publisher = Client::builder(&url)
        .protocol(version)
        .client_id(&format!("demo-publisher-{run_id}"))
        .build()
        .map_err(error)?;
    publisher.connect().map_err(error)?;
    let reading = serde_json::json!({ "value": 42 });
    let ack = publisher
        .publish(
            &format!("{prefix}/sensors/kitchen"),
            reading.to_string(),
            QoS::AtLeastOnce,
        )
        .map_err(error)?
        .wait(WAIT)
        .map_err(error)?;
    println!("    PUBACK: {ack:?}");
    let m = rx
        .recv_timeout(WAIT)
        .map_err(|_| fail("the subscriber did not receive the JSON message"))?;
    let value: serde_json::Value =
        serde_json::from_slice(m.payload()).map_err(|_| fail("payload is not JSON"))?;
    println!(
        "    subscriber received on {}: {value} (value = {})",
        m.topic(),
        value["value"]
    );

    step(
        3,
        "the subscriber goes offline; a QoS 1 message is published meanwhile",
    );
    subscriber.disconnect(WAIT).map_err(error)?;
    println!("    subscriber disconnected (its session stays on the broker)");
    let offline_text = "stored while you were offline";
    publisher
        .publish(
            &format!("{prefix}/sensors/door"),
            offline_text,
            QoS::AtLeastOnce,
        )
        .map_err(error)?
        .wait(WAIT)
        .map_err(error)?;
    println!("    published {offline_text:?} to {prefix}/sensors/door; the broker keeps it for the session");

    step(4, "the subscriber comes back with the same client id; its handler is registered before connecting");
    let again = Client::builder(&url)
        .protocol(version)
        .client_id(&sub_id)
        .clean_session(false)
        .build()
        .map_err(error)?;
    let again_tx = tx.clone();
    again.on_message(move |m| {
        let _ = again_tx.send(m.clone());
    });
    let connected = again.connect().map_err(error)?;
    println!(
        "    reconnected (session present: {})",
        connected.session_present
    );
    let m = rx
        .recv_timeout(WAIT)
        .map_err(|_| fail("the message stored while offline was not delivered"))?;
    println!(
        "    offline message delivered on reconnect: {:?} on {} (QoS {})",
        m.payload_str().unwrap_or(""),
        m.topic(),
        m.qos() as u8
    );

    step(
        5,
        "max_qos: a subscription with maximum QoS 1 receives a QoS 2 publication at QoS 1",
    );
    let down_tx = tx;
    let token = again
        .subscribe(&format!("{prefix}/downgrade"), QoS::AtLeastOnce, move |m| {
            let _ = down_tx.send(m.clone());
        })
        .map_err(error)?;
    println!("    SUBACK: {:?}", token.wait(WAIT).map_err(error)?);
    publisher
        .publish(
            &format!("{prefix}/downgrade"),
            "sent at QoS 2",
            QoS::ExactlyOnce,
        )
        .map_err(error)?
        .wait(WAIT)
        .map_err(error)?;
    let m = rx
        .recv_timeout(WAIT)
        .map_err(|_| fail("the downgraded message did not arrive"))?;
    println!(
        "    published at QoS 2, delivered at QoS {} (the subscription's maximum)",
        m.qos() as u8
    );

    // Leave nothing behind on the broker.
    let cleanup = Client::builder(&url)
        .protocol(version)
        .client_id(&sub_id)
        .clean_session(true)
        .build()
        .map_err(error)?;
    again.disconnect(WAIT).map_err(error)?;
    let _ = cleanup.connect();
    let _ = cleanup.disconnect(WAIT);
    publisher.disconnect(WAIT).map_err(error)?;
    println!("\ndemo complete: JSON publish, persistent session with offline delivery, max_qos downgrade");
    Ok(())
}
