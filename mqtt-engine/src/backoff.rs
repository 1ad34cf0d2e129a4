//! Reconnect backoff: exponential, capped, with jitter from a seeded generator (the engine has
//! no randomness of its own, so runs are reproducible).

use core::time::Duration;

use crate::options::ReconnectPolicy;

/// Backoff state across reconnect attempts.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    policy: ReconnectPolicy,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(policy: ReconnectPolicy, seed: u64) -> Self {
        Self {
            policy,
            attempt: 0,
            rng: seed | 1,
        }
    }

    /// xorshift64*: small, fast, good enough for jitter.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The delay before the next attempt: `min · 2^attempt`, capped at `max`, then "equal
    /// jitter" (between half and all of it) so clients restarted together spread out.
    pub(crate) fn next_delay(&mut self) -> (Duration, u32) {
        let min = u64::try_from(self.policy.min_delay.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let max = u64::try_from(self.policy.max_delay.as_millis())
            .unwrap_or(u64::MAX)
            .max(min);
        let exp = min.saturating_mul(1u64 << self.attempt.min(32)).min(max);
        let half = exp / 2;
        let jitter = if half == 0 {
            0
        } else {
            self.next_random() % (half + 1)
        };
        self.attempt = self.attempt.saturating_add(1);
        (Duration::from_millis(exp - half + jitter), self.attempt)
    }

    /// The connection was stable: start again from the minimum.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    pub(crate) fn stable_after(&self) -> Duration {
        self.policy.stable_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_caps() {
        let policy = ReconnectPolicy {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            stable_after: Duration::from_secs(1),
        };
        let mut b = Backoff::new(policy, 42);
        let bounds = [
            (50, 100),
            (100, 200),
            (200, 400),
            (400, 800),
            (500, 1000),
            (500, 1000),
        ];
        for (lo, hi) in bounds {
            let (d, _) = b.next_delay();
            let ms = d.as_millis() as u64;
            assert!((lo..=hi).contains(&ms), "{ms} not in {lo}..={hi}");
        }
        b.reset();
        assert!(b.next_delay().0 <= Duration::from_millis(100));
    }

    #[test]
    fn same_seed_same_delays() {
        let mut a = Backoff::new(ReconnectPolicy::default(), 7);
        let mut b = Backoff::new(ReconnectPolicy::default(), 7);
        for _ in 0..10 {
            assert_eq!(a.next_delay(), b.next_delay());
        }
    }
}
