//! Recycled memory for queue nodes, so a message costs no `malloc`/`free` in steady
//! state.
//!
//! Each scheduler thread (an *owner*, registered with [`adopt_thread`]) keeps a free
//! list per size class. A block remembers its owner in a tag. Freed on its owner's
//! thread, it goes back on the free list at once; freed on another thread, it is
//! gathered with others of the same owner and class and handed back in batches of
//! [`BATCH`], one compare-and-swap per batch, onto the owner's *return stack*. The
//! owner takes its whole return stack with one swap when its free list runs dry.
//! Only the owner ever takes from a return stack, so the Treiber push has no ABA
//! problem.
//!
//! Any thread that allocates a block becomes an owner (scheduler threads at start, a
//! connection's reader or the caller's thread on first use) and gives its owner slot
//! back when it exits: its free lists go back to the system allocator, and its return
//! stacks are closed, so that blocks still in flight are freed by whoever frees them
//! until a new thread takes the slot (and with it, whatever comes back there). Only
//! when all [`OWNERS`] slots are taken does a thread allocate from the system
//! allocator; a block such a thread allocated and frees itself is kept in a small
//! per-thread spare list for its next allocation, freed with the thread.
//! An owner's blocks are bounded by [`KEEP`] per class beyond what is in flight: the
//! surplus is released to the system allocator as it comes back.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// Size classes: 16, 32, .. 256 bytes.
const CLASSES: usize = 16;
const GRAIN: usize = 16;
/// Owner slots: threads that allocate blocks, at once (scheduler threads, readers,
/// callers).
const OWNERS: usize = 64;
/// Blocks gathered per owner and class before they are handed back.
pub(crate) const BATCH: u32 = 32;
/// Blocks per class an owner keeps beyond those in use.
const KEEP: u32 = 4096;

/// Where a block goes when freed: owner and size class, or the system allocator.
pub(crate) type Tag = u32;
/// A block of the system allocator, freed with its own layout.
const SYSTEM: Tag = u32::MAX;

/// A free block: its first word links it to the next.
struct Free {
    next: *mut Free,
}

/// One owner's return stacks, one per class; on their own cache lines.
#[repr(align(128))]
struct Returns([AtomicPtr<Free>; CLASSES]);

#[allow(clippy::declare_interior_mutable_const)] // an initialiser for the static array
const EMPTY_RETURNS: Returns = Returns([const { AtomicPtr::new(ptr::null_mut()) }; CLASSES]);
static RETURNS: [Returns; OWNERS] = [EMPTY_RETURNS; OWNERS];
/// Bit i set: owner slot i is taken by a living thread.
static TAKEN: AtomicU64 = AtomicU64::new(0);

/// The top of a return stack whose owner exited: blocks handed back there are freed.
fn closed() -> *mut Free {
    std::ptr::dangling_mut::<Free>()
}

/// Blocks of one owner and class on their way back.
#[derive(Clone, Copy)]
struct Batch {
    head: *mut Free,
    tail: *mut Free,
    len: u32,
}

/// An owner thread's lists.
struct Local {
    owner: usize,
    free: [*mut Free; CLASSES],
    /// Blocks of each class this thread allocated and has not released.
    owned: [u32; CLASSES],
    /// Blocks of other owners freed here, by owner and class.
    outgoing: Box<[[Batch; CLASSES]; OWNERS]>,
}

thread_local! {
    static LOCAL: Cell<*mut Local> = const { Cell::new(ptr::null_mut()) };
    /// Set once this thread gave its slot back (it is exiting): it does not take one
    /// again.
    static GONE: Cell<bool> = const { Cell::new(false) };
    /// Gives the slot back when the thread exits.
    static RELEASE: Release = const { Release };
}

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        GONE.set(true);
        let local = LOCAL.replace(ptr::null_mut());
        if !local.is_null() {
            // SAFETY: installed by `adopt_thread` on this thread; no longer reachable.
            release(unsafe { Box::from_raw(local) });
        }
    }
}

