//! [`Nudge`]: how commands wake the driver task. One task waits; many threads nudge. A nudge
//! is an atomic flag plus the driver's stored waker: no lock and no wake-up while a nudge is
//! already pending (a publisher nudges on every message; the driver takes them all at once).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;

/// A wake-up for one waiting task that is never lost: a nudge given while the task is busy
/// ends its next wait at once.
#[derive(Default)]
pub(crate) struct Nudge {
    pending: AtomicBool,
    waker: AtomicWaker,
}

impl Nudge {
    /// Wakes the waiting task (or ends its next wait).
    pub(crate) fn nudge(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Completes once nudged since the last completed wait (at once if that already happened).
    /// Only one task may wait.
    pub(crate) fn wait(&self) -> Wait<'_> {
        Wait(self)
    }
}

/// The future of [`Nudge::wait`].
pub(crate) struct Wait<'a>(&'a Nudge);

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let nudge = self.0;
        if nudge.pending.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        // Registered before the second look: a nudge in between is seen here or wakes us.
        nudge.waker.register(cx.waker());
        if nudge.pending.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_nudge_before_the_wait_is_not_lost() {
        let n = Nudge::default();
        n.nudge();
        n.nudge();
        smol::block_on(n.wait());
        // Both nudges were taken by that one wait: the next one waits.
        let waited = smol::block_on(smol::future::or(
            async {
                n.wait().await;
                true
            },
            async {
                smol::Timer::after(Duration::from_millis(50)).await;
                false
            },
        ));
        assert!(!waited);
    }

    #[test]
    fn a_nudge_from_another_thread_wakes_the_waiting_task() {
        let n = Arc::new(Nudge::default());
        for _ in 0..200 {
            let from = n.clone();
            let t = std::thread::spawn(move || from.nudge());
            smol::block_on(n.wait());
            t.join().expect("nudging thread");
        }
    }
}
