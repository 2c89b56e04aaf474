//! Call timeouts without a tokio timer per call. A calling process keeps the deadlines
//! of its pending calls in one list, and one timer task fires at the earliest of them:
//! a process making sequential calls arms a timer once per timeout period, not once
//! per call. The timer wakes the calls that are due; each call decides for itself
//! (deadline passed, no reply) that it timed out.

use std::sync::Arc;
use std::task::Waker;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::time::Instant;

/// The pending calls of one process and its timer.
pub(crate) struct Deadlines {
    inner: Mutex<Inner>,
    runtime: Handle,
}

struct Inner {
    entries: Vec<Entry>,
    /// When the earliest live timer task fires, if one is armed.
    armed: Option<Instant>,
    next_id: u64,
}

struct Entry {
    id: u64,
    at: Instant,
    waker: Waker,
}

impl Deadlines {
    pub(crate) fn new(runtime: Handle) -> Self {
        Deadlines {
            inner: Mutex::new(Inner {
                entries: Vec::new(),
                armed: None,
                next_id: 0,
            }),
            runtime,
        }
    }

    /// Lists a pending call due at `at`, to be woken through `waker` then; returns its
    /// id for [`Deadlines::update`] and [`Deadlines::remove`].
    pub(crate) fn register(self: &Arc<Self>, at: Instant, waker: &Waker) -> u64 {
        let mut inner = self.inner.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.push(Entry {
            id,
            at,
            waker: waker.clone(),
        });
        let arm = inner.armed.is_none_or(|armed| at < armed);
        if arm {
            inner.armed = Some(at);
        }
        drop(inner);
        if arm {
            self.arm(at);
        }
        id
    }

    /// The call is now polled with another waker.
    pub(crate) fn update(&self, id: u64, waker: &Waker) {
        let mut inner = self.inner.lock();
        if let Some(entry) = inner.entries.iter_mut().rev().find(|e| e.id == id) {
            if !entry.waker.will_wake(waker) {
                entry.waker = waker.clone();
            }
        }
    }

    /// The call is over (answered, timed out or dropped).
    pub(crate) fn remove(&self, id: u64) {
        let mut inner = self.inner.lock();
        if let Some(i) = inner.entries.iter().rposition(|e| e.id == id) {
            inner.entries.swap_remove(i);
        }
    }

    fn arm(self: &Arc<Self>, at: Instant) {
        let this = self.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep_until(at).await;
            this.fire(at);
        });
    }

    /// The timer armed for `at` fired: wakes the calls that are due and arms the timer
    /// for the earliest of the others, unless an earlier one is armed already.
    fn fire(self: &Arc<Self>, at: Instant) {
        let now = Instant::now();
        let mut due = Vec::new();
        let mut inner = self.inner.lock();
        if inner.armed == Some(at) {
            inner.armed = None;
        }
        let mut next: Option<Instant> = None;
        for entry in &inner.entries {
            if entry.at <= now {
                due.push(entry.waker.clone());
            } else {
                next = Some(next.map_or(entry.at, |n| n.min(entry.at)));
            }
        }
        let rearm = next.filter(|n| inner.armed.is_none_or(|armed| *n < armed));
        if let Some(n) = rearm {
            inner.armed = Some(n);
        }
        drop(inner);
        if let Some(n) = rearm {
            self.arm(n);
        }
        for waker in due {
            waker.wake();
        }
    }
}

#[cfg(all(test, not(ergo_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;
    use std::time::Duration;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[tokio::test]
    async fn a_due_call_is_woken_and_a_removed_one_is_not() {
        let deadlines = Arc::new(Deadlines::new(Handle::current()));
        let (due, due_waker) = waker();
        let (gone, gone_waker) = waker();
        let soon = Instant::now() + Duration::from_millis(1);
        let id = deadlines.register(soon, &gone_waker);
        deadlines.register(soon, &due_waker);
        deadlines.remove(id);
        while due.0.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(gone.0.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_timer_rearms_for_a_later_call() {
        let deadlines = Arc::new(Deadlines::new(Handle::current()));
        let (first, first_waker) = waker();
        let (second, second_waker) = waker();
        let now = Instant::now();
        let a = deadlines.register(now + Duration::from_millis(1), &first_waker);
        // Armed for the first only: the second is later.
        deadlines.register(now + Duration::from_millis(5), &second_waker);
        while first.0.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        deadlines.remove(a);
        while second.0.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(Instant::now() >= now + Duration::from_millis(5));
    }
}