/// Makes the current thread an owner, if a slot is free: its blocks come back to it
/// until it exits. True if it is one.
pub(crate) fn adopt_thread() -> bool {
    if !LOCAL.get().is_null() {
        return true;
    }
    if GONE.get() {
        return false;
    }
    let mut taken = TAKEN.load(Ordering::Relaxed);
    let owner = loop {
        if taken == u64::MAX {
            return false;
        }
        let owner = (!taken).trailing_zeros() as usize;
        match TAKEN.compare_exchange_weak(
            taken,
            taken | 1 << owner,
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => break owner,
            Err(now) => taken = now,
        }
    };
    // The thread must be able to give the slot back.
    if RELEASE.try_with(|_| ()).is_err() {
        TAKEN.fetch_and(!(1 << owner), Ordering::Release);
        return false;
    }
    // Reopen the return stacks a previous owner closed: what comes back now is ours.
    for stack in &RETURNS[owner].0 {
        let _ = stack.compare_exchange(
            closed(),
            ptr::null_mut(),
            Ordering::Acquire,
            Ordering::Relaxed,
        );
    }
    let empty = Batch {
        head: ptr::null_mut(),
        tail: ptr::null_mut(),
        len: 0,
    };
    let local = Box::new(Local {
        owner,
        free: [ptr::null_mut(); CLASSES],
        owned: [0; CLASSES],
        outgoing: Box::new([[empty; CLASSES]; OWNERS]),
    });
    LOCAL.set(Box::into_raw(local));
    true
}

/// An exiting owner's end: what it holds of others goes back to them, its own blocks
/// and what came back to it go to the system, and its return stacks are closed before
/// its slot is free for another thread.
fn release(mut local: Box<Local>) {
    for (owner, batches) in local.outgoing.iter_mut().enumerate() {
        for (class, batch) in batches.iter_mut().enumerate() {
            if batch.len > 0 {
                // SAFETY: the chain is ours until handed back.
                unsafe { push_back(owner, class, batch.head, batch.tail) };
            }
        }
    }
    for class in 0..CLASSES {
        // SAFETY: our free list and what came back are ours alone, class-sized blocks
        // of the system allocator.
        unsafe {
            dealloc_chain(local.free[class], class);
            let back = RETURNS[local.owner].0[class].swap(closed(), Ordering::Acquire);
            dealloc_chain(back, class);
        }
    }
    TAKEN.fetch_and(!(1 << local.owner), Ordering::Release);
}

/// Frees a null-terminated chain of class-sized blocks.
///
/// # Safety
/// The chain is the caller's, linked through `next`, allocated with the class layout.
unsafe fn dealloc_chain(mut chain: *mut Free, class: usize) {
    while !chain.is_null() {
        // SAFETY: as the caller promised.
        let next = unsafe { (*chain).next };
        // SAFETY: as the caller promised.
        unsafe { dealloc(chain.cast(), class_layout(class)) };
        chain = next;
    }
}

#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > GRAIN || layout.size() > CLASSES * GRAIN || layout.size() == 0 {
        return None;
    }
    Some(layout.size().div_ceil(GRAIN) - 1)
}

fn class_layout(class: usize) -> Layout {
    // SAFETY: a non-zero multiple of 16, aligned to 16.
    unsafe { Layout::from_size_align_unchecked((class + 1) * GRAIN, GRAIN) }
}

fn tag(owner: usize, class: usize) -> Tag {
    (owner as u32) << 8 | class as u32
}

fn system_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: callers pass layouts of non-zero size (queue nodes hold a link).
    let block = unsafe { alloc(layout) };
    if block.is_null() {
        handle_alloc_error(layout);
    }
    block
}

/// Allocates a block for `layout` (non-zero size); free it with [`free_block`] and the
/// tag. Inlined so that the size class folds to a constant.
#[inline]
pub(crate) fn alloc_block(layout: Layout) -> (*mut u8, Tag) {
    let local = LOCAL.get();
    let Some(class) = class_of(layout) else {
        return (system_alloc(layout), SYSTEM);
    };
    if !local.is_null() {
        // SAFETY: `local` belongs to this thread and is never freed; no reentrancy here.
        let local = unsafe { &mut *local };
        let block = local.free[class];
        if !block.is_null() {
            // SAFETY: blocks on the free list are ours alone.
            local.free[class] = unsafe { (*block).next };
            return (block.cast(), tag(local.owner, class));
        }
    }
    alloc_slow(local, class)
}

/// The free list is empty: take what came back, else ask the system allocator.
#[cold]
fn alloc_slow(local: *mut Local, class: usize) -> (*mut u8, Tag) {
    if local.is_null() && adopt_thread() {
        return alloc_slow(LOCAL.get(), class);
    }
    if local.is_null() {
        let block = SPARE
            .try_with(|spare| spare.borrow_mut().take(class))
            .ok()
            .flatten()
            .unwrap_or_else(|| system_alloc(class_layout(class)));
        return (block, tag(NOT_OWNED, class));
    }
    // SAFETY: as in `alloc_block`.
    let local = unsafe { &mut *local };
    refill(local, class);
    let block = local.free[class];
    if block.is_null() {
        local.owned[class] += 1;
        return (system_alloc(class_layout(class)), tag(local.owner, class));
    }
    // SAFETY: blocks on the free list are ours alone.
    local.free[class] = unsafe { (*block).next };
    (block.cast(), tag(local.owner, class))
}

