//! `mqtt`: publish, subscribe, benchmark, and a guided demo. See `mqtt --help`.

#![forbid(unsafe_code)]
// Doc comments double as `--help` text, where `mqtt[s]://host[:port]` means optional parts.
#![allow(rustdoc::broken_intra_doc_links)]

mod args;
mod bench;
mod connect;
mod demo;
mod demo_broker;
mod logger;
mod publish;
mod subscribe;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match &cli.command {
        args::Command::Pub(a) => publish::run(a),
        args::Command::Sub(a) => subscribe::run(a),
        args::Command::Bench(a) => bench::run(a),
        args::Command::Demo(a) => demo::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(),
    }
}
