//! Mailbox latency: how long the oldest message of a process has waited.
//!
//! Off by default ([`crate::Node::set_latency_tracking`]). When on, a sender stamps each
//! message with the microseconds since the node started (a 32-bit count, so ages are
//! exact up to about 71 minutes and wrap after that); the stamp lives in what was
//! padding in the queue node, so no memory is added per message. When off the stamp
//! is 0 and nothing else happens: a sender writes a constant, the runner tests one
//! word it has in cache anyway.
//!
//! Each queue's *oldest stamp* is kept in the mailbox's rarely-used part (allocated on
//! the first stamped message, so an idle process pays nothing): a sender whose
//! message finds no oldest stamp publishes its own; the runner, after taking a stamped
//! message, clears the oldest stamp, then (after a `SeqCst` fence, pairing with the
//! sender's fence after its push) publishes the stamp of the new head if there is one.
//! Either the runner sees the sender's node or the sender sees the cleared stamp, so a
//! message waiting behind a busy or blocked runner is always accounted for. Inspection
//! reads the oldest stamps and never touches the queues.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Nodes of this program that track latency (a node that stops with tracking on stays
/// counted). While it is 0, a sender does not look at the receiver's node at all: the
/// node's flag sits on the receiver's side of the process cell.
static TRACKING_NODES: AtomicUsize = AtomicUsize::new(0);

/// A node turned tracking on (`true`) or off.
pub(crate) fn count_tracking_node(on: bool) {
    if on {
        TRACKING_NODES.fetch_add(1, Ordering::Relaxed);
    } else {
        TRACKING_NODES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// False while no node of this program tracks latency.
#[inline]
pub(crate) fn some_node_tracks() -> bool {
    TRACKING_NODES.load(Ordering::Relaxed) != 0
}

/// The stamp of a message queued now, for a node started at `started`; never 0.
#[inline]
pub(crate) fn stamp(started: Instant) -> u32 {
    (started.elapsed().as_micros() as u32) | 1
}

/// How long a message stamped `since` has waited at `now` (both stamps).
pub(crate) fn age(now: u32, since: u32) -> Duration {
    Duration::from_micros(u64::from(now.wrapping_sub(since)))
}

/// The longest wait among the oldest stamps of a mailbox's queues (0 entries: nothing
/// stamped waits there), at the stamp `now`.
pub(crate) fn oldest(now: u32, since: [u32; 4]) -> Duration {
    since
        .iter()
        .filter(|&&s| s != 0)
        .map(|&s| age(now, s))
        .max()
        .unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_exact_across_the_wrap_of_the_stamp() {
        assert_eq!(age(10, u32::MAX - 9), Duration::from_micros(20));
        assert_eq!(age(1_000_001, 1), Duration::from_secs(1));
        assert_eq!(oldest(100, [0, 0, 0, 0]), Duration::ZERO);
        assert_eq!(oldest(100, [0, 91, 41, 0]), Duration::from_micros(59));
    }
}
