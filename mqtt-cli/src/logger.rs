//! The client library's log lines on stderr. Always: a warning for each message the client
//! drops (over `--max-packet-size`: acknowledged and skipped, which a user would otherwise not
//! see). With `-d`: every line (connection life cycle, reconnects, TLS and protocol
//! failures). Only this project's crates: no TLS-library chatter.

use std::sync::atomic::{AtomicBool, Ordering};

use log::{LevelFilter, Log, Metadata, Record};

struct Stderr {
    /// `-d`: every line of this project's crates, not only dropped messages.
    debug: AtomicBool,
}

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata) -> bool {
        let target = metadata.target();
        if self.debug.load(Ordering::Relaxed) {
            target.starts_with("transport_")
        } else {
            target == transport_core::DROPPED_LOG_TARGET
        }
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            eprintln!("{} [{}]", record.args(), record.level());
        }
    }

    fn flush(&self) {}
}

static LOGGER: Stderr = Stderr {
    debug: AtomicBool::new(false),
};

/// Installs the logger (once; a later call can still turn `debug` on).
pub fn install(debug: bool) {
    if debug {
        LOGGER.debug.store(true, Ordering::Relaxed);
    }
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(if LOGGER.debug.load(Ordering::Relaxed) {
        LevelFilter::Debug
    } else {
        // Dropped messages are warnings: nothing below is formatted.
        LevelFilter::Warn
    });
}
