//! The scheduler: one thread per core, each with a local run queue, a shared injector
//! for wake-ups from outside, and work stealing between them.
//!
//! A process is not a task: when a sender wins it from `Idle`, the process itself is
//! pushed here, and a scheduler thread runs it for a bounded number of reductions. An
//! idle process owns no thread and no task. A process woken by the running one goes to
//! the thread's *next* slot and runs right after it, on the same core (at most
//! `NEXT_IN_A_ROW` times in a row); a process out of budget goes to the back of the
//! stealable queue. Idle scheduler threads spin briefly, then park; they are unparked
//! when work arrives (never busy-polled).
//!
//! Hand-off: a connection's reader (a tokio task) that wins an idle process inside a
//! [`batch`] carrying a request or an answer ([`exchange`]; plain messages and streams
//! go to the schedulers, so that reading and handling overlap) keeps it (at most
//! [`HAND_OFF`] per batch, none for a batch over [`BULK_FRAMES`]) and, when the batch
//! ends, runs
//! its turn in a task of its own on the same tokio worker thread (tokio's next-task
//! slot: it runs as soon as the reader waits for the socket), instead of queueing it
//! and waking a scheduler thread. A remote call then costs no thread hand-off on the
//! callee's side, nor on the caller's (the reply wakes the caller the same way). The
//! turn is a task of its own, not a call on the reader's stack, so a long handler holds
//! a tokio worker but never the connection: the reader is woken on another worker.
//! That worker is held for one turn at most: a process whose handed-off turn took
//! longer than [`SLOW_TURN`] runs its next turns on the schedulers (more of them each
//! time it happens again). On a current-thread runtime nothing is handed off (its one
//! thread runs the readers too). A thread whose handed-off turns wrote to a socket
//! then watches the reader's socket for up to [`READ_SPIN`] before its worker sleeps,
//! so that the answer finds it awake.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::sync::{Parker, Unparker};
use tokio::runtime::{EnterGuard, Handle};

use crate::sync::{fence, Ordering};

/// Something a scheduler thread can run: a process with work to do.
pub(crate) trait Runnable: Send + Sync + 'static {
    /// Runs until idle, out of budget, or awaiting. Re-schedules itself if needed.
    fn run(self: Arc<Self>);

    /// False while it runs on scheduler threads only (a turn of it run off the
    /// schedulers was slow).
    fn may_hand_off(&self) -> bool {
        false
    }

    /// Takes note that a turn of it run off the schedulers took longer than
    /// [`SLOW_TURN`].
    fn slow_hand_off(&self) {}
}

pub(crate) type Task = Arc<dyn Runnable>;

/// Reductions (messages handled plus messages sent) a process may use per turn.
pub(crate) const BUDGET: u32 = 256;
/// How long one idle scheduler looks for work before parking: long enough to catch the
/// next request of a caller outside the scheduler, short enough not to burn a core.
const SPIN: Duration = Duration::from_micros(50);

struct Shared {
    injector: Injector<Task>,
    stealers: Vec<Stealer<Task>>,
    unparkers: Vec<Unparker>,
    /// Bit i set: scheduler i is parked (or about to park).
    sleeping: AtomicU64,
    /// Schedulers spinning for work; at most one at a time.
    spinning: AtomicU32,
}

/// Turns in a row a scheduler thread may take from its next slot before it looks at its
/// queue again (so a ping-pong pair cannot starve what waits there).
const NEXT_IN_A_ROW: u32 = 16;

thread_local! {
    static LOCAL: Cell<Option<&'static Worker<Task>>> = const { Cell::new(None) };
    /// The process to run after the current turn.
    static NEXT: Cell<Option<Task>> = const { Cell::new(None) };
    static REDUCTIONS: Cell<u32> = const { Cell::new(0) };
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<&'static Shared> = OnceLock::new();
    SHARED.get_or_init(start)
}

