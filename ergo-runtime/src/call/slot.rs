//! [`ReplySlot`]: where the answer to one call lands, reused from call to call.
//!
//! A slot is taken from the calling thread's small pool when a call is sent and goes
//! back to a pool when the call is over, so a call in steady state allocates nothing
//! (no channel per call). Each use of a slot has its own generation; the reply token
//! carries the generation it was made for and can write only while the slot still
//! waits for that generation. A reply that comes after its caller gave up (timed out,
//! dropped the request) finds another generation and is dropped: it is never seen by
//! the slot's next call.
//!
//! The state word is `generation << 3 | phase`:
//!
//! - `EMPTY`: no call waits (in a pool, or between two calls);
//! - `WAITING`: a call waits for generation `g`;
//! - `WRITING`: the replier of `g` won the slot and is writing its answer;
//! - `FILLED`: the answer of `g` is there for the caller to take;
//! - `ABANDONED`: the token of `g` was dropped without a word (a transport that lost
//!   the call): the caller learns `CallError::NoProcess` at once, as from a closed
//!   channel.
//!
//! The replier moves `WAITING → WRITING → FILLED` and then wakes the caller through the
//! waker kept in the slot, from its own thread (no hand-off through another task). The
//! caller takes a `FILLED` answer and moves to `(g + 1, EMPTY)`; one that gives up moves
//! `WAITING → (g + 1, EMPTY)` with a compare-exchange, which a racing replier's
//! `WAITING → WRITING` excludes.
//!
//! The answer is stored in place when it fits [`INLINE`] bytes (most replies do: a
//! `Result<R, CallError>` of a small `R`), boxed otherwise.

use std::cell::{RefCell, UnsafeCell};
use std::mem::{align_of, size_of, MaybeUninit};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Waker;

use futures_util::task::AtomicWaker;

use crate::error::CallError;

const EMPTY: u64 = 0;
const WAITING: u64 = 1;
const WRITING: u64 = 2;
const FILLED: u64 = 3;
const ABANDONED: u64 = 4;
const PHASE: u64 = 7;
const SHIFT: u32 = 3;

/// Words of answer a slot stores in place.
const WORDS: usize = 12;
/// Bytes of answer a slot stores in place; a larger answer is boxed.
pub(crate) const INLINE: usize = WORDS * 8;

/// Slots a thread keeps for reuse; more are freed.
const POOL: usize = 32;

/// The answer of a call.
pub(crate) type Answer<R> = Result<R, CallError>;

/// The answer stored in place if it fits, else boxed.
const fn fits<T>() -> bool {
    size_of::<T>() <= INLINE && align_of::<T>() <= align_of::<u64>()
}

/// One reusable reply slot (see the module docs).
pub(crate) struct ReplySlot {
    state: AtomicU64,
    waker: AtomicWaker,
    /// When the waiting call times out, in the timer list's clock (see `timers`).
    pub(super) deadline: AtomicU64,
    /// The id of the timer list the slot was last put on (0: none).
    pub(super) list: AtomicU64,
    /// The number of that listing (see `timers`).
    pub(super) listing: AtomicU64,
    answer: UnsafeCell<MaybeUninit<[u64; WORDS]>>,
}

// SAFETY: `answer` is written only by the replier that won `WAITING → WRITING` and read
// only by the caller after it saw `FILLED` (release/acquire on `state`); the answer
// types are `Send`.
unsafe impl Send for ReplySlot {}
// SAFETY: as above.
unsafe impl Sync for ReplySlot {}

impl ReplySlot {
    fn new() -> Self {
        ReplySlot {
            state: AtomicU64::new(EMPTY),
            waker: AtomicWaker::new(),
            deadline: AtomicU64::new(u64::MAX),
            list: AtomicU64::new(0),
            listing: AtomicU64::new(0),
            answer: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// True while a call waits on this slot (for the deadline timer).
    pub(super) fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Acquire) & PHASE == WAITING
    }

    /// Wakes the waiting caller (its deadline passed).
    pub(super) fn wake(&self) {
        self.waker.wake();
    }

