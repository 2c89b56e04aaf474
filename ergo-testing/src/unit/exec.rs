//! The executor of unit mode: polls a handler's future on the test's thread until it
//! completes. Calls through the handles a harness gave out complete at once, so a
//! handler that only awaits those (and its own code) never waits.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Polls allowed to one future (each after a wake-up it gave itself, as `yield_now`).
const POLLS: usize = 100_000;

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// Runs `future` to completion. Panics if it waits for something nothing will wake
/// (a tokio timer, a socket, a process of a real node): unit mode has no clock and
/// no I/O driver; use `Context::send_after` for timers.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    for _ in 0..POLLS {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        if !flag.0.swap(false, Ordering::AcqRel) {
            panic!(
                "unit mode: the handler awaits something that never completes here (a tokio \
                 timer, I/O, a process of a real node). Unit mode answers calls through the \
                 handles it gave out at once; arm timers with `Context::send_after` and fire \
                 them with `Unit::advance`"
            );
        }
    }
    panic!("unit mode: the handler was still running after {POLLS} polls")
}
