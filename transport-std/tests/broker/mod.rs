//! Test harness: a real `mosquitto` per test on a free loopback port, configured from a
//! temporary directory; TLS material generated at test time; a TCP proxy that can stall or
//! cut connections.

#![allow(dead_code, clippy::needless_pass_by_value)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod fault_proxy;
pub mod rumqttd;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("mqtt-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port nobody listens on, never the same twice in this process: tests run in
/// parallel threads, and the system may hand a port just released to the next caller (two
/// brokers of concurrent tests would then race for it).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut given = GIVEN.lock().expect("lock");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

fn mosquitto_binary() -> PathBuf {
    for candidate in [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v mosquitto"])
        .output()
    {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !p.is_empty() {
            return PathBuf::from(p);
        }
    }
    panic!("mosquitto not found: these tests need the Debian package `mosquitto` (run ./scripts/test.sh, which installs it)");
}

/// TLS files for a broker listener.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub require_client_cert: bool,
}

#[derive(Default)]
pub struct BrokerConfig {
    pub users: Vec<(String, String)>,
    pub acl: Option<String>,
    pub persistence: bool,
    pub tls: Option<TlsFiles>,
    /// More mosquitto.conf lines (limits such as `max_inflight_messages 2`).
    pub extra: Vec<String>,
}

pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    pub dir: TempDir,
    conf: PathBuf,
}

impl Broker {
    pub fn start(config: BrokerConfig) -> Self {
        let dir = TempDir::new("broker");
        let mut conf = String::new();
        let _ = writeln!(conf, "user root");
        let _ = writeln!(
            conf,
            "log_dest file {}",
            dir.path("mosquitto.log").display()
        );
        let _ = writeln!(conf, "log_type all");
        if config.users.is_empty() {
            let _ = writeln!(conf, "allow_anonymous true");
        } else {
            let passwd = dir.path("passwd");
            for (i, (user, pass)) in config.users.iter().enumerate() {
                let mut cmd = Command::new("mosquitto_passwd");
                if i == 0 {
                    cmd.arg("-c");
                }
                let status = cmd
                    .arg("-b")
                    .arg(&passwd)
                    .arg(user)
                    .arg(pass)
                    .status()
                    .expect("mosquitto_passwd runs");
                assert!(status.success(), "mosquitto_passwd failed");
            }
            let _ = writeln!(conf, "allow_anonymous false");
            let _ = writeln!(conf, "password_file {}", passwd.display());
        }
        if let Some(acl) = &config.acl {
            let path = dir.path("acl");
            std::fs::write(&path, acl).expect("write acl");
            let _ = writeln!(conf, "acl_file {}", path.display());
        }
        if config.persistence {
            let _ = writeln!(conf, "persistence true");
            let _ = writeln!(conf, "persistence_location {}/", dir.0.display());
        }
        if let Some(tls) = &config.tls {
            let _ = writeln!(conf, "cafile {}", tls.ca.display());
            let _ = writeln!(conf, "certfile {}", tls.cert.display());
            let _ = writeln!(conf, "keyfile {}", tls.key.display());
            let _ = writeln!(conf, "require_certificate {}", tls.require_client_cert);
        }
        for line in &config.extra {
            let _ = writeln!(conf, "{line}");
        }
        let conf_path = dir.path("mosquitto.conf");
        let mut broker = Self {
            child: None,
            port: 0,
            dir,
            conf: conf_path,
        };
        // A port from `free_port` is free when it is handed out, not necessarily when mosquitto
        // binds it: another process binding port 0 meanwhile may get it (most likely what once
        // made a test talk to a concurrent `mqtt demo`'s broker). mosquitto then exits
        // ("Address already in use"): try another port.
        let mut failures = String::new();
        for _ in 0..5 {
            broker.port = free_port();
            let listener = format!("listener {} 127.0.0.1\n", broker.port);
            std::fs::write(&broker.conf, listener + &conf).expect("write config");
            match broker.try_launch() {
                Ok(()) => return broker,
                Err(e) => failures.push_str(&e),
            }
        }
        panic!("mosquitto did not start:\n{failures}");
    }

