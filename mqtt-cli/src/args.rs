//! Command-line arguments. Flags follow mosquitto_pub / mosquitto_sub where they overlap.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// MQTT 3.1.1 / 5.0 client: publish, subscribe, benchmark, and a guided demo.
#[derive(Debug, Parser)]
#[command(name = "mqtt", version, disable_help_flag = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print help.
    #[arg(long, action = ArgAction::Help, global = true)]
    pub help: Option<bool>,
}

/// The largest MQTT packet: a 5-byte fixed header and the largest remaining length.
pub const MAX_PACKET: u32 = 5 + mqtt_proto::MAX_REMAINING_LENGTH;

pub const EXIT_CODES: &str =
    "Exit codes: 0 success, 1 error (network, invalid input), 2 usage error, \
3 connection refused by the broker (credentials, authorization), 4 TLS failure, 5 timeout (-W).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publish a message (like mosquitto_pub).
    Pub(PubArgs),
    /// Subscribe and print messages (like mosquitto_sub).
    Sub(SubArgs),
    /// Measure throughput and latency against a broker.
    Bench(BenchArgs),
    /// Walk through the tutorial end to end on a local broker (or --host).
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Version {
    #[value(name = "311", alias = "mqttv311", alias = "3.1.1")]
    V311,
    #[value(name = "5", alias = "mqttv5")]
    V5,
}

impl From<Version> for transport_std::ProtocolVersion {
    fn from(v: Version) -> Self {
        match v {
            Version::V311 => Self::V311,
            Version::V5 => Self::V5,
        }
    }
}

/// Connection options shared by every command.
#[derive(Debug, Clone, Args)]
#[allow(clippy::struct_excessive_bools)] // command-line switches
pub struct Connection {
    /// Broker host.
    #[arg(short = 'h', long, default_value = "localhost")]
    pub host: String,
    /// Broker port (default 1883, or 8883 with TLS).
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Client identifier (default: assigned by the broker).
    #[arg(short = 'i', long = "id")]
    pub id: Option<String>,
    /// Keep the session when disconnecting (clean session off); needs -i.
    #[arg(short = 'c', long = "disable-clean-session")]
    pub disable_clean_session: bool,
    /// User name.
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Password.
    #[arg(short = 'P', long = "pw")]
    pub password: Option<String>,
    /// Keep-alive in seconds.
    #[arg(short = 'k', long, default_value_t = 60)]
    pub keepalive: u16,
    /// MQTT version.
    #[arg(
        short = 'V',
        long = "protocol-version",
        value_enum,
        default_value = "5"
    )]
    pub protocol_version: Version,
    /// CA certificate file (PEM); enables TLS.
    #[arg(long)]
    pub cafile: Option<PathBuf>,
    /// Client certificate (PEM); enables TLS.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Use TLS with the bundled Mozilla roots (implied by --cafile, --cert or mqtts://).
    #[arg(long)]
    pub tls: bool,
    /// DANGER: do not verify the broker's certificate (encrypted but not authenticated).
    #[arg(long)]
    pub insecure: bool,
    /// WebSocket request path for a ws:// or wss:// URL (whose own path is the topic).
    #[arg(long = "ws-path", default_value = "/mqtt")]
    pub ws_path: String,
    /// Extra HTTP header for the WebSocket upgrade, as 'Name: value' (repeatable).
    #[arg(long = "ws-header")]
    pub ws_headers: Vec<String>,
    /// Last will topic.
    #[arg(long = "will-topic")]
    pub will_topic: Option<String>,
    /// Last will payload.
    #[arg(long = "will-payload", default_value = "")]
    pub will_payload: String,
    /// Last will QoS.
    #[arg(long = "will-qos", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub will_qos: u8,
    /// Retain the last will.
    #[arg(long = "will-retain")]
    pub will_retain: bool,
    /// Largest packet to accept from the broker, in bytes (default: the MQTT maximum, as
    /// mosquitto_sub). MQTT 5 tells the broker; in 3.1.1 a larger message is acknowledged and
    /// dropped (shown with -d).
    #[arg(long = "max-packet-size", default_value_t = MAX_PACKET, value_parser = clap::value_parser!(u32).range(16..=i64::from(MAX_PACKET)))]
    pub max_packet_size: u32,
    /// Do not reconnect automatically when the connection is lost.
    #[arg(long = "no-reconnect")]
    pub no_reconnect: bool,
    /// Under load, gather writes for this many microseconds after a write and send them
    /// together (default: the client's, 25 µs; 0 sends each at once, for the lowest latency).
    #[arg(long = "write-gathering", value_name = "MICROSECONDS")]
    pub write_gathering: Option<u64>,
    /// Print connection events on stderr.
    #[arg(short = 'd', long)]
    pub debug: bool,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // command-line switches