fn start() -> &'static Shared {
    let n = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 64);
    let workers: Vec<Worker<Task>> = (0..n).map(|_| Worker::new_fifo()).collect();
    let parkers: Vec<Parker> = (0..n).map(|_| Parker::new()).collect();
    let shared: &'static Shared = Box::leak(Box::new(Shared {
        injector: Injector::new(),
        stealers: workers.iter().map(Worker::stealer).collect(),
        unparkers: parkers.iter().map(|p| p.unparker().clone()).collect(),
        sleeping: AtomicU64::new(0),
        spinning: AtomicU32::new(0),
    }));
    for (index, (worker, parker)) in workers.into_iter().zip(parkers).enumerate() {
        std::thread::Builder::new()
            .name(format!("ergo-sched-{index}"))
            .spawn(move || worker_loop(shared, index, worker, parker))
            .expect("cannot start scheduler thread");
    }
    shared
}

/// Queues a process to run. Woken from a scheduler thread, it goes to that thread's
/// *next* slot: it runs right after the current turn, on the same core, while what it
/// was sent is still in cache (it cannot be stolen; a previous occupant moves to the
/// stealable queue).
#[inline]
pub(crate) fn schedule(task: Task) {
    match LOCAL.get() {
        Some(local) => {
            if let Some(previous) = NEXT.replace(Some(task)) {
                local.push(previous);
                // More than one waiting here: let a parked sibling steal.
                wake_one(shared());
            }
        }
        None => schedule_from_outside(task),
    }
}

/// [`schedule`] off the scheduler threads: kept for a batch's hand-off, or queued on
/// the injector.
#[inline(never)]
fn schedule_from_outside(task: Task) {
    let Some(task) = hold(task) else {
        return;
    };
    let shared = shared();
    shared.injector.push(task);
    match BATCH.get() {
        0 => wake_one(shared),
        // The first process of a batch is woken at once (no added latency);
        // the others at the end, with one wake-up.
        _ if !BATCH_WOKE.replace(true) => wake_one(shared),
        _ => HELD_WAKE.set(true),
    }
}

/// Work a transport runs once the current process turn ends (on a scheduler thread), or
/// once the current [`batch`] ends (elsewhere): typically writing out what the turn
/// appended to a connection's buffer, so that a turn's frames leave in one write.
pub trait AfterTurn: Send + Sync + 'static {
    /// Runs the deferred work.
    fn after_turn(&self);
}

