//! Arbitrary bytes as a session file: opening it recovers a valid prefix or fails with a typed
//! error, never a panic, and an engine built on what was recovered works.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_engine::{Client, Instant, Options, Store};
use transport_core::SessionStore;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("mqtt-fuzz-session-{}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(store) = SessionStore::open(&path) {
        let outgoing = store.outgoing_len();
        let options = Options::new("fuzz").clean_session(false);
        if let Ok(client) = Client::with_store(options, store, Instant::from_millis(0)) {
            assert!(client.inflight_len() <= outgoing);
            assert!(client.inflight_len() + client.queued_len() <= 65_535);
        }
    }
    let _ = std::fs::remove_file(&path);
});
