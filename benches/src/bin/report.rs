//! Turns criterion's results (`target/criterion/**/new/estimates.json`) into the README's ratio
//! table. Run by `benches/run.sh` after the benchmarks.

use std::path::{Path, PathBuf};

fn estimate_ns(root: &Path, id: &str) -> Option<f64> {
    let path = root.join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

#[allow(clippy::too_many_lines)] // one table, row by row
fn main() {
    let root: PathBuf = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/criterion"), PathBuf::from);
    let get = |id: &str| estimate_ns(&root, id);
    println!("| measurement | ours | peer | peer time | ours vs peer |");
    println!("|---|---:|---|---:|---:|");
    let row = |what: String, ours: Option<f64>, peer_name: &str, peer: Option<f64>| {
        if let (Some(o), Some(p)) = (ours, peer) {
            println!(
                "| {what} | {} | {peer_name} | {} | {:.2}× {} |",
                fmt_ns(o),
                fmt_ns(p),
                if o <= p { p / o } else { o / p },
                if o <= p { "faster" } else { "slower" }
            );
        }
    };
    for size in [0, 64, 1024, 65536] {
        for qos in ["qos0", "qos1"] {
            let g = format!("decode_publish_v311_{qos}");
            row(
                format!("decode PUBLISH {qos} {size} B, borrowed"),
                get(&format!("{g}/ours_borrowed/{size}")),
                "mqttrs",
                get(&format!("{g}/mqttrs/{size}")),
            );
            row(
                format!("decode PUBLISH {qos} {size} B, owned (v3.1.1)"),
                get(&format!("{g}/ours_owned/{size}")),
                "rumqttc v4",
                get(&format!("{g}/rumqttc_v4/{size}")),
            );
        }
        let g = "decode_publish_v5_qos1";
        row(
            format!("decode PUBLISH v5 qos1 {size} B, owned"),
            get(&format!("{g}/ours_owned/{size}")),
            "rumqttc v5",
            get(&format!("{g}/rumqttc_v5/{size}")),
        );
        for qos in ["qos0", "qos1"] {
            let g = format!("encode_publish_v311_{qos}");
            let peers = ["rumqttc_v4", "mqttrs", "mqtt_protocol"];
            let fastest = peers
                .iter()
                .filter_map(|p| get(&format!("{g}/{p}/{size}")).map(|t| (t, *p)))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((t, name)) = fastest {
                row(
                    format!("encode PUBLISH {qos} {size} B"),
                    get(&format!("{g}/ours/{size}")),
                    &format!("fastest peer ({name})"),
                    Some(t),
                );
            }
            row(
                format!("encode PUBLISH {qos} {size} B"),
                get(&format!("{g}/ours/{size}")),
                "memcpy of the frame",
                get(&format!("{g}/memcpy/{size}")),
            );
        }
        row(
            format!("encode PUBLISH v5 qos1 {size} B"),
            get(&format!("encode_publish_v5_qos1/ours/{size}")),
            "rumqttc v5",
            get(&format!("encode_publish_v5_qos1/rumqttc_v5/{size}")),
        );
    }
    row(
        "decode PUBACK, borrowed".into(),
        get("puback/ours_decode_borrowed"),
        "mqttrs",
        get("puback/mqttrs_decode"),
    );
    row(
        "encode PUBACK".into(),
        get("puback/ours_encode"),
        "rumqttc v4",
        get("puback/rumqttc_v4_encode"),
    );
    row(
        "decode SUBSCRIBE (10 filters), borrowed".into(),
        get("subscribe_10_filters/ours_decode_borrowed"),
        "mqttrs",
        get("subscribe_10_filters/mqttrs_decode"),
    );
    row(
        "decode SUBSCRIBE (10 filters), owned".into(),
        get("subscribe_10_filters/ours_decode_owned"),
        "rumqttc v4",
        get("subscribe_10_filters/rumqttc_v4_decode"),
    );
    row(
        "encode SUBSCRIBE (10 filters)".into(),
        get("subscribe_10_filters/ours_encode"),
        "rumqttc v4",
        get("subscribe_10_filters/rumqttc_v4_encode"),
    );
    row(
        "decode CONNECT, borrowed".into(),
        get("connect/ours_decode_borrowed"),
        "mqttrs",
        get("connect/mqttrs_decode"),
    );
    row(
        "decode CONNECT, borrowed, as its own type (`decode_connect_ref`)".into(),
        get("connect/ours_decode_connect_ref"),
        "mqttrs",
        get("connect/mqttrs_decode"),
    );
    row(
        "encode CONNECT".into(),
        get("connect/ours_encode"),
        "rumqttc v4",
        get("connect/rumqttc_v4_encode"),
    );
    let g = "mixed_stream_1000_packets";
    let peers = ["mqttrs", "rumqttc_v4", "mqtt_protocol"];
    if let Some((t, name)) = peers
        .iter()
        .filter_map(|p| get(&format!("{g}/{p}")).map(|t| (t, *p)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
    {
        row(
            "mixed stream, 1000 small packets, borrowed".into(),
            get(&format!("{g}/ours_borrowed")),
            &format!("fastest peer ({name})"),
            Some(t),
        );
        row(
            "mixed stream, 1000 small packets, owned".into(),
            get(&format!("{g}/ours_owned")),
            "rumqttc v4",
            get(&format!("{g}/rumqttc_v4")),
        );
    }
    println!();
    for version in ["V311", "V5"] {
        for (what, id) in [
            ("QoS 1 publish + PUBACK", "qos1_publish_puback"),
            ("incoming QoS 2 flow", "qos2_incoming_flow"),
        ] {
            if let Some(t) = get(&format!("engine_{version}/{id}")) {
                println!(
                    "engine {version}, {what}, no I/O: {} per message",
                    fmt_ns(t)
                );
            }
        }
    }
}
