//! What a node spends on strangers: connections still in their handshake are capped
//! (a new one evicts the oldest, so a flood of half-open connections cannot lock
//! legitimate nodes out), the cap halves for a while each time the process runs out of
//! file descriptors (so strangers leave room for the connections a node needs), and
//! addresses whose handshakes keep failing are throttled (each further failure is
//! answered only after a delay that grows with the count).

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
/// How long a cap lowered by a shortage of file descriptors stays lowered.
const SQUEEZE_FOR: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct Guard {
    pending: Mutex<Pending>,
    failures: Mutex<FxHashMap<IpAddr, (u32, Instant)>>,
    refused: AtomicU64,
    /// The lowered cap and when it was lowered, after running out of descriptors.
    squeezed: Mutex<Option<(usize, Instant)>>,
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

    /// Admits the handshake task of `ticket`; at `cap` (or the lowered cap while
    /// descriptors are short), evicts (aborts) the oldest one still in its handshake.
    pub(crate) fn admit(&self, cap: usize, ticket: u64, task: AbortHandle) {
        let cap = match *self.squeezed.lock() {
            Some((lowered, at)) if at.elapsed() < SQUEEZE_FOR => cap.min(lowered),
            _ => cap,
        };
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

    /// The process has no file descriptor left: halves the number of strangers kept
    /// (for [`SQUEEZE_FOR`]) and evicts the oldest ones beyond it, at least one if
    /// there is any. False if there was none to evict.
    pub(crate) fn squeeze(&self) -> bool {
        let mut p = self.pending.lock();
        let keep = p.queue.len() / 2;
        *self.squeezed.lock() = Some((keep.max(1), Instant::now()));
        let evict = p.queue.len() - keep;
        for (_, oldest) in p.queue.drain(..evict) {
            oldest.abort();
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        evict > 0
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
    async fn running_out_of_descriptors_halves_the_strangers_kept() {
        let g = Guard::default();
        let tasks: Vec<_> = (0..9)
            .map(|_| tokio::spawn(std::future::pending::<()>()))
            .collect();
        for task in &tasks[..8] {
            g.admit(16, g.ticket(), task.abort_handle());
        }
        assert!(g.squeeze());
        assert_eq!(g.pending(), 4, "the oldest half evicted");
        assert_eq!(g.refused(), 4);
        // The lowered cap holds for newcomers too.
        g.admit(16, g.ticket(), tasks[8].abort_handle());
        assert_eq!(g.pending(), 4);
        let mut tasks = tasks.into_iter();
        assert!(tasks.next().unwrap().await.unwrap_err().is_cancelled());
        let empty = Guard::default();
        assert!(!empty.squeeze(), "nothing to evict");
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
