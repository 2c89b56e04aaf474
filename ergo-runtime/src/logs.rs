//! Rate-limited logging, node-wide and by kind: what comes from outside (a peer's bad
//! frame, a stranger's wrong cookie, a malformed request) can repeat as fast as the
//! outside likes, so its log lines go through a [`LogLimiter`].
//!
//! Each kind (a static key such as `"wrong cookie"`) has its own token bucket: up to
//! `burst` lines at once, one more every `refill`. A line with no token left is only
//! counted; when the kind logs again, one summary line first says how many were
//! suppressed, and whatever is still pending is reported when the node stops
//! ([`LogLimiter::flush`]). A flood of one kind therefore costs a bounded number of
//! lines and leaves every other kind alone.
//!
//! ```
//! use std::time::Duration;
//! use ergo_runtime::LogLimiter;
//!
//! let limiter = LogLimiter::new(3, Duration::from_secs(60));
//! let mut logged = 0;
//! for _ in 0..1000 {
//!     limiter.log("bad frame", || logged += 1);
//! }
//! assert_eq!(logged, 3);
//! assert_eq!(limiter.pending("bad frame"), 997);
//! ```

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

/// Lines of one kind a node logs at once before limiting ([`LogLimiter::node_default`]).
pub const LOG_BURST: u32 = 10;
/// After its burst, a kind gets one more line per this interval.
pub const LOG_REFILL: Duration = Duration::from_secs(2);

/// A token bucket of log lines per kind. Shared by everything logging on a node
/// ([`crate::Node::log_limiter`]); a logging layer can keep its own.
pub struct LogLimiter {
    label: String,
    burst: u32,
    refill: Duration,
    kinds: Mutex<FxHashMap<&'static str, Bucket>>,
}

impl std::fmt::Debug for LogLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLimiter")
            .field("label", &self.label)
            .field("burst", &self.burst)
            .field("refill", &self.refill)
            .finish_non_exhaustive()
    }
}

struct Bucket {
    /// Lines that may be logged now.
    tokens: u32,
    /// When the last token was added (or the bucket made).
    refilled: Instant,
    /// Lines suppressed since the last one logged (reported when the kind resumes).
    pending: u64,
    /// Lines suppressed since the start.
    total: u64,
}

/// What [`LogLimiter::admit`] decided about one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Log it; `suppressed` lines of the same kind were dropped since the last one
    /// logged (report them).
    Log {
        /// Lines of this kind dropped since the last logged.
        suppressed: u64,
    },
    /// Drop it: the kind has used up its lines (it is counted).
    Suppress,
}

impl LogLimiter {
    /// At most `burst` lines of a kind at once, then one more per `refill`.
    pub fn new(burst: u32, refill: Duration) -> LogLimiter {
        LogLimiter {
            label: String::new(),
            burst: burst.max(1),
            refill: refill.max(Duration::from_nanos(1)),
            kinds: Mutex::default(),
        }
    }

    /// A node's limiter: [`LOG_BURST`] lines, then one per [`LOG_REFILL`]; its summary
    /// lines name the node.
    pub fn node_default(node: &str) -> LogLimiter {
        let mut limiter = LogLimiter::new(LOG_BURST, LOG_REFILL);
        limiter.label = node.to_owned();
        limiter
    }

    /// Decides about one line of `kind`, now.
    pub fn admit(&self, kind: &'static str) -> Admit {
        self.admit_at(kind, Instant::now())
    }

    /// Decides about one line of `kind` at the instant `now` (for tests and callers
    /// that read the clock already).
    pub fn admit_at(&self, kind: &'static str, now: Instant) -> Admit {
        let mut kinds = self.kinds.lock();
        let b = kinds.entry(kind).or_insert(Bucket {
            tokens: self.burst,
            refilled: now,
            pending: 0,
            total: 0,
        });
        if b.tokens < self.burst {
            let elapsed = now.saturating_duration_since(b.refilled);
            let earned = elapsed.as_nanos() / self.refill.as_nanos();
            if earned > 0 {
                let room = u128::from(self.burst - b.tokens);
                b.tokens += earned.min(room) as u32;
                b.refilled = if b.tokens == self.burst {
                    now
                } else {
                    b.refilled + self.refill * earned as u32
                };
            }
        } else {
            b.refilled = now;
        }
        if b.tokens == 0 {
            b.pending += 1;
            b.total += 1;
            return Admit::Suppress;
        }
        b.tokens -= 1;
        Admit::Log {
            suppressed: std::mem::take(&mut b.pending),
        }
    }

    /// Runs `log` (which writes the line) if `kind` has a line left; a summary of the
    /// lines suppressed since the last one of this kind is logged first. Otherwise only
    /// counts the line.
    pub fn log(&self, kind: &'static str, log: impl FnOnce()) {
        if let Admit::Log { suppressed } = self.admit(kind) {
            if suppressed > 0 {
                self.summarize(kind, suppressed);
            }
            log();
        }
    }

