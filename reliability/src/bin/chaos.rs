//! The chaos suite from the command line (`scripts/chaos.sh`): every transport × version run,
//! one line per run and QoS, exit 1 if any promise was broken.
//!
//! `cargo run --release -p reliability --bin chaos -- [--quick] [--seed N] [--only std-v3]`

use std::time::Duration;

use reliability::chaos::{run, Config, Transport};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let seed: u64 = args
        .iter()
        .position(|a| a == "--seed")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x000C_4A05);
    // `--only std-v3` (or smol-v5, …): one of the four runs, with the seed it has in the set.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let mut broken = 0;
    let mut index = 0;
    for transport in [Transport::Blocking, Transport::Async] {
        for version in [3, 5] {
            index += 1;
            if only.is_some_and(|o| *o != format!("{transport}-v{version}")) {
                continue;
            }
            let config = if quick {
                reliability::chaos::quick(transport, version, seed + index)
            } else {
                Config {
                    transport,
                    version,
                    messages: 100_000,
                    seed: seed + index,
                    mean_fault_interval: Duration::from_millis(200),
                    min_faults: 0,
                    kill_broker: true,
                    timeout: Duration::from_secs(300),
                }
            };
            for report in run(&config) {
                println!("{report}");
                if !report.holds() {
                    broken += 1;
                }
            }
        }
    }
    if broken > 0 {
        eprintln!("chaos: {broken} runs broke a promise (seed {seed})");
        std::process::exit(1);
    }
}
