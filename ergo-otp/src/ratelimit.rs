//! A per-process limit on repeated warnings (a pool dropping work, a router finding no
//! route): the first few per second are logged, the rest counted and reported in one
//! line when the next second begins. A process owns its limiter, so it needs no lock.

use std::time::{Duration, Instant};

/// Lines logged per window.
const PER_WINDOW: u32 = 5;
/// The window.
const WINDOW: Duration = Duration::from_secs(1);

/// Counts warnings of one kind.
#[derive(Debug)]
pub(crate) struct Warnings {
    start: Instant,
    logged: u32,
    suppressed: u64,
}

impl Default for Warnings {
    fn default() -> Self {
        Warnings {
            start: Instant::now(),
            logged: 0,
            suppressed: 0,
        }
    }
}

impl Warnings {
    /// Runs `log` unless this window's lines are used up; reports what the previous
    /// window suppressed first.
    pub(crate) fn warn(&mut self, what: &'static str, log: impl FnOnce()) {
        let now = Instant::now();
        if now.duration_since(self.start) >= WINDOW {
            let suppressed = std::mem::take(&mut self.suppressed);
            if suppressed > 0 {
                tracing::warn!(suppressed, "{what}: more of the same in the last second");
            }
            self.start = now;
            self.logged = 0;
        }
        if self.logged < PER_WINDOW {
            self.logged += 1;
            log();
        } else {
            self.suppressed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_lines_of_a_window_are_logged() {
        let mut w = Warnings::default();
        let mut logged = 0;
        for _ in 0..100 {
            w.warn("test", || logged += 1);
        }
        assert_eq!(logged, PER_WINDOW);
        assert_eq!(w.suppressed, 100 - u64::from(PER_WINDOW));
    }
}