thread_local! {
    /// What runs after the current turn or batch.
    static AFTER: RefCell<Vec<Arc<dyn AfterTurn>>> = const { RefCell::new(Vec::new()) };
    /// Depth of [`batch`] scopes on this (non-scheduler) thread.
    static BATCH: Cell<u32> = const { Cell::new(0) };
    /// A process was queued inside a batch: wake a sleeping scheduler at its end.
    static HELD_WAKE: Cell<bool> = const { Cell::new(false) };
    /// The current batch has woken a scheduler already.
    static BATCH_WOKE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` after the current process turn (on a scheduler thread) or at the end of
/// the current [`batch`]. False, and nothing is queued, anywhere else: the caller does
/// the work some other way.
pub(crate) fn after_turn(work: Arc<dyn AfterTurn>) -> bool {
    if !on_scheduler() && BATCH.get() == 0 {
        return false;
    }
    AFTER.with_borrow_mut(|after| after.push(work));
    true
}

/// Processes a batch may keep to run on its own thread (see the module docs); the
/// others go to the schedulers.
pub(crate) const HAND_OFF: usize = 4;
/// A handed-off turn longer than this makes its process run on the schedulers only.
pub(crate) const SLOW_TURN: Duration = Duration::from_millis(1);

thread_local! {
    /// Processes won from idle inside the current batch, kept for its end.
    static HELD: RefCell<[Option<Task>; HAND_OFF]> = const { RefCell::new([const { None }; HAND_OFF]) };
    /// This thread runs handed-off turns: what they wake goes to the schedulers.
    static HANDING: Cell<bool> = const { Cell::new(false) };
}

/// Inside a batch that carries a request or an answer (see [`exchange`]; and not
/// itself running handed-off turns), keeps `task` for the batch's end if there is room
/// and the process may be handed off; gives it back otherwise.
fn hold(task: Task) -> Option<Task> {
    if BATCH.get() == 0 || HANDING.get() || !EXCHANGE.get() || !task.may_hand_off() {
        return Some(task);
    }
    HELD.with_borrow_mut(|held| match held.iter_mut().find(|t| t.is_none()) {
        Some(free) => {
            *free = Some(task);
            None
        }
        None => Some(task),
    })
}

/// The processes a batch kept, to run once it ends.
struct HandOff {
    tasks: [Option<Task>; HAND_OFF],
    /// The socket the batch's reader reads, watched after the turns (see
    /// [`reading_from`]).
    source: Option<Source>,
}

impl HandOff {
    /// Runs each kept process's turn (as one batch: what the turns write leaves at its
    /// end, and what they wake goes to the schedulers).
    fn run(mut self) {
        struct Handing;
        impl Drop for Handing {
            fn drop(&mut self) {
                HANDING.set(false);
            }
        }
        HANDING.set(true);
        let _handing = Handing;
        SENT.set(false);
        batch(|| {
            for task in self.tasks.iter_mut().filter_map(Option::take) {
                let start = Instant::now();
                task.clone().run();
                if start.elapsed() > SLOW_TURN {
                    task.slow_hand_off();
                }
            }
        });
        // Only turns that sent something over the network wait for an answer.
        if let Some(source) = self.source.filter(|_| SENT.replace(false)) {
            source.wait_readable(READ_SPIN);
        }
    }
}

impl Drop for HandOff {
    /// Kept processes that did not run (the runtime ended before the task did) go to
    /// the schedulers.
    fn drop(&mut self) {
        let shared = shared();
        let mut any = false;
        for task in self.tasks.iter_mut().filter_map(Option::take) {
            shared.injector.push(task);
            any = true;
        }
        if any {
            wake_one(shared);
        }
    }
}

/// At the end of a batch: the kept processes' turns run in a task of their own on this
/// tokio worker (next in its queue), or, for a stream or off a multi-threaded runtime,
/// go to the schedulers.
fn hand_off() {
    let source = SOURCE.take();
    let bulk = BULK.replace(false);
    let exchange = EXCHANGE.replace(false);
    let kept = HELD.with_borrow_mut(|held| {
        held[0].as_ref()?;
        Some(HandOff {
            tasks: std::mem::replace(held, [const { None }; HAND_OFF]),
            source,
        })
    });
    let Some(kept) = kept else { return };
    if bulk || !exchange {
        // A stream, or messages nobody waits on: the reader goes on reading while a
        // scheduler thread handles them.
        return drop(kept);
    }
    if let Ok(handle) = Handle::try_current() {
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            // A runtime shutting down drops the task, and `HandOff`'s drop queues what
            // it kept on the schedulers.
            handle.spawn(async move { kept.run() });
            return;
        }
    }
    drop(kept);
}

/// How long a thread that ran handed-off turns that wrote to a connection watches its
/// reader's socket for the next bytes before it lets its worker sleep: about a round trip, so that the answer
/// to what the turns sent (or the next request) finds the thread awake (a sleeping
/// core costs more to wake than a socket costs to watch). It yields the core between
/// looks, so any other thread ready to run there runs at once.
pub(crate) const READ_SPIN: Duration = Duration::from_micros(50);

/// A socket a reader reads.
#[derive(Clone, Copy)]
struct Source(#[cfg_attr(not(unix), allow(dead_code))] i32);

impl Source {
    /// Watches the socket until it has bytes to read, for up to `limit`.
    fn wait_readable(self, limit: Duration) {
        #[cfg(unix)]
        {
            let start = Instant::now();
            loop {
                let mut probe = libc::pollfd {
                    fd: self.0,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid `pollfd`, no wait. A descriptor closed (or even
                // reused) meanwhile only ends the watch early.
                let ready = unsafe { libc::poll(&mut probe, 1, 0) };
                if ready != 0 || start.elapsed() >= limit {
                    return;
                }
                std::thread::yield_now();
            }
        }
        #[cfg(not(unix))]
        let _ = limit;
    }
}

thread_local! {
    /// The socket the current batch's reader reads.
    static SOURCE: Cell<Option<Source>> = const { Cell::new(None) };
    /// The current batch is part of a stream (see [`BULK_FRAMES`]).
    static BULK: Cell<bool> = const { Cell::new(false) };
    /// Something was written to a connection from this thread (see [`sent`]).
    static SENT: Cell<bool> = const { Cell::new(false) };
    /// The current batch carries a request or an answer (see [`exchange`]).
    static EXCHANGE: Cell<bool> = const { Cell::new(false) };
}

/// Inside a batch: it carries a request or the answer to one, which someone waits
/// for (called before the delivery). Only processes woken from then on are handed
/// off; messages alone (casts, a stream) leave them to the schedulers, so that
/// reading and handling overlap.
pub(crate) fn exchange() {
    if BATCH.get() > 0 {
        EXCHANGE.set(true);
    }
}

/// A transport wrote to a connection from the current thread: a thread running
/// handed-off turns that sent something waits briefly for the answer.
pub(crate) fn sent() {
    SENT.set(true);
}

/// Frames in one batch beyond which the batch is part of a stream rather than a
/// request and its answer: the processes it wakes go to the schedulers, so that the
/// reader goes on reading while they work (in parallel, on another core).
pub(crate) const BULK_FRAMES: u64 = 16;

/// Inside a batch: the reader reads socket `fd`, and took `frames` frames so far. If
/// the batch hands processes off, the thread that runs their turns then watches `fd`
/// briefly ([`READ_SPIN`]) before it lets its worker sleep.
pub(crate) fn reading_from(fd: Option<i32>, frames: u64) {
    if BATCH.get() > 0 {
        SOURCE.set(fd.map(Source));
        BULK.set(frames > BULK_FRAMES);
    }
}

fn run_after_turn() {
    while let Some(work) = AFTER.with_borrow_mut(|after| after.pop()) {
        work.after_turn();
    }
}

/// Runs `f` as one batch: on a thread that is not a scheduler (a connection's reader),
/// processes woken inside it are queued at once, but a sleeping scheduler is woken for
/// the first of them and then once more at the end (not once per process), and work
/// deferred with [`after_turn`] runs at the end. On a scheduler thread it
/// just runs `f` (the turn's end already does both).
pub(crate) fn batch<R>(f: impl FnOnce() -> R) -> R {
    if on_scheduler() {
        return f();
    }
    struct End;
    impl Drop for End {
        fn drop(&mut self) {
            let depth = BATCH.get() - 1;
            BATCH.set(depth);
            if depth == 0 {
                BATCH_WOKE.set(false);
                if HELD_WAKE.replace(false) {
                    wake_one(shared());
                }
                run_after_turn();
                if std::thread::panicking() {
                    SOURCE.set(None);
                    BULK.set(false);
                    EXCHANGE.set(false);
                    drop(HELD.with_borrow_mut(|held| HandOff {
                        tasks: std::mem::replace(held, [const { None }; HAND_OFF]),
                        source: None,
                    }));
                } else {
                    hand_off();
                }
            }
        }
    }
    BATCH.set(BATCH.get() + 1);
    let _end = End;
    f()
}

fn next_is_taken() -> bool {
    let next = NEXT.take();
    let taken = next.is_some();
    NEXT.set(next);
    taken
}

/// Queues a process that gave up its turn (budget spent) at the back of the stealable
/// queue, behind what was waiting.
pub(crate) fn reschedule(task: Task) {
    match LOCAL.get() {
        Some(local) => {
            local.push(task);
            if local.len() > 1 || next_is_taken() {
                wake_one(shared());
            }
        }
        None => {
            // Never kept for the batch's end: it had its turn here.
            let shared = shared();
            shared.injector.push(task);
            wake_one(shared);
        }
    }
}

/// The tokio runtime a scheduler thread last entered, kept entered between turns:
/// entering costs more than a short turn. Fields drop in order: the guard, then the
/// handle it entered.
struct Entered {
    id: tokio::runtime::Id,
    _guard: EnterGuard<'static>,
    _handle: Box<Handle>,
}

thread_local! {
    static ENTERED: RefCell<Option<Entered>> = const { RefCell::new(None) };
}

/// Makes `handle`'s runtime current for a process's turn, so that its handlers can use
/// tokio. A scheduler thread stays in the runtime it entered last (no guard to drop);
/// any other thread gets a guard that leaves it when dropped.
pub(crate) fn enter_runtime(
    handle: &tokio::runtime::Handle,
) -> Option<tokio::runtime::EnterGuard<'_>> {
    if !on_scheduler() {
        return Some(handle.enter());
    }
    let id = handle.id();
    ENTERED.with_borrow_mut(|entered| {
        if entered.as_ref().is_some_and(|e| e.id == id) {
            return;
        }
        // Leave the previous runtime before entering the next (guards nest).
        *entered = None;
        let boxed = Box::new(handle.clone());
        // SAFETY: the guard borrows the boxed handle, which does not move (boxed) and is
        // dropped after the guard (field order of `Entered`).
        let guard =
            unsafe { std::mem::transmute::<EnterGuard<'_>, EnterGuard<'static>>(boxed.enter()) };
        *entered = Some(Entered {
            id,
            _guard: guard,
            _handle: boxed,
        });
    });
    None
}

/// True on a scheduler thread.
pub(crate) fn on_scheduler() -> bool {
    LOCAL.get().is_some()
}

/// Counts one reduction for the running process (a send). True when its budget is spent.
#[inline]
pub(crate) fn reduce() -> bool {
    let r = REDUCTIONS.get() + 1;
    REDUCTIONS.set(r);
    r >= BUDGET
}

/// Starts a new turn's budget.
pub(crate) fn reset_budget() {
    REDUCTIONS.set(0);
}

/// True when the current turn's budget is spent.
pub(crate) fn budget_spent() -> bool {
    REDUCTIONS.get() >= BUDGET
}

fn wake_one(shared: &Shared) {
    fence(Ordering::SeqCst);
    let mut mask = shared.sleeping.load(Ordering::SeqCst);
    while mask != 0 {
        let i = mask.trailing_zeros() as usize;
        let bit = 1u64 << i;
        let prev = shared.sleeping.fetch_and(!bit, Ordering::SeqCst);
        if prev & bit != 0 {
            shared.unparkers[i].unpark();
            return;
        }
        mask = prev & !bit;
    }
}

fn find_work(shared: &Shared, index: usize, local: &Worker<Task>) -> Option<Task> {
    if let Some(task) = local.pop() {
        return Some(task);
    }
    loop {
        let mut retry = false;
        match shared.injector.steal_batch_and_pop(local) {
            Steal::Success(task) => return Some(task),
            Steal::Retry => retry = true,
            Steal::Empty => {}
        }
        let n = shared.stealers.len();
        for k in 1..n {
            // Half of a sibling's queue at once: a fan-out that woke many processes on
            // one thread is shared in a few steals, not one per process.
            match shared.stealers[(index + k) % n].steal_batch_and_pop(local) {
                Steal::Success(task) => return Some(task),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
        }
        if !retry {
            return None;
        }
    }
}

fn has_work(shared: &Shared) -> bool {
    !shared.injector.is_empty() || shared.stealers.iter().any(|s| !s.is_empty())
}

/// Spins (yielding the core) for up to `SPIN` while no other scheduler spins. True if
/// work showed up.
fn spin_for_work(shared: &Shared) -> bool {
    if shared.spinning.swap(1, Ordering::AcqRel) == 1 {
        return false;
    }
    let start = Instant::now();
    let mut found = false;
    'spin: while start.elapsed() < SPIN {
        for _ in 0..32 {
            if has_work(shared) {
                found = true;
                break 'spin;
            }
            std::hint::spin_loop();
        }
        std::thread::yield_now();
    }
    shared.spinning.store(0, Ordering::Release);
    found
}

fn worker_loop(shared: &'static Shared, index: usize, worker: Worker<Task>, parker: Parker) {
    let local: &'static Worker<Task> = Box::leak(Box::new(worker));
    LOCAL.set(Some(local));
    // Scheduler threads live as long as the program: they own recycled queue nodes.
    crate::mailbox::pool::adopt_thread();
    let bit = 1u64 << index;
    let mut in_a_row = 0;
    loop {
        if let Some(task) = NEXT.take() {
            if in_a_row < NEXT_IN_A_ROW {
                in_a_row += 1;
                task.run();
                run_after_turn();
                continue;
            }
            local.push(task);
        }
        in_a_row = 0;
        if let Some(task) = find_work(shared, index, local) {
            if !local.is_empty() {
                wake_one(shared);
            }
            task.run();
            run_after_turn();
            continue;
        }
        if spin_for_work(shared) {
            continue;
        }
        shared.sleeping.fetch_or(bit, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if has_work(shared) || !local.is_empty() {
            shared.sleeping.fetch_and(!bit, Ordering::SeqCst);
            continue;
        }
        parker.park();
        shared.sleeping.fetch_and(!bit, Ordering::SeqCst);
    }
}
