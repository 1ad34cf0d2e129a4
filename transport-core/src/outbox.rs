//! What the outboxes of both drivers share: the backpressure limit, the rule by which a
//! connection keeps its write buffers between writes, and the measure of load that decides
//! whether a driver gathers its writes.

use std::time::{Duration, Instant};

/// Bytes that may wait for the socket before `publish` waits (backpressure).
pub const OUTBOX_LIMIT: usize = 1 << 20;

/// The largest write buffer a connection keeps between writes. A burst may grow one larger;
/// [`recycle`] then frees it, so that an idle connection holds little memory.
pub const KEPT_BUFFER: usize = 64 * 1024;

/// Empties `buf` for the next write, keeping its memory (no allocation per write on a busy
/// connection) unless a burst left it larger than [`KEPT_BUFFER`].
pub fn recycle(buf: &mut Vec<u8>) {
    buf.clear();
    if buf.capacity() > KEPT_BUFFER {
        *buf = Vec::new();
    }
}

/// How busy a connection's input is. A driver gathers its writes (`write_gathering`) only
/// while packets arrive about one per gathering window or faster, measured over
/// [`LOAD_SAMPLE`] or more, and stops below three quarters of that. Under that load a
/// window's wait gathers several packets into one write; at a middling rate it would gather
/// little and cost latency: a held acknowledgement also holds the TCP acknowledgement that the
/// broker's Nagle algorithm waits for before it sends its next small message.
#[derive(Debug, Default)]
pub struct Load {
    since: Option<Instant>,
    packets: u64,
    dense: bool,
}

/// The least time over which [`Load`] measures the packet rate.
pub const LOAD_SAMPLE: Duration = Duration::from_millis(1);

impl Load {
    /// Counts `packets` received by `now`; true while the input is dense for `gather` (as of
    /// the last completed sample).
    pub fn note(&mut self, packets: u64, now: Instant, gather: Duration) -> bool {
        let since = *self.since.get_or_insert(now);
        self.packets = self.packets.saturating_add(packets);
        let elapsed = now.saturating_duration_since(since);
        if elapsed >= LOAD_SAMPLE {
            // Packets per window, times four, against four (entering) or three (staying).
            let per_window_x4 = u128::from(self.packets) * gather.as_nanos() * 4;
            let need = if self.dense { 3 } else { 4 };
            self.dense = per_window_x4 >= elapsed.as_nanos() * need;
            self.since = Some(now);
            self.packets = 0;
        }
        self.dense
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense from one packet per window on, measured over a millisecond; it stays dense down
    /// to three quarters of that, and is sparse again below.
    #[test]
    fn load_is_dense_from_one_packet_per_window_with_hysteresis() {
        let gather = Duration::from_micros(25);
        let t0 = Instant::now();
        let ms = |n: u64| t0 + LOAD_SAMPLE * u32::try_from(n).expect("small");
        let mut load = Load::default();
        // 1 ms holds 40 windows of 25 µs.
        assert!(!load.note(0, t0, gather));
        assert!(
            !load.note(39, ms(1), gather),
            "39 packets a ms: below one a window"
        );
        assert!(load.note(40, ms(2), gather), "40 a ms: one a window");
        assert!(
            load.note(30, ms(3), gather),
            "30 a ms: three quarters, stays"
        );
        assert!(!load.note(29, ms(4), gather), "29 a ms: sparse again");
        // Within a sample the last verdict holds.
        assert!(!load.note(1_000, ms(4) + Duration::from_micros(10), gather));
        assert!(
            load.note(0, ms(5), gather),
            "the sample's 1,000 packets count at its end"
        );
        // A long pause is one long, sparse sample.
        assert!(!load.note(40, ms(100), gather));
    }

    #[test]
    fn a_buffer_is_emptied_and_kept_up_to_the_limit_and_freed_above_it() {
        let mut small = Vec::with_capacity(KEPT_BUFFER);
        small.extend_from_slice(b"abc");
        recycle(&mut small);
        assert!(small.is_empty());
        assert_eq!(small.capacity(), KEPT_BUFFER);
        let mut large = vec![0u8; KEPT_BUFFER + 1];
        recycle(&mut large);
        assert!(large.is_empty());
        assert_eq!(large.capacity(), 0);
    }
}
