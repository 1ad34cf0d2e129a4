//! Turns criterion's results into the README's ratio table. Run by `benches/run.sh` after the
//! benchmarks: `report ROOT [BASELINE...]`. With baselines (one per process `run.sh` ran the
//! codec bench in), each row's time is its median over them and the table also gives the range
//! of the per-process ratios; without, it reads criterion's latest run (`new`).

use std::path::{Path, PathBuf};

/// The point estimate of one row in one saved baseline, in nanoseconds.
fn estimate_ns(root: &Path, id: &str, baseline: &str) -> Option<f64> {
    let path = root.join(id).join(baseline).join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

/// One row measured in each process: times in baseline order (`None` where a process lacks it).
struct Runs(Vec<Option<f64>>);

impl Runs {
    /// The median of the processes that measured the row (of an even count, the mean of the
    /// middle two).
    fn median(&self) -> Option<f64> {
        let mut t: Vec<f64> = self.0.iter().flatten().copied().collect();
        t.sort_by(f64::total_cmp);
        let upper = *t.get(t.len() / 2)?;
        if t.len() % 2 == 1 {
            return Some(upper);
        }
        Some(f64::midpoint(t[t.len() / 2 - 1], upper))
    }

    /// The lowest and highest of `self / other` over the processes that measured both.
    fn ratio_range(&self, other: &Runs) -> Option<(f64, f64)> {
        let ratios = self
            .0
            .iter()
            .zip(&other.0)
            .filter_map(|(a, b)| Some((*a)? / (*b)?));
        ratios.fold(None, |acc, r| match acc {
            None => Some((r, r)),
            Some((lo, hi)) => Some((f64::min(lo, r), f64::max(hi, r))),
        })
    }
}

/// The peer with the lowest median among `group/<peer>` rows, with its runs and its name (the
/// part of the row id before any `/size`).
fn fastest_of(
    get: &impl Fn(&str) -> Runs,
    group: &str,
    peers: &[String],
) -> Option<(Runs, String)> {
    peers
        .iter()
        .filter_map(|p| {
            let runs = get(&format!("{group}/{p}"));
            let median = runs.median()?;
            Some((median, runs, p.split('/').next().unwrap_or(p).to_string()))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, runs, name)| (runs, name))
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
    let mut args = std::env::args().skip(1);
    let root: PathBuf = args
        .next()
        .map_or_else(|| PathBuf::from("target/criterion"), PathBuf::from);
    let mut baselines: Vec<String> = args.collect();
    if baselines.is_empty() {
        baselines.push("new".into());
    }
    let get = |id: &str| {
        Runs(
            baselines
                .iter()
                .map(|b| estimate_ns(&root, id, b))
                .collect(),
        )
    };
    println!(
        "| measurement | ours | peer | peer time | ours vs peer | ours / peer, process by process |"
    );
    println!("|---|---:|---|---:|---:|---:|");
    let row = |what: String, ours: Runs, peer_name: &str, peer: Runs| {
        let (Some(o), Some(p)) = (ours.median(), peer.median()) else {
            return;
        };
        let range = match ours.ratio_range(&peer) {
            Some((lo, hi)) if baselines.len() > 1 => format!("{lo:.2}–{hi:.2}"),
            _ => String::new(),
        };
        println!(
            "| {what} | {} | {peer_name} | {} | {:.2}× {} | {range} |",
            fmt_ns(o),
            fmt_ns(p),
            if o <= p { p / o } else { o / p },
            if o <= p { "faster" } else { "slower" }
        );
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
            let sized: Vec<String> = peers.iter().map(|p| format!("{p}/{size}")).collect();
            if let Some((t, name)) = fastest_of(&get, &g, &sized) {
                row(
                    format!("encode PUBLISH {qos} {size} B"),
                    get(&format!("{g}/ours/{size}")),
                    &format!("fastest peer ({name})"),
                    t,
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
    let peers = ["mqttrs", "rumqttc_v4", "mqtt_protocol"].map(String::from);
    if let Some((t, name)) = fastest_of(&get, g, &peers) {
        row(
            "mixed stream, 1000 small packets, borrowed".into(),
            get(&format!("{g}/ours_borrowed")),
            &format!("fastest peer ({name})"),
            t,
        );
    }
    row(
        "mixed stream, 1000 small packets, owned".into(),
        get(&format!("{g}/ours_owned")),
        "rumqttc v4",
        get(&format!("{g}/rumqttc_v4")),
    );
    println!();
    for version in ["V311", "V5"] {
        for (what, id) in [
            ("QoS 1 publish + PUBACK", "qos1_publish_puback"),
            ("incoming QoS 2 flow", "qos2_incoming_flow"),
        ] {
            if let Some(t) = estimate_ns(&root, &format!("engine_{version}/{id}"), "new") {
                println!(
                    "engine {version}, {what}, no I/O: {} per message",
                    fmt_ns(t)
                );
            }
        }
    }
}
