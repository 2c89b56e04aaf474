//! What a node spends on strangers: connections still in their handshake are capped
//! (a new one evicts the oldest, so a flood of half-open connections cannot lock
//! legitimate nodes out), and addresses whose handshakes keep failing are throttled
//! (each further failure is answered only after a delay that grows with the count).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::task::AbortHandle;

/// Failures counted per address within this window.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most (the table is cleared of old entries beyond).
const MAX_TRACKED: usize = 4096;
/// The delay before refusing grows by this per recent failure...
const DELAY_STEP: Duration = Duration::from_millis(20);
/// ...up to this.
const MAX_DELAY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(crate) struct Guard {
    pending: Mutex<Pending>,
    failures: Mutex<FxHashMap<IpAddr, (u32, Instant)>>,
    refused: AtomicU64,
}

#[derive(Default)]
struct Pending {
    next: u64,
    queue: VecDeque<(u64, AbortHandle)>,
    /// Tickets that ended before they were admitted.
    early: Vec<u64>,
}

impl Guard {
    /// A ticket for a connection about to start its handshake.
    pub(crate) fn ticket(&self) -> u64 {
        let mut p = self.pending.lock();
        p.next += 1;
        p.next
    }

    /// Admits the handshake task of `ticket`; at `cap`, evicts (aborts) the oldest one
    /// still in its handshake.
    pub(crate) fn admit(&self, cap: usize, ticket: u64, task: AbortHandle) {
        let mut p = self.pending.lock();
        if let Some(i) = p.early.iter().position(|t| *t == ticket) {
            p.early.swap_remove(i);
            return;
        }
        while p.queue.len() >= cap.max(1) {
            if let Some((_, oldest)) = p.queue.pop_front() {
                oldest.abort();
                self.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        p.queue.push_back((ticket, task));
    }

    /// Evicts the oldest connection still in its handshake (to free a file descriptor
    /// when the process has none left); false if there was none.
    pub(crate) fn evict_oldest(&self) -> bool {
        match self.pending.lock().queue.pop_front() {
            Some((_, oldest)) => {
                oldest.abort();
                self.refused.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The handshake of `ticket` ended (either way).
    pub(crate) fn done(&self, ticket: u64) {
        let mut p = self.pending.lock();
        if let Some(i) = p.queue.iter().position(|(t, _)| *t == ticket) {
            p.queue.remove(i);
        } else if p.early.len() < 1024 {
            p.early.push(ticket);
        }
    }

    /// Connections in their handshake now.
    pub(crate) fn pending(&self) -> usize {
        self.pending.lock().queue.len()
    }

    /// Handshakes refused so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Counts a failed handshake from `ip`; how long to wait before answering it.
    pub(crate) fn failed(&self, ip: IpAddr) -> Duration {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut f = self.failures.lock();
        if f.len() >= MAX_TRACKED {
            f.retain(|_, (_, at)| now.duration_since(*at) < FAILURE_WINDOW);
            if f.len() >= MAX_TRACKED {
                f.clear();
            }
        }
        let entry = f.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        (DELAY_STEP * (entry.0 - 1)).min(MAX_DELAY)
    }

    /// A handshake from `ip` succeeded: its failures are forgiven.
    pub(crate) fn succeeded(&self, ip: IpAddr) {
        self.failures.lock().remove(&ip);
    }
}

/// At most a quarter of the process's open-file limit goes to strangers per acceptor
/// (Linux: read from `/proc/self/limits`; elsewhere `cap` as given).
pub(crate) fn within_fd_limit(cap: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        });
    match soft {
        Some(soft) => cap.min(soft / 4).max(1),
        None => cap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_wait_longer_and_success_forgives() {
        let g = Guard::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert_eq!(g.failed(ip), Duration::ZERO);
        assert_eq!(g.failed(ip), DELAY_STEP);
        for _ in 0..1000 {
            g.failed(ip);
        }
        assert_eq!(g.failed(ip), MAX_DELAY);
        g.succeeded(ip);
        assert_eq!(g.failed(ip), Duration::ZERO);
        assert_eq!(g.refused(), 1004);
    }

    #[tokio::test]
    async fn the_oldest_handshake_is_evicted_at_the_cap() {
        let g = Guard::default();
        let tasks: Vec<_> = (0..3)
            .map(|_| tokio::spawn(std::future::pending::<()>()))
            .collect();
        let t0 = g.ticket();
        g.admit(2, t0, tasks[0].abort_handle());
        for task in &tasks[1..] {
            g.admit(2, g.ticket(), task.abort_handle());
        }
        assert_eq!(g.pending(), 2);
        let mut tasks = tasks.into_iter();
        assert!(tasks.next().unwrap().await.unwrap_err().is_cancelled());
        g.done(t0); // already evicted: remembered as ended early, harmlessly
        assert_eq!(g.pending(), 2);
        let late = g.ticket();
        g.done(late); // ended before it was admitted
        g.admit(2, late, tokio::spawn(async {}).abort_handle());
        assert_eq!(g.pending(), 2);
    }
}