    /// Writes the answer. Only the replier that won `WAITING → WRITING` calls it.
    ///
    /// # Safety
    /// The caller holds the `WRITING` phase, and `R` is the type the waiting call reads.
    unsafe fn write<R>(&self, answer: Answer<R>) {
        let at = self.answer.get().cast::<u8>();
        if fits::<Answer<R>>() {
            // SAFETY: fits and is aligned (checked above); the slot is ours.
            unsafe { at.cast::<Answer<R>>().write(answer) };
        } else {
            // SAFETY: a box is one word, which fits.
            unsafe { at.cast::<Box<Answer<R>>>().write(Box::new(answer)) };
        }
    }

    /// Moves the answer out.
    ///
    /// # Safety
    /// The caller saw `FILLED` (acquire), and `R` is the type it was written as.
    unsafe fn read<R>(&self) -> Answer<R> {
        let at = self.answer.get().cast::<u8>();
        if fits::<Answer<R>>() {
            // SAFETY: written in place by `write::<R>`.
            unsafe { at.cast::<Answer<R>>().read() }
        } else {
            // SAFETY: written boxed by `write::<R>`.
            *unsafe { at.cast::<Box<Answer<R>>>().read() }
        }
    }
}

/// The caller's hold on a slot for one call.
pub(crate) struct Pending {
    slot: Arc<ReplySlot>,
    generation: u64,
}

/// What a poll of a pending call found.
pub(crate) enum Polled<R> {
    Ready(Answer<R>),
    Waiting,
}

impl Pending {
    /// Takes a slot from this thread's pool (or a new one) and opens it for a call.
    pub(crate) fn open() -> Pending {
        let slot = POOLED
            .try_with(|pool| pool.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| Arc::new(ReplySlot::new()));
        let state = slot.state.load(Ordering::Relaxed);
        debug_assert_eq!(state & PHASE, EMPTY);
        let generation = state >> SHIFT;
        slot.state
            .store(generation << SHIFT | WAITING, Ordering::Release);
        Pending { slot, generation }
    }

    /// The token a replier writes through.
    pub(crate) fn writer(&self) -> SlotWriter {
        SlotWriter {
            slot: Some(self.slot.clone()),
            generation: self.generation,
        }
    }

    pub(crate) fn slot(&self) -> &Arc<ReplySlot> {
        &self.slot
    }

    /// Takes the answer if it is there, else registers `waker` to be woken by the
    /// replier (or the deadline timer).
    pub(crate) fn poll<R>(&self, waker: &Waker) -> Polled<R> {
        if let Some(answer) = self.try_take() {
            return Polled::Ready(answer);
        }
        self.slot.waker.register(waker);
        // Registered before this second look: a replier that filled in between wakes
        // the waker just registered.
        match self.try_take() {
            Some(answer) => Polled::Ready(answer),
            None => Polled::Waiting,
        }
    }

    /// The answer, if it was written.
    pub(crate) fn try_take<R>(&self) -> Option<Answer<R>> {
        let g = self.generation << SHIFT;
        let state = self.slot.state.load(Ordering::Acquire);
        if state == g | ABANDONED {
            self.slot
                .state
                .store((self.generation + 1) << SHIFT | EMPTY, Ordering::Release);
            return Some(Err(CallError::NoProcess));
        }
        if state != g | FILLED {
            return None;
        }
        // SAFETY: `FILLED` for our generation, seen with acquire: written as `R` by the
        // writer of this call.
        let answer = unsafe { self.slot.read::<R>() };
        self.slot
            .state
            .store((self.generation + 1) << SHIFT | EMPTY, Ordering::Release);
        Some(answer)
    }

    /// The caller stops waiting (timed out, or the request was dropped). A reply that
    /// was already written (or is being written) is returned; any later one is dropped
    /// by its writer.
    pub(crate) fn cancel<R>(&self) -> Option<Answer<R>> {
        let waiting = self.generation << SHIFT | WAITING;
        let next = (self.generation + 1) << SHIFT | EMPTY;
        loop {
            match self.slot.state.compare_exchange(
                waiting,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return None,
                Err(s) if s == self.generation << SHIFT | WRITING => crate::sync::spin(),
                Err(s) if s == self.generation << SHIFT | FILLED => return self.try_take(),
                Err(s) if s == self.generation << SHIFT | ABANDONED => {
                    self.slot.state.store(next, Ordering::Release);
                    return None;
                }
                // Taken already (the call is over): nothing to do.
                Err(_) => return None,
            }
        }
    }