/// Takes what came back from other threads, releasing the surplus beyond `KEEP`.
fn refill(local: &mut Local, class: usize) {
    let mut chain = RETURNS[local.owner].0[class].swap(ptr::null_mut(), Ordering::Acquire);
    while !chain.is_null() && local.owned[class] > KEEP {
        // SAFETY: the chain was handed back to us whole; its blocks are ours.
        let next = unsafe { (*chain).next };
        // SAFETY: allocated by this thread with the class layout.
        unsafe { dealloc(chain.cast(), class_layout(class)) };
        local.owned[class] -= 1;
        chain = next;
    }
    local.free[class] = chain;
}

/// Frees a block from [`alloc_block`].
///
/// # Safety
/// `block` came from `alloc_block(layout)` with this `tag`, and is not used again.
#[inline]
pub(crate) unsafe fn free_block(block: *mut u8, layout: Layout, tag: Tag) {
    if tag == SYSTEM {
        // SAFETY: allocated with this layout by the system allocator.
        return unsafe { dealloc(block, layout) };
    }
    let (owner, class) = ((tag >> 8) as usize, (tag & 0xFF) as usize);
    let block = block.cast::<Free>();
    if owner >= OWNERS {
        // SAFETY: as the caller promised.
        return unsafe { free_not_owned(block, class) };
    }
    let local = LOCAL.get();
    if local.is_null() {
        // Not an owner: hand this one block back on its own.
        // SAFETY: the block is ours until pushed.
        unsafe { push_back(owner, class, block, block) };
        return;
    }
    // SAFETY: `local` belongs to this thread and is never freed; no reentrancy here.
    let local = unsafe { &mut *local };
    if owner == local.owner {
        if local.owned[class] > KEEP {
            local.owned[class] -= 1;
            // SAFETY: ours, allocated with the class layout.
            return unsafe { dealloc(block.cast(), class_layout(class)) };
        }
        // SAFETY: the block is ours now.
        unsafe { (*block).next = local.free[class] };
        local.free[class] = block;
        return;
    }
    let batch = &mut local.outgoing[owner][class];
    // SAFETY: the block is ours until handed back.
    unsafe { (*block).next = batch.head };
    if batch.head.is_null() {
        batch.tail = block;
    }
    batch.head = block;
    batch.len += 1;
    if batch.len >= BATCH {
        let (head, tail) = (batch.head, batch.tail);
        *batch = Batch {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            len: 0,
        };
        // SAFETY: the chain head..tail is ours until pushed.
        unsafe { push_back(owner, class, head, tail) };
    }
}

/// Frees a class-sized system block from a thread that is not an owner: kept if this
/// thread is not an owner either and has room.
///
/// # Safety
/// `block` was allocated with the class layout by the system allocator, and is not
/// used again.
#[cold]
unsafe fn free_not_owned(block: *mut Free, class: usize) {
    let kept = LOCAL.get().is_null()
        && SPARE
            .try_with(|spare| match spare.try_borrow_mut() {
                Ok(mut spare) => spare.keep(class, block),
                Err(_) => false,
            })
            .unwrap_or(false);
    if !kept {
        // SAFETY: as the caller promised.
        unsafe { dealloc(block.cast(), class_layout(class)) };
    }
}

/// The owner number of blocks allocated by threads that are not owners.
const NOT_OWNED: usize = 0xFF;
/// Blocks per class a thread that is not an owner keeps for reuse.
const SPARE_KEEP: u32 = 16;

/// Spare blocks of a thread that is not an owner, by class; freed with the thread.
struct Spare {
    free: [*mut Free; CLASSES],
    len: [u32; CLASSES],
}

impl Spare {
    fn take(&mut self, class: usize) -> Option<*mut u8> {
        let block = self.free[class];
        if block.is_null() {
            return None;
        }
        // SAFETY: blocks on the spare list are this thread's alone.
        self.free[class] = unsafe { (*block).next };
        self.len[class] -= 1;
        Some(block.cast())
    }

    fn keep(&mut self, class: usize, block: *mut Free) -> bool {
        if self.len[class] >= SPARE_KEEP {
            return false;
        }
        // SAFETY: the block is ours now.
        unsafe { (*block).next = self.free[class] };
        self.free[class] = block;
        self.len[class] += 1;
        true
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        for class in 0..CLASSES {
            while let Some(block) = self.take(class) {
                // SAFETY: a class-sized block of the system allocator.
                unsafe { dealloc(block, class_layout(class)) };
            }
        }
    }
}

