//! [`eventually`]: polls a condition until it holds or a bound passes.

use std::time::Duration;

use tokio::time::Instant;

/// How long [`Eventually::within`] sleeps between two looks by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1);

/// Waits until `cond` holds: `eventually(|| cond).within(bound).await`.
///
/// The bound is a failure guard, not a timing assertion: the condition is looked at
/// every millisecond (see [`Eventually::every`]) until it holds, and an error says that
/// it did not within the bound. On tokio's paused clock the bound is virtual time.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use ergo_testing::eventually;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let done = Arc::new(AtomicBool::new(false));
/// let flag = done.clone();
/// tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
/// eventually(|| done.load(Ordering::SeqCst))
///     .within(Duration::from_secs(10))
///     .await
///     .unwrap();
/// # }
/// ```
pub fn eventually<F: FnMut() -> bool>(cond: F) -> Eventually<F> {
    Eventually {
        cond,
        interval: DEFAULT_INTERVAL,
    }
}

/// A condition to wait for; see [`eventually`].
#[must_use = "nothing is waited for until `.within(bound).await`"]
pub struct Eventually<F> {
    cond: F,
    interval: Duration,
}

/// The condition did not hold within the bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the condition did not hold within {bound:?} ({looks} looks)")]
pub struct NotReached {
    /// The bound that passed.
    pub bound: Duration,
    /// How many times the condition was looked at.
    pub looks: u64,
}

impl<F: FnMut() -> bool> Eventually<F> {
    /// Sleeps `interval` between two looks (default [`DEFAULT_INTERVAL`]; at least 1 µs).
    pub fn every(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_micros(1));
        self
    }

    /// Looks at the condition until it holds (`Ok`) or `bound` has passed (`Err`). The
    /// number of looks is bounded too: at most `bound / interval + 2`.
    pub async fn within(mut self, bound: Duration) -> Result<(), NotReached> {
        let deadline = Instant::now() + bound;
        let max_looks = (bound.as_nanos() / self.interval.as_nanos())
            .saturating_add(2)
            .min(u64::MAX as u128) as u64;
        let mut looks = 0;
        loop {
            looks += 1;
            if (self.cond)() {
                return Ok(());
            }
            if looks >= max_looks || Instant::now() >= deadline {
                return Err(NotReached { bound, looks });
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}