    /// Reports every kind's suppressed lines not reported yet (when the node stops).
    pub fn flush(&self) {
        let pending: Vec<(&'static str, u64)> = self
            .kinds
            .lock()
            .iter_mut()
            .filter_map(|(kind, b)| {
                let n = std::mem::take(&mut b.pending);
                (n > 0).then_some((*kind, n))
            })
            .collect();
        for (kind, n) in pending {
            self.summarize(kind, n);
        }
    }

    /// Lines of `kind` suppressed and not reported yet.
    pub fn pending(&self, kind: &str) -> u64 {
        self.kinds.lock().get(kind).map_or(0, |b| b.pending)
    }

    /// Lines suppressed since the start, by kind (for metrics).
    pub fn suppressed_totals(&self) -> Vec<(&'static str, u64)> {
        let mut totals: Vec<_> = self
            .kinds
            .lock()
            .iter()
            .filter(|(_, b)| b.total > 0)
            .map(|(k, b)| (*k, b.total))
            .collect();
        totals.sort_unstable();
        totals
    }

    fn summarize(&self, kind: &'static str, suppressed: u64) {
        tracing::warn!(
            node = %self.label,
            kind,
            suppressed,
            "similar warnings suppressed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_kind_gets_its_burst_then_one_line_per_refill() {
        let limiter = LogLimiter::new(3, Duration::from_secs(1));
        let t0 = Instant::now();
        let mut decisions = Vec::new();
        for _ in 0..5 {
            decisions.push(limiter.admit_at("k", t0));
        }
        assert_eq!(
            decisions,
            [
                Admit::Log { suppressed: 0 },
                Admit::Log { suppressed: 0 },
                Admit::Log { suppressed: 0 },
                Admit::Suppress,
                Admit::Suppress
            ]
        );
        // Half a refill later: still nothing.
        assert_eq!(
            limiter.admit_at("k", t0 + Duration::from_millis(500)),
            Admit::Suppress
        );
        // One refill later: one line, which reports the three suppressed.
        let t1 = t0 + Duration::from_millis(1000);
        assert_eq!(limiter.admit_at("k", t1), Admit::Log { suppressed: 3 });
        assert_eq!(limiter.admit_at("k", t1), Admit::Suppress);
        // A long pause refills the burst, no more.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(matches!(limiter.admit_at("k", t2), Admit::Log { .. }));
        }
        assert_eq!(limiter.admit_at("k", t2), Admit::Suppress);
        assert_eq!(limiter.suppressed_totals(), [("k", 5)]);
    }

    /// Collects the events a subscriber sees: (message, kind, suppressed).
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<(String, String, u64)>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Lines {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            #[derive(Default)]
            struct V(String, String, u64);
            impl tracing::field::Visit for V {
                fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                    match f.name() {
                        "message" => self.0 = format!("{v:?}"),
                        "kind" => self.1 = format!("{v:?}").trim_matches('"').to_owned(),
                        _ => {}
                    }
                }
                fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                    match f.name() {
                        "kind" => self.1 = v.to_owned(),
                        _ => self.record_debug(f, &v),
                    }
                }
                fn record_u64(&mut self, f: &tracing::field::Field, v: u64) {
                    if f.name() == "suppressed" {
                        self.2 = v;
                    }
                }
            }
            let mut v = V::default();
            event.record(&mut v);
            self.0.lock().push((v.0, v.1, v.2));
        }
    }

    #[test]
    fn a_flood_of_one_kind_is_bounded_while_another_still_logs_and_counts_are_reported() {
        use tracing_subscriber::layer::SubscriberExt;
        let lines = Lines::default();
        let subscriber = tracing_subscriber::registry().with(lines.clone());
        tracing::subscriber::with_default(subscriber, || {
            let limiter = LogLimiter::node_default("n@127.0.0.1");
            for i in 0..10_000 {
                limiter.log("flood", || tracing::warn!(kind = "flood", "bad frame {i}"));
                if i % 1000 == 0 {
                    limiter.log("other", || tracing::warn!(kind = "other", "other {i}"));
                }
            }
            limiter.flush();
        });
        let lines = lines.0.lock();
        let flood = lines
            .iter()
            .filter(|l| l.1 == "flood" && l.0.starts_with("bad frame"))
            .count();
        let other = lines.iter().filter(|l| l.1 == "other").count();
        // However fast it repeats, the flood gets its burst (plus what the clock
        // refilled meanwhile, far below the 10,000 tries).
        assert!(
            flood >= LOG_BURST as usize && flood < 100,
            "{flood} flood lines"
        );
        // The other kind was never limited by the flood.
        assert_eq!(other, 10);
        // Every suppressed flood line is accounted for in the summaries.
        let summarized: u64 = lines
            .iter()
            .filter(|l| l.0 == "similar warnings suppressed" && l.1 == "flood")
            .map(|l| l.2)
            .sum();
        assert_eq!(summarized as usize + flood, 10_000);
    }
}
