//! Cooperation with tokio's paused clock (`#[tokio::test(start_paused = true)]`).
//!
//! With time paused, tokio advances the clock to the next timer as soon as its runtime
//! has nothing to do. Processes run on ergo's scheduler threads, which tokio cannot see:
//! while a handler works, tokio would find itself idle and jump ahead, so a timer the
//! handler is about to arm would fire late and a call's timeout would expire while the
//! answer is being computed. A node started on a paused clock therefore keeps a
//! [`ClockGate`]: every queueing of one of its processes on a scheduler counts as work
//! in flight, and while any is in flight one tokio blocking task stays alive. Tokio does
//! not auto-advance while a blocking task runs, so virtual time moves only when every
//! process of the node is idle or awaiting something tokio can see (a timer, I/O).
//!
//! A node on a running clock has no gate: the cost on the hot path is one branch.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tokio::runtime::{Handle, RuntimeFlavor};

/// Work of one node in flight on the scheduler, made visible to a paused tokio clock.
pub(crate) struct ClockGate {
    state: Mutex<State>,
    idle: Condvar,
    runtime: Handle,
}

struct State {
    /// Queueings of the node's processes not yet run to the end of their turn.
    busy: usize,
    /// A blocking task is alive (holding tokio's clock).
    holding: bool,
    /// The node stopped: nothing holds the clock any more.
    closed: bool,
}

impl ClockGate {
    /// A gate if `runtime`'s clock is paused now (only a current-thread runtime can be).
    pub(crate) fn detect(runtime: &Handle) -> Option<std::sync::Arc<ClockGate>> {
        if runtime.runtime_flavor() != RuntimeFlavor::CurrentThread || !clock_is_paused() {
            return None;
        }
        let gate = Self::new(runtime.clone());
        // The runtime drops its tasks when it shuts down, before it waits for its
        // blocking tasks: this one's drop lets the clock go, so a process still busy
        // when a test ends cannot keep the runtime from shutting down.
        let closer = Closer(gate.clone());
        drop(runtime.spawn(async move {
            let _closer = closer;
            std::future::pending::<()>().await;
        }));
        Some(gate)
    }

    pub(crate) fn new(runtime: Handle) -> std::sync::Arc<ClockGate> {
        std::sync::Arc::new(ClockGate {
            state: Mutex::new(State {
                busy: 0,
                holding: false,
                closed: false,
            }),
            idle: Condvar::new(),
            runtime,
        })
    }

    /// A process is queued to run. Call before it is handed to a scheduler.
    pub(crate) fn enter(self: &std::sync::Arc<Self>) {
        let mut state = self.state.lock();
        state.busy += 1;
        if state.holding || state.closed {
            return;
        }
        state.holding = true;
        // Spawning a blocking task stops tokio's auto-advance at once (before
        // `spawn_blocking` returns), until the task ends.
        let gate = self.clone();
        drop(state);
        drop(self.runtime.spawn_blocking(move || gate.hold()));
    }

    /// A queued process finished its turn.
    pub(crate) fn leave(&self) {
        let mut state = self.state.lock();
        state.busy = state.busy.saturating_sub(1);
        if state.busy == 0 {
            self.idle.notify_all();
        }
    }

    /// The node stopped: lets the clock go even if something still runs.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.idle.notify_all();
    }

    /// The blocking task: alive while the node's processes have work.
    fn hold(&self) {
        let mut state = self.state.lock();
        while state.busy > 0 && !state.closed {
            self.idle.wait(&mut state);
        }
        state.holding = false;
    }
}

/// Closes its gate when dropped (with the runtime's tasks).
struct Closer(std::sync::Arc<ClockGate>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// True if tokio's clock is paused: it does not move while real time does. Only called
/// on a current-thread runtime's own thread at node start, where nothing can advance a
/// paused clock during the check.
fn clock_is_paused() -> bool {
    let virtual_start = tokio::time::Instant::now();
    let real_start = std::time::Instant::now();
    while real_start.elapsed() < Duration::from_micros(20) {
        std::hint::spin_loop();
    }
    tokio::time::Instant::now() == virtual_start
}

#[cfg(all(test, not(ergo_loom)))]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_running_clock_gets_no_gate() {
        assert!(ClockGate::detect(&Handle::current()).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_multi_thread_runtime_gets_no_gate() {
        assert!(ClockGate::detect(&Handle::current()).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_gets_a_gate_that_holds_it_while_busy() {
        let gate = ClockGate::detect(&Handle::current()).expect("the clock is paused");
        let start = tokio::time::Instant::now();
        gate.enter();
        // Work in flight (a thread standing for a scheduler thread): the clock cannot
        // jump to the timeout while it runs.
        let (done, finished) = tokio::sync::oneshot::channel();
        let gate2 = gate.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let _ = done.send(());
            gate2.leave();
        });
        let waited = tokio::time::timeout(Duration::from_millis(1), finished).await;
        assert!(waited.is_ok(), "virtual time ran while work was in flight");
        assert!(tokio::time::Instant::now() - start < Duration::from_millis(1));
        // Idle again: virtual time runs freely.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(tokio::time::Instant::now() - start >= Duration::from_secs(3600));
    }
}
