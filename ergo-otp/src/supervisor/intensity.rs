//! Restart intensity: a sliding window of restart times; more than `max` restarts
//! within `period` means the supervisor gives up.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The restarts of the last `period`.
#[derive(Debug)]
pub(crate) struct RestartWindow {
    max: u32,
    period: Duration,
    times: VecDeque<Instant>,
}

impl RestartWindow {
    pub(crate) fn new(max: u32, period: Duration) -> Self {
        RestartWindow {
            max,
            period,
            times: VecDeque::new(),
        }
    }

    /// Records a restart now; true if that makes more than `max` within `period`.
    pub(crate) fn exceeded_after_one_more(&mut self) -> bool {
        let now = Instant::now();
        self.times.push_back(now);
        while let Some(first) = self.times.front() {
            if now.duration_since(*first) >= self.period {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.len() > self.max as usize
    }

    /// The limit and period, for the exit reason.
    pub(crate) fn describe(&self) -> String {
        format!(
            "more than {} restarts within {} ms",
            self.max,
            self.period.as_millis()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_max_within_period_exceeds() {
        let mut w = RestartWindow::new(2, Duration::from_secs(3600));
        assert!(!w.exceeded_after_one_more());
        assert!(!w.exceeded_after_one_more());
        assert!(w.exceeded_after_one_more());
    }

    #[test]
    fn zero_intensity_exceeds_at_once() {
        let mut w = RestartWindow::new(0, Duration::from_secs(1));
        assert!(w.exceeded_after_one_more());
    }

    #[test]
    fn zero_period_never_accumulates() {
        let mut w = RestartWindow::new(1, Duration::ZERO);
        for _ in 0..10 {
            assert!(!w.exceeded_after_one_more());
        }
    }
}
