//! What the outboxes of both drivers share: the backpressure limit, and the rule by which a
//! connection keeps its write buffers between writes.

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

#[cfg(test)]
mod tests {
    use super::*;

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