pub struct PubArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Topic to publish to.
    #[arg(short = 't', long)]
    pub topic: Option<String>,
    /// Message payload.
    #[arg(short = 'm', long, group = "source")]
    pub message: Option<String>,
    /// Send the contents of a file as the message.
    #[arg(short = 'f', long, group = "source")]
    pub file: Option<PathBuf>,
    /// Send each line read from stdin as a separate message.
    #[arg(short = 'l', long = "stdin-line", group = "source")]
    pub stdin_line: bool,
    /// Send all of stdin as one message.
    #[arg(short = 's', long = "stdin-file", group = "source")]
    pub stdin_file: bool,
    /// Send an empty (null) message.
    #[arg(short = 'n', long = "null-message", group = "source")]
    pub null_message: bool,
    /// Quality of service.
    #[arg(short = 'q', long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Retain the message.
    #[arg(short = 'r', long)]
    pub retain: bool,
    /// Broker URL with the topic as path: mqtt[s]:// or ws[s]://[user[:pass]@]host[:port]/topic
    pub url: Option<String>,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // command-line switches
pub struct SubArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Topic filter to subscribe to (repeatable).
    #[arg(short = 't', long)]
    pub topic: Vec<String>,
    /// Maximum QoS of the subscriptions.
    #[arg(short = 'q', long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Exit after receiving this many messages.
    #[arg(short = 'C', long)]
    pub count: Option<u64>,
    /// Exit after this many seconds (exit code 5 if the count was not reached).
    #[arg(short = 'W', long)]
    pub timeout: Option<u64>,
    /// Print the topic before each payload.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Do not add a newline after each payload.
    #[arg(short = 'N')]
    pub no_newline: bool,
    /// One JSON object per message: topic, qos, retain, payload (UTF-8) or payload_base64.
    #[arg(long)]
    pub json: bool,
    /// Do not print retained messages sent at subscription time.
    #[arg(short = 'R', long = "no-retained")]
    pub no_retained: bool,
    /// Broker URL with the topic filter as path: mqtt[s]:// or ws[s]://host[:port]/filter
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BenchMode {
    /// Only publish.
    Pub,
    /// Only subscribe (publishers run elsewhere).
    Sub,
    /// Publish and subscribe in this process: end-to-end latency.
    Both,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    pub mode: BenchMode,
    #[command(flatten)]
    pub conn: Connection,
    /// Number of publishing (and subscribing) clients.
    #[arg(long, default_value_t = 1)]
    pub clients: u32,
    /// Messages per publishing client.
    #[arg(short = 'n', long, default_value_t = 10_000)]
    pub count: u64,
    /// Payload size in bytes (at least 8: the send time is stored in the payload).
    #[arg(short = 'S', long, default_value_t = 64)]
    pub size: usize,
    /// QoS of the messages.
    #[arg(short = 'q', long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Messages per second per client (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Topic prefix.
    #[arg(short = 't', long, default_value = "mqtt-bench")]
    pub topic: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Give up after this many seconds.
    #[arg(short = 'W', long, default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run against this broker instead of a local one (host, or an mqtt[s]:// or ws[s]:// URL whose path is the WebSocket path).
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// Port of --host.
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Use the built-in demo broker even when mosquitto is installed.
    #[arg(long = "builtin-broker")]
    pub builtin_broker: bool,
    /// MQTT version (some brokers' WebSocket listeners speak only 3.1.1).
    #[arg(
        short = 'V',
        long = "protocol-version",
        value_enum,
        default_value = "5"
    )]
    pub protocol_version: Version,
}