    fn launch(&mut self) {
        if let Err(e) = self.try_launch() {
            panic!("{e}");
        }
    }

    /// Starts mosquitto and waits until it listens: its log says it runs (counted, the log
    /// outlives restarts) and a connection reaches it. `Err` with the log when it exits first.
    fn try_launch(&mut self) -> Result<(), String> {
        let runs_before = self.log().matches(" running").count();
        let child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.log().matches(" running").count() <= runs_before
            || !transport_core::loopback_listening(self.port)
        {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Err(format!(
                    "mosquitto exited with {status}; log:\n{}",
                    self.log()
                ));
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {}; log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("mosquitto.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Stops with SIGTERM, so a persistent broker saves its database.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills with SIGKILL (no chance to save anything), then starts again on the same port
    /// with the same configuration and whatever data it had saved.
    pub fn kill_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.launch();
    }

    /// Restarts on the same port with the same configuration and data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A CA and a server certificate for `localhost` (not for 127.0.0.1), plus a client
/// certificate signed by the same CA.
pub struct Pki {
    pub dir: TempDir,
    pub ca_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

impl Pki {
    pub fn generate() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let dir = TempDir::new("pki");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mqtt-rs test CA");
        let ca_key = KeyPair::generate().expect("ca key");
        let ca = ca_params.self_signed(&ca_key).expect("ca cert");
        let mut server_params =
            CertificateParams::new(vec!["localhost".to_string()]).expect("server params");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_key = KeyPair::generate().expect("server key");
        let server = server_params
            .signed_by(&server_key, &ca, &ca_key)
            .expect("server cert");
        let mut client_params =
            CertificateParams::new(Vec::<String>::new()).expect("client params");
        client_params
            .distinguished_name
            .push(DnType::CommonName, "test-client");
        let client_key = KeyPair::generate().expect("client key");
        let client = client_params
            .signed_by(&client_key, &ca, &ca_key)
            .expect("client cert");
        std::fs::write(dir.path("ca.pem"), ca.pem()).expect("write");
        std::fs::write(dir.path("server.pem"), server.pem()).expect("write");
        std::fs::write(dir.path("server.key"), server_key.serialize_pem()).expect("write");
        Self {
            ca_pem: ca.pem(),
            client_cert_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
            dir,
        }
    }

    pub fn broker_files(&self, require_client_cert: bool) -> TlsFiles {
        TlsFiles {
            ca: self.dir.path("ca.pem"),
            cert: self.dir.path("server.pem"),
            key: self.dir.path("server.key"),
            require_client_cert,
        }
    }
}

/// A TCP proxy in front of a broker: `stall()` silently drops traffic both ways (a dead
/// network path), `cut()` closes every connection.
pub struct Proxy {
    pub port: u16,
    stalled: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(target_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let stalled = Arc::new(AtomicBool::new(false));
        let frozen = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (s, c, fz) = (stalled.clone(), conns.clone(), frozen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                if let (Ok(a), Ok(b)) = (client.try_clone(), server.try_clone()) {
                    c.lock().expect("lock").extend([a, b]);
                }
                pump(
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                    s.clone(),
                    fz.clone(),
                );
                pump(server, client, s.clone(), fz.clone());
            }
        });
        Self {
            port,
            stalled,
            frozen,
            conns,
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Stops reading altogether: the client's socket buffers fill up, as with a peer that
    /// cannot keep up.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    pub fn cut(&self) {
        for s in self.conns.lock().expect("lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, stalled: Arc<AtomicBool>, frozen: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            while frozen.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !stalled.load(Ordering::SeqCst) && to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// A handler that records messages, and the shared record.
pub fn collector() -> (
    Arc<Mutex<Vec<transport_core::Message>>>,
    impl Fn(&transport_core::Message) + Send + Sync + 'static,
) {
    let store: Arc<Mutex<Vec<transport_core::Message>>> = Arc::default();
    let s = store.clone();
    (store, move |m: &transport_core::Message| {
        s.lock().expect("lock").push(m.clone())
    })
}

pub const T: Duration = Duration::from_secs(10);