thread_local! {
    static SPARE: std::cell::RefCell<Spare> = const {
        std::cell::RefCell::new(Spare {
            free: [ptr::null_mut(); CLASSES],
            len: [0; CLASSES],
        })
    };
}

/// Pushes the chain `head..=tail` onto `owner`'s return stack.
///
/// # Safety
/// The chain is linked through `next`, owned by the caller, and not used afterwards.
#[cold]
unsafe fn push_back(owner: usize, class: usize, head: *mut Free, tail: *mut Free) {
    let stack = &RETURNS[owner].0[class];
    let mut top = stack.load(Ordering::Relaxed);
    loop {
        if top == closed() {
            // The owner exited: the chain goes to the system.
            // SAFETY: ours; ends at `tail`, which we cut off first.
            unsafe {
                (*tail).next = ptr::null_mut();
                dealloc_chain(head, class);
            }
            return;
        }
        // SAFETY: `tail` is ours until the exchange below publishes it.
        unsafe { (*tail).next = top };
        match stack.compare_exchange_weak(top, head, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(now) => top = now,
        }
    }
}

#[cfg(all(test, not(ergo_loom)))]
mod tests {
    use super::*;

    const NODE: Layout = match Layout::from_size_align(48, 8) {
        Ok(l) => l,
        Err(_) => panic!(),
    };

    #[test]
    fn large_blocks_come_from_the_system_allocator() {
        let big = Layout::from_size_align(1000, 8).unwrap();
        let (b, tag_b) = alloc_block(big);
        assert_eq!(tag_b, SYSTEM);
        // SAFETY: from alloc_block with this tag.
        unsafe { free_block(b, big, tag_b) };
    }

    #[test]
    fn exiting_threads_give_their_slots_back() {
        // Twice as many threads as slots, one after the other: each owns its blocks.
        let mut leftovers = Vec::new();
        for _ in 0..2 * OWNERS {
            let (block, tag) = std::thread::spawn(|| {
                let (a, tag_a) = alloc_block(NODE);
                assert!(((tag_a >> 8) as usize) < OWNERS, "not an owner: {tag_a:x}");
                // SAFETY: from alloc_block with this tag.
                unsafe { free_block(a, NODE, tag_a) };
                let (b, tag_b) = alloc_block(NODE);
                (b as usize, tag_b)
            })
            .join()
            .unwrap();
            leftovers.push((block, tag));
        }
        // Blocks of owners that exited are freed here (to the system, or to whoever
        // took the slot since).
        for (block, tag) in leftovers {
            // SAFETY: allocated with this tag, freed once.
            unsafe { free_block(block as *mut u8, NODE, tag) };
        }
    }

    #[test]
    fn an_owner_reuses_what_it_freed() {
        std::thread::spawn(|| {
            assert!(adopt_thread());
            let (a, tag_a) = alloc_block(NODE);
            // SAFETY: from alloc_block with this tag.
            unsafe { free_block(a, NODE, tag_a) };
            let (b, tag_b) = alloc_block(NODE);
            assert_eq!((a, tag_a), (b, tag_b));
            // SAFETY: as above.
            unsafe { free_block(b, NODE, tag_b) };
        })
        .join()
        .unwrap();
    }

    #[test]
    fn blocks_freed_elsewhere_come_back_in_batches() {
        use std::sync::mpsc;
        let (to_freer, blocks) = mpsc::channel::<(usize, Tag)>();
        let (freed, wait_freed) = mpsc::channel::<()>();
        let freer = std::thread::spawn(move || {
            assert!(adopt_thread());
            for (block, tag) in blocks {
                // SAFETY: allocated by the owner below with this tag, sent here once.
                unsafe { free_block(block as *mut u8, NODE, tag) };
                freed.send(()).unwrap();
            }
        });
        std::thread::spawn(move || {
            assert!(adopt_thread());
            let mut sent = Vec::new();
            for _ in 0..BATCH {
                let (block, tag) = alloc_block(NODE);
                sent.push(block as usize);
                to_freer.send((block as usize, tag)).unwrap();
                wait_freed.recv().unwrap();
            }
            // All BATCH came back as one chain: the next allocations reuse them.
            let again: Vec<_> = (0..BATCH).map(|_| alloc_block(NODE)).collect();
            assert!(again.iter().all(|(b, _)| sent.contains(&(*b as usize))));
            for (block, tag) in again {
                // SAFETY: ours, freed once.
                unsafe { free_block(block, NODE, tag) };
            }
        })
        .join()
        .unwrap();
        freer.join().unwrap();
    }
}
