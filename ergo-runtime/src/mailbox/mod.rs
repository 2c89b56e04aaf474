//! A process's mailbox: four queues drained in strict priority order (urgent > system >
//! main > log) and the run state that decides who runs the process.
//!
//! The main queue lives inline; the three others are allocated together on first use,
//! so an idle process that never got a signal pays for one empty queue only.
//!
//! Wake-up protocol (a Dekker pair, model-checked with loom in `loom_tests.rs`): a
//! sender pushes, issues a `SeqCst` fence, then reads the run state, and only the
//! sender whose CAS `Idle → Scheduled` wins schedules the process. The runner, out of
//! work, stores `Idle`, issues a `SeqCst` fence, re-checks the queues, and CASes itself
//! back to `Running` if something arrived in between. The fences order each side's
//! write before its read, so one of the two always sees the other. (Explicit fences,
//! rather than `SeqCst` accesses alone, are what loom can verify.)

pub(crate) mod latency;
#[cfg(all(test, ergo_loom))]
mod loom_tests;
pub(crate) mod pool;
pub(crate) mod queue;

use std::ptr;

use crate::sync::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU8, Ordering};
pub(crate) use queue::Pop;
use queue::Queue;

/// Which queue a message goes to. Higher priorities are always drained first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub enum Priority {
    /// The urgent queue: exit signals, kills, inspection.
    Urgent,
    /// The system queue: monitor `Down` messages, high-priority user messages.
    High,
    /// The main queue: ordinary messages and calls.
    #[default]
    Normal,
    /// The log queue: log records for logger processes.
    Low,
}

/// Run states of a process.
pub(crate) mod state {
    /// Spawned, init running: messages queue up, nobody runs the process yet.
    pub const INIT: u8 = 0;
    /// Nothing to do: the next sender schedules it.
    pub const IDLE: u8 = 1;
    /// In a run queue.
    pub const SCHEDULED: u8 = 2;
    /// A scheduler thread is running it.
    pub const RUNNING: u8 = 3;
    /// Terminated: sends fail, leftovers are drained.
    pub const DEAD: u8 = 4;
    /// Terminated, and a sender is draining what it pushed in the last instant.
    pub const DRAINING: u8 = 5;
}

/// What a push asks of the sender.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The process was idle and this sender won it: schedule it.
    Schedule,
    /// Someone else runs it (or will).
    Queued,
    /// It died while we pushed: the caller must drain the leftovers.
    Dead,
}

/// Why a message was not admitted.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Refused {
    /// The process is dead.
    Dead,
    /// The queue is at its limit.
    Full,
}

impl Refused {
    /// The send error for this refusal, carrying the message back.
    pub(crate) fn into_send_error<M>(self, msg: M) -> crate::error::SendError<M> {
        match self {
            Refused::Dead => crate::error::SendError::NoProcess(msg),
            Refused::Full => crate::error::SendError::MailboxFull(msg),
        }
    }
}

/// One queue and its counts. Laid out for the main queue's split (see [`Mailbox`]):
/// the producers' count before the queue, the consumer's after it.
#[repr(C)]
struct Lane<T, const GAP: usize = 0> {
    pushed: AtomicU32,
    queue: Queue<T, GAP>,
    popped: AtomicU32,
}

impl<T, const GAP: usize> Lane<T, GAP> {
    fn new() -> Self {
        Lane {
            queue: Queue::new(),
            pushed: AtomicU32::new(0),
            popped: AtomicU32::new(0),
        }
    }

    fn len(&self) -> u32 {
        self.pushed
            .load(Ordering::Relaxed)
            .wrapping_sub(self.popped.load(Ordering::Relaxed))
    }

    #[inline]
    fn pop(&self, stamp: &mut u32) -> Pop<T> {
        let pop = self.queue.pop_stamped(stamp);
        if let Pop::Item(_) = pop {
            let n = self.popped.load(Ordering::Relaxed);
            self.popped.store(n.wrapping_add(1), Ordering::Relaxed);
        }
        pop
    }

    #[inline]
    fn push(&self, value: T, stamp: u32) {
        self.pushed.fetch_add(1, Ordering::Relaxed);
        self.queue.push_stamped(value, stamp);
    }
}