    /// Gives the slot back to this thread's pool. The call must be over (answer taken
    /// or cancelled).
    pub(crate) fn close(self) {
        debug_assert_ne!(self.slot.state.load(Ordering::Relaxed) & PHASE, WAITING);
        // A stale waker must not keep a process alive from a pooled slot.
        drop(self.slot.waker.take());
        let slot = self.slot;
        let _ = POOLED.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut() {
                if pool.len() < POOL {
                    pool.push(slot);
                }
            }
        });
    }
}

thread_local! {
    /// Free slots of this thread.
    static POOLED: RefCell<Vec<Arc<ReplySlot>>> = const { RefCell::new(Vec::new()) };
}

/// The right to write the answer of one call (held by a `ReplyTo`). Dropped without
/// writing, it tells the caller `CallError::NoProcess`.
pub(crate) struct SlotWriter {
    slot: Option<Arc<ReplySlot>>,
    generation: u64,
}

impl SlotWriter {
    /// Writes the answer and wakes the caller, unless the caller gave up: then the
    /// answer is dropped here.
    pub(crate) fn put<R>(mut self, answer: Answer<R>) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let g = self.generation << SHIFT;
        if slot
            .state
            .compare_exchange(
                g | WAITING,
                g | WRITING,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return; // the caller gave up: a late reply goes nowhere
        }
        // SAFETY: we hold `WRITING`; the caller of this generation reads an `R`.
        unsafe { slot.write(answer) };
        slot.state.store(g | FILLED, Ordering::Release);
        slot.waker.wake();
    }

    /// True if the caller stopped waiting.
    pub(crate) fn is_closed(&self) -> bool {
        self.slot.as_ref().is_none_or(|slot| {
            slot.state.load(Ordering::Relaxed) != (self.generation << SHIFT | WAITING)
        })
    }
}

impl Drop for SlotWriter {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let g = self.generation << SHIFT;
        if slot
            .state
            .compare_exchange(
                g | WAITING,
                g | ABANDONED,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            slot.waker.wake();
        }
    }
}

#[cfg(all(test, not(ergo_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

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

    #[test]
    fn an_answer_reaches_its_caller_and_wakes_it() {
        let (count, waker) = waker();
        let pending = Pending::open();
        let writer = pending.writer();
        assert!(matches!(pending.poll::<u32>(&waker), Polled::Waiting));
        assert!(!writer.is_closed());
        writer.put::<u32>(Ok(7));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(pending.poll::<u32>(&waker), Polled::Ready(Ok(7))));
        pending.close();
    }

    #[test]
    fn a_late_answer_is_dropped_and_never_seen_by_the_next_call() {
        let first = Pending::open();
        let late = first.writer();
        assert!(first.cancel::<String>().is_none());
        assert!(late.is_closed());
        let slot = first.slot().clone();
        first.close();
        // The next call on this thread reuses the slot.
        let second = Pending::open();
        assert!(Arc::ptr_eq(second.slot(), &slot));
        late.put::<String>(Ok("stale".into()));
        assert!(second.try_take::<String>().is_none());
        second.writer().put::<String>(Ok("fresh".into()));
        assert_eq!(second.try_take::<String>().unwrap().unwrap(), "fresh");
        second.close();
    }

    #[test]
    fn a_cancelled_call_keeps_an_answer_already_written() {
        let pending = Pending::open();
        pending.writer().put::<u8>(Err(CallError::NoReply));
        assert!(matches!(
            pending.cancel::<u8>(),
            Some(Err(CallError::NoReply))
        ));
        pending.close();
    }

    #[test]
    fn large_answers_are_boxed_and_dropped_once() {
        let big = Arc::new([0u64; 32]);
        let pending = Pending::open();
        pending
            .writer()
            .put::<(Arc<[u64; 32]>, [u64; 16])>(Ok((big.clone(), [1; 16])));
        let (back, rest) = pending
            .try_take::<(Arc<[u64; 32]>, [u64; 16])>()
            .unwrap()
            .unwrap();
        assert_eq!(rest[15], 1);
        drop(back);
        pending.close();
        // An answer written after its caller gave up is dropped by its writer.
        let gone = Pending::open();
        let writer = gone.writer();
        assert!(gone.cancel::<Arc<[u64; 32]>>().is_none());
        gone.close();
        writer.put::<Arc<[u64; 32]>>(Ok(big.clone()));
        assert_eq!(Arc::strong_count(&big), 1);
    }
}
