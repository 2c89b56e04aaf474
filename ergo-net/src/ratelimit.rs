//! Rate-limited warnings: of each kind, the first few per interval are logged; the rest
//! are counted and reported in one summary line when the interval is over (or when the
//! network stops). A peer or a stranger repeating the same mistake costs a bounded
//! number of log lines, however fast it repeats it.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

/// Node-wide limits on repeated warnings, by kind.
pub(crate) struct LogLimiter {
    per_interval: u32,
    interval: Duration,
    kinds: Mutex<FxHashMap<&'static str, Window>>,
}

struct Window {
    start: Instant,
    logged: u32,
    suppressed: u64,
}

impl LogLimiter {
    /// At most `per_interval` lines of each kind per `interval`, plus one summary.
    pub(crate) fn new(per_interval: u32, interval: Duration) -> LogLimiter {
        LogLimiter {
            per_interval,
            interval,
            kinds: Mutex::default(),
        }
    }

    /// Runs `log` if this `kind` has not used up its lines of the current interval;
    /// otherwise counts the event. A summary of what the previous interval suppressed is
    /// logged first when a new interval begins.
    pub(crate) fn warn(&self, node: &str, kind: &'static str, log: impl FnOnce()) {
        let now = Instant::now();
        let (run, summary) = {
            let mut kinds = self.kinds.lock();
            let w = kinds.entry(kind).or_insert(Window {
                start: now,
                logged: 0,
                suppressed: 0,
            });
            let mut summary = 0;
            if now.duration_since(w.start) >= self.interval {
                summary = std::mem::take(&mut w.suppressed);
                w.start = now;
                w.logged = 0;
            }
            if w.logged < self.per_interval {
                w.logged += 1;
                (true, summary)
            } else {
                w.suppressed += 1;
                (false, summary)
            }
        };
        if summary > 0 {
            summarize(node, kind, summary, self.interval);
        }
        if run {
            log();
        }
    }

    /// Logs the summaries still pending (when the network stops).
    pub(crate) fn flush(&self, node: &str) {
        let pending: Vec<(&'static str, u64)> = self
            .kinds
            .lock()
            .iter_mut()
            .filter_map(|(kind, w)| {
                let n = std::mem::take(&mut w.suppressed);
                (n > 0).then_some((*kind, n))
            })
            .collect();
        for (kind, n) in pending {
            summarize(node, kind, n, self.interval);
        }
    }
}

fn summarize(node: &str, kind: &'static str, suppressed: u64, interval: Duration) {
    tracing::warn!(
        node,
        kind,
        suppressed,
        ?interval,
        "similar warnings suppressed"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn the_first_lines_run_and_the_rest_are_counted() {
        let limiter = LogLimiter::new(3, Duration::from_secs(3600));
        let ran = Cell::new(0);
        for _ in 0..1000 {
            limiter.warn("n@h", "kind", || ran.set(ran.get() + 1));
        }
        limiter.warn("n@h", "other", || ran.set(ran.get() + 1));
        assert_eq!(ran.get(), 4);
        let w = limiter.kinds.lock();
        assert_eq!(w["kind"].suppressed, 997);
    }
}
