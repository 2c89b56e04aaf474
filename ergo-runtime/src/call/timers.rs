//! Call deadlines of one node, without a timer per call.
//!
//! A waiting call writes its deadline into its reply slot; the slot is put on the
//! node's list once (when it first serves a call of this node), not per call, and
//! stays there while it is reused. One tokio timer task is armed for the earliest
//! deadline of the list: it wakes the callers whose deadline passed (each decides for
//! itself that it timed out) and re-arms for the earliest of the others. Sequential
//! calls with the same timeout arm a timer once per timeout period, not once per call,
//! and register nothing under a lock. The timers run on the node's runtime, so call
//! timeouts follow a paused tokio clock.
//!
//! A slot leaves the list when the timer finds that nobody else holds it any more, or
//! that it was listed again since (it served another node's call in between).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::time::Instant;

use super::slot::ReplySlot;

/// The call deadlines of one node.
pub(crate) struct CallTimers {
    id: u64,
    runtime: Handle,
    /// Deadlines are kept as nanoseconds after this instant.
    epoch: Instant,
    /// When the earliest armed timer fires (`u64::MAX`: none armed).
    armed: AtomicU64,
    /// Listed slots, each with the listing it was put on the list for.
    slots: Mutex<Vec<(Arc<ReplySlot>, u64)>>,
}

/// Numbers each listing of a slot: an entry whose slot was listed again since (on this
/// list or another) is stale.
static LISTINGS: AtomicU64 = AtomicU64::new(1);

impl CallTimers {
    pub(crate) fn new(runtime: Handle) -> Arc<Self> {
        static IDS: AtomicU64 = AtomicU64::new(1);
        Arc::new(CallTimers {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            runtime,
            epoch: Instant::now(),
            armed: AtomicU64::new(u64::MAX),
            slots: Mutex::new(Vec::new()),
        })
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch)
            .as_nanos()
            .min(u128::from(u64::MAX - 1)) as u64
    }

    /// The call waiting on `slot` times out at `at`: the timer wakes it then. Call it
    /// after the slot was opened for the call.
    pub(crate) fn watch(self: &Arc<Self>, slot: &Arc<ReplySlot>, at: Instant) {
        let at = self.nanos(at);
        slot.deadline.store(at, Ordering::Relaxed);
        if slot.list.load(Ordering::Relaxed) != self.id {
            let listing = LISTINGS.fetch_add(1, Ordering::Relaxed);
            slot.list.store(self.id, Ordering::Relaxed);
            slot.listing.store(listing, Ordering::Relaxed);
            self.slots.lock().push((slot.clone(), listing));
        }
        // Pairs with the fence in `fire`: either this call sees no earlier timer armed
        // (and arms one), or the firing timer's scan sees this call waiting.
        std::sync::atomic::fence(Ordering::SeqCst);
        self.arm_for(at);
    }

    /// Arms a timer for `at` unless one fires earlier.
    fn arm_for(self: &Arc<Self>, at: u64) {
        let mut armed = self.armed.load(Ordering::SeqCst);
        while at < armed {
            match self
                .armed
                .compare_exchange(armed, at, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    let this = self.clone();
                    let when = self.epoch + std::time::Duration::from_nanos(at);
                    drop(self.runtime.spawn(async move {
                        tokio::time::sleep_until(when).await;
                        this.fire(at);
                    }));
                    return;
                }
                Err(now) => armed = now,
            }
        }
    }

    /// The timer armed for `at` fired: wakes the calls that are due and arms a timer
    /// for the earliest of the others.
    fn fire(self: &Arc<Self>, at: u64) {
        let _ = self
            .armed
            .compare_exchange(at, u64::MAX, Ordering::SeqCst, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        let now = self.nanos(Instant::now());
        let mut next = u64::MAX;
        let mut due = Vec::new();
        self.slots.lock().retain(|(slot, listing)| {
            // Only the list holds it, or it was listed again since: off the list.
            if Arc::strong_count(slot) == 1 || slot.listing.load(Ordering::Relaxed) != *listing {
                return false;
            }
            if slot.is_waiting() {
                let deadline = slot.deadline.load(Ordering::Relaxed);
                if deadline <= now {
                    due.push(slot.clone());
                } else {
                    next = next.min(deadline);
                }
            }
            true
        });
        for slot in due {
            slot.wake();
        }
        if next != u64::MAX {
            self.arm_for(next);
        }
    }

    /// Slots on the list (for tests).
    #[cfg(all(test, not(ergo_loom)))]
    fn listed(&self) -> usize {
        self.slots.lock().len()
    }
}

#[cfg(all(test, not(ergo_loom)))]
mod tests {
    use super::super::slot::{Pending, Polled};
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};
    use std::time::Duration;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_due_call_is_woken_an_answered_one_is_not_and_slots_stay_listed_once() {
        let timers = CallTimers::new(Handle::current());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        // An answered call: its slot goes back to the pool, listed once.
        let answered = Pending::open();
        timers.watch(answered.slot(), Instant::now() + Duration::from_millis(5));
        assert!(matches!(answered.poll::<()>(&waker), Polled::Waiting));
        answered.writer().put::<()>(Ok(()));
        assert_eq!(count.0.swap(0, Ordering::SeqCst), 1);
        assert!(matches!(answered.poll::<()>(&waker), Polled::Ready(Ok(()))));
        answered.close();
        // The next call reuses the slot: not listed again.
        let waiting = Pending::open();
        timers.watch(waiting.slot(), Instant::now() + Duration::from_millis(10));
        assert_eq!(timers.listed(), 1);
        assert!(matches!(waiting.poll::<()>(&waker), Polled::Waiting));
        tokio::time::sleep(Duration::from_millis(6)).await;
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "not due yet");
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken at its deadline");
        assert!(waiting.cancel::<()>().is_none());
        waiting.close();
    }
}
