//! The engine's own clock type: the driver reads whatever clock it has and passes the time in.

use core::ops::Add;
use core::time::Duration;

/// A point in time: milliseconds since an origin the driver chooses (boot, process start…).
/// Monotonic by contract: the driver never passes an earlier instant than before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The instant `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the far future rather than overflowing.
    fn add(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

/// Converts between `std::time::Instant` and the engine's [`Instant`] from a fixed origin.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct StdClock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl StdClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        self.from_std(std::time::Instant::now())
    }

    /// The engine instant for a std instant (the origin if `t` is before it).
    pub fn from_std(&self, t: std::time::Instant) -> Instant {
        let ms = t.saturating_duration_since(self.origin).as_millis();
        Instant(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The std instant for an engine instant (saturating far in the future).
    pub fn to_std(&self, t: Instant) -> std::time::Instant {
        let d = Duration::from_millis(t.0);
        self.origin
            .checked_add(d)
            .unwrap_or_else(|| self.origin + Duration::from_secs(86_400 * 365))
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}
