//! Refused incoming connections (bad TLS, wrong cookie, garbage), logged at a bounded
//! rate: a flood of them costs a few lines, not one line each.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How many refusals are logged one by one per window.
const PER_WINDOW: u32 = 10;
/// The length of a window.
const WINDOW: Duration = Duration::from_secs(10);

/// Counts refusals per window; logs the first [`PER_WINDOW`] of each, then how many more
/// there were when the next window opens.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    state: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    start: Option<Instant>,
    seen: u32,
}

impl Refusals {
    /// Notes a refused connection from `addr` (and the node it claimed, if any);
    /// whether it was logged.
    pub(crate) fn refused(&self, addr: SocketAddr, peer: Option<&str>, why: &str) -> bool {
        let now = Instant::now();
        let (log, skipped) = {
            let mut w = self.state.lock();
            let mut skipped = 0;
            if w.start.is_none_or(|s| now.duration_since(s) >= WINDOW) {
                skipped = w.seen.saturating_sub(PER_WINDOW);
                *w = Window {
                    start: Some(now),
                    seen: 0,
                };
            }
            w.seen = w.seen.saturating_add(1);
            (w.seen <= PER_WINDOW, skipped)
        };
        if skipped > 0 {
            tracing::warn!(skipped, "refused {skipped} more connections (not logged)");
        }
        if log {
            match peer {
                Some(peer) => tracing::warn!(%addr, %peer, reason = %why, "refused a connection"),
                None => tracing::warn!(%addr, reason = %why, "refused a connection"),
            }
        }
        log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_refusals_logs_a_bounded_number_of_lines() {
        let refusals = Refusals::default();
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let logged = (0..10_000)
            .filter(|_| refusals.refused(addr, None, "garbage"))
            .count();
        // Unless the loop straddles a window (10 s), exactly the first PER_WINDOW.
        assert!(
            (PER_WINDOW as usize..=2 * PER_WINDOW as usize).contains(&logged),
            "{logged}"
        );
    }
}
