//! The reliability suite: a publisher and a subscriber with persistent sessions, both through a
//! seeded fault proxy (aborts, clean closes, stalls, half-open connections) to a real
//! mosquitto, on the blocking and the async client, MQTT 3.1.1 and 5.0. The subscriber counts
//! every message: no QoS 1 message lost, no QoS 2 message lost or duplicated, order kept per
//! topic (QoS 1 duplicates are counted and reported).
//!
//! `scripts/chaos.sh` runs the long suite, `scripts/chaos.sh --quick` the short one that the
//! test command also runs (`reliability/tests/chaos_quick.rs`).

#![allow(missing_docs, clippy::missing_panics_doc)] // a test suite: failures are panics

#[path = "../../transport-std/tests/broker/mod.rs"]
pub mod broker;
pub mod chaos;
mod clients;