/// The urgent, system and log queues, allocated on first use, and the latency stamps.
struct Rare<T> {
    urgent: Lane<T>,
    system: Lane<T>,
    log: Lane<T>,
    /// The stamp of each queue's oldest message (urgent, system, main, log); 0: none
    /// stamped (see [`latency`]).
    since: [AtomicU32; 4],
}

/// Index of a queue in [`Rare::since`].
fn since_index(priority: Priority) -> usize {
    match priority {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Normal => 2,
        Priority::Low => 3,
    }
}

/// Bytes between what senders write on every message (the main queue's head and count)
/// and what the runner writes on every message it takes (the queue's tail and count):
/// at least a cache line, so that a sender and a runner on two cores do not take the
/// same line from each other for every message.
const MAIN_GAP: usize = 64;

/// The mailbox and run state of one process.
///
/// Field order is the layout (`repr(C)`): first what senders touch on every message
/// (the run state, the limit, the main queue's count and head), then [`MAIN_GAP`], then
/// what the runner touches on every message (the main queue's tail and count, the rare
/// queues' pointer). The process cell puts its other fields after the mailbox, on the
/// runner's side.
#[repr(C)]
pub(crate) struct Mailbox<T> {
    state: AtomicU8,
    /// Set by the waker of a pending async handler.
    woken: AtomicBool,
    /// Per-queue limit; 0 = unlimited.
    limit: u32,
    main: Lane<T, MAIN_GAP>,
    rare: AtomicPtr<Rare<T>>,
}

unsafe impl<T: Send> Send for Mailbox<T> {}
unsafe impl<T: Send> Sync for Mailbox<T> {}

impl<T> Mailbox<T> {
    pub(crate) fn new(limit: u32) -> Self {
        Mailbox {
            state: AtomicU8::new(state::INIT),
            woken: AtomicBool::new(false),
            limit,
            main: Lane::new(),
            rare: AtomicPtr::new(ptr::null_mut()),
        }
    }

    fn rare(&self) -> Option<&Rare<T>> {
        // SAFETY: once installed, `rare` lives as long as the mailbox.
        unsafe { self.rare.load(Ordering::Acquire).as_ref() }
    }

