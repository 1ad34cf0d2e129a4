//! A real rumqttd (the Rust broker) per test, for what mosquitto's Debian build cannot serve:
//! MQTT over WebSocket. Started on free loopback ports with a configuration written to a
//! temporary directory; `./scripts/test.sh` installs the binary (`cargo install rumqttd`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, TempDir, TlsFiles};

fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("RUMQTTD") {
        return PathBuf::from(p);
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let installed = home.join("bin").join("rumqttd");
    if installed.exists() {
        return installed;
    }
    panic!("rumqttd not found: these tests need it (run ./scripts/test.sh, which installs it with `cargo install rumqttd`)");
}

/// rumqttd with a WebSocket listener (`ws_port`, TLS when `tls` is given, client certificates
/// then required) and a plain MQTT 3.1.1 listener (`tcp_port`) next to it.
pub struct Rumqttd {
    child: Child,
    pub ws_port: u16,
    pub tcp_port: u16,
    pub dir: TempDir,
}

fn connections(out: &mut String, section: &str) {
    let _ = writeln!(out, "[{section}.connections]");
    let _ = writeln!(out, "connection_timeout_ms = 60000");
    let _ = writeln!(out, "max_client_id_len = 256");
    let _ = writeln!(out, "throttle_delay_ms = 0");
    let _ = writeln!(out, "max_payload_size = 1048576");
    let _ = writeln!(out, "max_inflight_count = 500");
    let _ = writeln!(out, "max_inflight_size = 1024");
    let _ = writeln!(out, "dynamic_filters = true");
}

impl Rumqttd {
    pub fn start(tls: Option<TlsFiles>) -> Self {
        // As with mosquitto (`Broker::start`), another process may bind a port between
        // `free_port` and rumqttd; rumqttd then logs the error and keeps running, and a probe
        // would reach the other process: start it again on other ports.
        for _ in 0..5 {
            let (ws_port, tcp_port) = (free_port(), free_port());
            let broker = Self::launch(tls.as_ref(), ws_port, tcp_port);
            if !broker.log().contains("AddrInUse") {
                return broker;
            }
        }
        panic!("rumqttd could not bind its ports five times");
    }

    fn launch(tls: Option<&TlsFiles>, ws_port: u16, tcp_port: u16) -> Self {
        let dir = TempDir::new("rumqttd");
        let mut conf = String::new();
        let _ = writeln!(conf, "id = 0");
        let _ = writeln!(conf, "[router]");
        let _ = writeln!(conf, "id = 0");
        let _ = writeln!(conf, "max_connections = 1000");
        let _ = writeln!(conf, "max_outgoing_packet_count = 200");
        let _ = writeln!(conf, "max_segment_size = 104857600");
        let _ = writeln!(conf, "max_segment_count = 10");
        let _ = writeln!(conf, "[v4.1]");
        let _ = writeln!(conf, "name = \"v4-1\"");
        let _ = writeln!(conf, "listen = \"127.0.0.1:{tcp_port}\"");
        let _ = writeln!(conf, "next_connection_delay_ms = 1");
        connections(&mut conf, "v4.1");
        let _ = writeln!(conf, "[ws.1]");
        let _ = writeln!(conf, "name = \"ws-1\"");
        let _ = writeln!(conf, "listen = \"127.0.0.1:{ws_port}\"");
        let _ = writeln!(conf, "next_connection_delay_ms = 1");
        if let Some(tls) = tls {
            let _ = writeln!(conf, "[ws.1.tls]");
            let _ = writeln!(conf, "certpath = {:?}", tls.cert.display().to_string());
            let _ = writeln!(conf, "keypath = {:?}", tls.key.display().to_string());
            // Built with `verify-client-cert` (scripts/test.sh), rumqttd always asks clients
            // for a certificate signed by this CA.
            let _ = writeln!(conf, "capath = {:?}", tls.ca.display().to_string());
        }
        connections(&mut conf, "ws.1");
        let path = dir.path("rumqttd.toml");
        std::fs::write(&path, conf).expect("write config");
        let log = std::fs::File::create(dir.path("rumqttd.log")).expect("log file");
        let child = Command::new(binary())
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("rumqttd starts");
        let mut broker = Self {
            child,
            ws_port,
            tcp_port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while [ws_port, tcp_port]
            .iter()
            .any(|p| !transport_core::loopback_listening(*p))
        {
            if let Ok(Some(status)) = broker.child.try_wait() {
                panic!("rumqttd exited with {status}; log:\n{}", broker.log());
            }
            assert!(
                Instant::now() < deadline,
                "rumqttd did not open its ports: {}",
                broker.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("rumqttd.log")).unwrap_or_default()
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.ws_port)
    }

    pub fn tcp_url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.tcp_port)
    }
}

impl Drop for Rumqttd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