    fn rare_or_install(&self) -> &Rare<T> {
        if let Some(rare) = self.rare() {
            return rare;
        }
        let fresh = Box::into_raw(Box::new(Rare {
            urgent: Lane::new(),
            system: Lane::new(),
            log: Lane::new(),
            since: std::array::from_fn(|_| AtomicU32::new(0)),
        }));
        match self.rare.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: just installed; freed only in `drop`.
            Ok(_) => unsafe { &*fresh },
            Err(current) => {
                // SAFETY: `fresh` never became visible to anyone else.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: installed by the winner; freed only in `drop`.
                unsafe { &*current }
            }
        }
    }

    /// One of the rare queues (not the main one).
    fn rare_lane(&self, priority: Priority) -> &Lane<T> {
        let rare = self.rare_or_install();
        match priority {
            Priority::Urgent => &rare.urgent,
            Priority::High => &rare.system,
            Priority::Low => &rare.log,
            Priority::Normal => unreachable!("the main queue is not a rare one"),
        }
    }

    fn len(&self, priority: Priority) -> u32 {
        match priority {
            Priority::Normal => self.main.len(),
            other => self.rare_lane(other).len(),
        }
    }

    #[inline]
    fn push_lane(&self, priority: Priority, value: T, stamp: u32) {
        match priority {
            Priority::Normal => self.main.push(value, stamp),
            other => self.rare_lane(other).push(value, stamp),
        }
    }

    /// The run state.
    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    /// Checks that a message may be pushed: the process is not dead and the queue is
    /// below its limit. `bypass_limit` is for signals, which are never refused for space.
    /// The limit is soft by at most the number of concurrent senders.
    #[inline]
    pub(crate) fn admit(&self, priority: Priority, bypass_limit: bool) -> Result<(), Refused> {
        if self.state.load(Ordering::Relaxed) >= state::DEAD {
            return Err(Refused::Dead);
        }
        if self.limit != 0 && !bypass_limit && self.len(priority) >= self.limit {
            return Err(Refused::Full);
        }
        Ok(())
    }

    /// Pushes an admitted value. If the process died meanwhile, `Pushed::Dead` tells the
    /// caller to drain.
    #[inline]
    pub(crate) fn push(&self, priority: Priority, value: T) -> Pushed {
        self.push_lane(priority, value, 0);
        self.after_push()
    }

    /// Pushes an admitted value queued at `stamp` (latency tracking is on), and
    /// publishes the stamp if the queue had none.
    #[inline(never)]
    pub(crate) fn push_stamped(&self, priority: Priority, value: T, stamp: u32) -> Pushed {
        // Installed before the push: whoever takes the message finds the stamps.
        let since = &self.rare_or_install().since[since_index(priority)];
        self.push_lane(priority, value, stamp);
        let pushed = self.after_push();
        // After `after_push`'s fence: pairs with the runner's in `after_pop`.
        if since.load(Ordering::Relaxed) == 0 {
            let _ = since.compare_exchange(0, stamp, Ordering::Relaxed, Ordering::Relaxed);
        }
        pushed
    }

    /// After the runner took a message stamped `stamp` from `lane`: publishes the stamp
    /// of the lane's new oldest message (see [`latency`]). Nothing to do when neither
    /// the message nor the lane carries a stamp (tracking off).
    #[inline]
    fn after_pop<const GAP: usize>(
        &self,
        lane: &Lane<T, GAP>,
        priority: Priority,
        stamp: u32,
        rare: Option<&Rare<T>>,
    ) {
        let rare = match rare {
            Some(rare) => rare,
            None if stamp == 0 => return,
            // Its sender installed `rare` before pushing it, and taking it synchronised
            // with that push: a fresh look finds it.
            None => match self.rare() {
                Some(rare) => rare,
                None => return,
            },
        };
        let since = &rare.since[since_index(priority)];
        if stamp != 0 || since.load(Ordering::Relaxed) != 0 {
            Self::restamp(lane, since);
        }
    }

    #[cold]
    #[inline(never)]
    fn restamp<const GAP: usize>(lane: &Lane<T, GAP>, since: &AtomicU32) {
        since.store(0, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let head = lane.queue.head_stamp();
        if head != 0 {
            since.store(head, Ordering::Relaxed);
        }
    }

    /// The stamp of each queue's oldest message (urgent, system, main, log); 0 where
    /// none is stamped.
    pub(crate) fn oldest_stamps(&self) -> [u32; 4] {
        match self.rare() {
            Some(r) => r.since.each_ref().map(|s| s.load(Ordering::Relaxed)),
            None => [0; 4],
        }
    }

    /// The sender's half of the handshake, after its `SeqCst` push.
    #[inline]
    fn after_push(&self) -> Pushed {
        fence(Ordering::SeqCst);
        match self.state.load(Ordering::SeqCst) {
            state::IDLE => match self.state.compare_exchange(
                state::IDLE,
                state::SCHEDULED,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => Pushed::Schedule,
                Err(s) if s >= state::DEAD => Pushed::Dead,
                Err(_) => Pushed::Queued,
            },
            s if s >= state::DEAD => Pushed::Dead,
            _ => Pushed::Queued,
        }
    }

    /// Wakes a pending async handler: like a push, with no message.
    pub(crate) fn wake(&self) -> Pushed {
        self.woken.store(true, Ordering::SeqCst);
        self.after_push()
    }

    /// The runner itself asks for a poll of the async handler it just started.
    pub(crate) fn wake_in_turn(&self) {
        self.woken.store(true, Ordering::SeqCst);
    }

    /// The runner gives up its turn but stays queued (budget spent).
    pub(crate) fn yield_state(&self) {
        self.state.store(state::SCHEDULED, Ordering::SeqCst);
    }

    /// Clears the waker flag before polling; true if it was set.
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    /// Pops the next message in strict priority order. Runner only.
    #[inline]
    pub(crate) fn pop(&self) -> Pop<T> {
        let rare = self.rare();
        let mut busy = false;
        let mut stamp = 0;
        if let Some(rare) = rare {
            for (lane, priority) in [
                (&rare.urgent, Priority::Urgent),
                (&rare.system, Priority::High),
            ] {
                match lane.pop(&mut stamp) {
                    Pop::Item(v) => {
                        self.after_pop(lane, priority, stamp, Some(rare));
                        return Pop::Item(v);
                    }
                    Pop::Busy => busy = true,
                    Pop::Empty => {}
                }
            }
        }
        match self.main.pop(&mut stamp) {
            Pop::Item(v) => {
                self.after_pop(&self.main, Priority::Normal, stamp, rare);
                return Pop::Item(v);
            }
            Pop::Busy => busy = true,
            Pop::Empty => {}
        }
        if let Some(rare) = rare {
            match rare.log.pop(&mut stamp) {
                Pop::Item(v) => {
                    self.after_pop(&rare.log, Priority::Low, stamp, Some(rare));
                    return Pop::Item(v);
                }
                Pop::Busy => busy = true,
                Pop::Empty => {}
            }
        }
        if busy {
            Pop::Busy
        } else {
            Pop::Empty
        }
    }

    /// True when every queue is empty (and no push is half done).
    pub(crate) fn is_empty(&self) -> bool {
        self.main.queue.is_empty()
            && self.rare().is_none_or(|r| {
                r.urgent.queue.is_empty() && r.system.queue.is_empty() && r.log.queue.is_empty()
            })
    }

    /// Init finished: the process becomes runnable. True if messages are already waiting
    /// and the caller must schedule it.
    pub(crate) fn activate(&self) -> bool {
        self.state.store(state::IDLE, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        !self.is_empty()
            && self
                .state
                .compare_exchange(
                    state::IDLE,
                    state::SCHEDULED,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok()
    }

    /// A scheduler picked the process up.
    pub(crate) fn begin_run(&self) {
        self.state.store(state::RUNNING, Ordering::Relaxed);
    }

    /// The runner's half of the handshake: go idle unless there is work. `awaiting`
    /// means an async handler is pending, so only its waker counts as work. Returns true
    /// if the runner must keep running.
    pub(crate) fn try_idle(&self, awaiting: bool) -> bool {
        self.state.store(state::IDLE, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let work = if awaiting {
            self.woken.load(Ordering::SeqCst)
        } else {
            !self.is_empty()
        };
        work && self
            .state
            .compare_exchange(
                state::IDLE,
                state::RUNNING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
    }

    /// Marks the process dead; from now on pushes are refused. Runner only (or the
    /// spawner of a process whose init failed).
    pub(crate) fn kill_state(&self) {
        self.state.store(state::DEAD, Ordering::SeqCst);
    }

    /// Takes everything left in a dead mailbox, unless another thread already is.
    /// Loops until no racing push is left behind.
    pub(crate) fn drain_dead(&self, mut discard: impl FnMut(T)) {
        loop {
            if self
                .state
                .compare_exchange(
                    state::DEAD,
                    state::DRAINING,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_err()
            {
                return; // someone else drains; they re-check after us
            }
            loop {
                match self.pop() {
                    Pop::Item(v) => discard(v),
                    Pop::Empty => break,
                    Pop::Busy => crate::sync::spin(),
                }
            }
            self.state.store(state::DEAD, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if self.is_empty() {
                return;
            }
        }
    }

    /// Queue lengths: urgent, system, main, log.
    pub(crate) fn lengths(&self) -> [u32; 4] {
        let main = self.main.len();
        match self.rare() {
            Some(r) => [r.urgent.len(), r.system.len(), main, r.log.len()],
            None => [0, 0, main, 0],
        }
    }

    /// Messages taken out of the queues so far.
    pub(crate) fn popped(&self) -> u64 {
        let main = u64::from(self.main.popped.load(Ordering::Relaxed));
        main + self.rare().map_or(0, |r| {
            [&r.urgent, &r.system, &r.log]
                .iter()
                .map(|l| u64::from(l.popped.load(Ordering::Relaxed)))
                .sum()
        })
    }
}

impl<T> Drop for Mailbox<T> {
    fn drop(&mut self) {
        let rare = self.rare.load(Ordering::Acquire);
        if !rare.is_null() {
            // SAFETY: installed by `rare_or_install`, never freed elsewhere.
            drop(unsafe { Box::from_raw(rare) });
        }
    }
}

#[cfg(all(test, not(ergo_loom)))]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn senders_and_the_runner_write_a_cache_line_apart() {
        type M = Mailbox<u64>;
        type Q = Queue<u64, MAIN_GAP>;
        let queue = offset_of!(M, main.queue);
        // What a sender writes or reads on every message ends with the main queue's head.
        let senders_end = queue + Q::PRODUCERS_END;
        for field in [
            offset_of!(M, state),
            offset_of!(M, woken),
            offset_of!(M, limit),
            offset_of!(M, main.pushed),
        ] {
            assert!(field < senders_end);
        }
        // What the runner writes or reads on every message starts with the tail.
        let runner_start = queue + Q::CONSUMER_START;
        for field in [offset_of!(M, main.popped), offset_of!(M, rare)] {
            assert!(field >= runner_start);
        }
        assert!(
            runner_start - senders_end >= 64,
            "{senders_end} .. {runner_start}"
        );
    }

    #[test]
    fn strict_priority_order() {
        let mb = Mailbox::new(0);
        mb.push(Priority::Low, "log");
        mb.push(Priority::Normal, "main");
        mb.push(Priority::High, "system");
        mb.push(Priority::Urgent, "urgent");
        let order: Vec<_> = std::iter::from_fn(|| match mb.pop() {
            Pop::Item(v) => Some(v),
            _ => None,
        })
        .collect();
        assert_eq!(order, ["urgent", "system", "main", "log"]);
    }

    #[test]
    fn limit_is_per_queue_and_signals_bypass_it() {
        let mb = Mailbox::new(2);
        mb.push(Priority::Normal, 1);
        mb.push(Priority::Normal, 2);
        assert_eq!(mb.admit(Priority::Normal, false), Err(Refused::Full));
        assert_eq!(mb.admit(Priority::Normal, true), Ok(()));
        // the limit is per queue
        assert_eq!(mb.admit(Priority::High, false), Ok(()));
        mb.push(Priority::High, 4);
        assert_eq!(mb.lengths(), [0, 1, 2, 0]);
    }

    #[test]
    fn the_oldest_stamp_follows_the_head_of_each_queue() {
        let mb = Mailbox::new(0);
        // Unstamped (tracking off): nothing is allocated or published.
        mb.push(Priority::Normal, 0);
        assert_eq!(mb.oldest_stamps(), [0; 4]);
        assert!(mb.rare().is_none());
        assert!(matches!(mb.pop(), Pop::Item(0)));
        mb.push_stamped(Priority::Normal, 1, 11);
        mb.push_stamped(Priority::Normal, 2, 21);
        mb.push_stamped(Priority::High, 3, 31);
        assert_eq!(mb.oldest_stamps(), [0, 31, 11, 0]);
        assert!(matches!(mb.pop(), Pop::Item(3)));
        assert_eq!(mb.oldest_stamps(), [0, 0, 11, 0]);
        assert!(matches!(mb.pop(), Pop::Item(1)));
        assert_eq!(mb.oldest_stamps(), [0, 0, 21, 0]);
        assert!(matches!(mb.pop(), Pop::Item(2)));
        assert_eq!(mb.oldest_stamps(), [0; 4]);
        // A message landing in the emptied queue publishes its own stamp.
        mb.push_stamped(Priority::Normal, 4, 41);
        assert_eq!(mb.oldest_stamps(), [0, 0, 41, 0]);
        // Tracking turned off: the stale stamp goes with the next message taken.
        mb.push(Priority::Normal, 5);
        assert!(matches!(mb.pop(), Pop::Item(4)));
        assert!(matches!(mb.pop(), Pop::Item(5)));
        assert_eq!(mb.oldest_stamps(), [0; 4]);
    }

    #[test]
    fn only_one_sender_schedules_an_idle_process() {
        let mb = Mailbox::new(0);
        assert!(!mb.activate());
        assert_eq!(mb.push(Priority::Normal, 1), Pushed::Schedule);
        assert_eq!(mb.push(Priority::Normal, 2), Pushed::Queued);
        mb.begin_run();
        assert!(matches!(mb.pop(), Pop::Item(1)));
        assert!(matches!(mb.pop(), Pop::Item(2)));
        assert!(!mb.try_idle(false));
        mb.kill_state();
        assert_eq!(mb.admit(Priority::Normal, false), Err(Refused::Dead));
    }
}
