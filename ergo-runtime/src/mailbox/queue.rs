//! An unbounded multi-producer single-consumer queue: Vyukov's intrusive list with the
//! stub node embedded in the queue, so an empty queue owns no allocation (24 bytes).
//!
//! Producers do one atomic swap and one store. The consumer never sees a torn queue as
//! empty: while a producer has swapped the head but not yet linked its node, `pop`
//! reports [`Pop::Busy`].
//!
//! Nodes come from the recycling [`pool`](super::pool): no `malloc` per message once
//! the pools are warm.
//!
//! Each node carries a 32-bit enqueue stamp (0 when latency tracking is off) in what
//! would otherwise be padding after its tag: the consumer reads the stamp of what it
//! takes and of the new oldest node ([`Queue::head_stamp`]) at no extra memory cost.

use std::alloc::Layout;
use std::ptr;

use super::pool::{self, Tag};
use crate::sync::{AtomicPtr, Ordering};

#[repr(C)]
struct Link {
    next: AtomicPtr<Link>,
}

#[repr(C)]
struct Node<T> {
    link: Link,
    /// Where the node's memory goes back to.
    tag: Tag,
    /// When the value was queued (see [`super::latency`]); 0: not stamped.
    stamp: u32,
    value: T,
}

/// What `pop` found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pop<T> {
    /// The oldest message.
    Item(T),
    /// Nothing queued.
    Empty,
    /// A producer is between its two steps: something is coming, look again shortly.
    Busy,
}

/// The queue. `push` from any thread; `pop` only from the one consumer at a time (the
/// process runner, which holds the run state).
///
/// `GAP` bytes of padding part the producers' field from the consumer's: a queue that
/// streams between two cores keeps them on separate cache lines (with what precedes
/// and follows the queue arranged the same way; see the main queue of
/// [`Mailbox`](super::Mailbox)).
#[repr(C)]
pub(crate) struct Queue<T, const GAP: usize = 0> {
    /// Last pushed link, or null for the stub. Written by producers.
    head: AtomicPtr<Link>,
    _gap: [u8; GAP],
    /// Oldest link, or null for the stub. Consumer-owned (an atomic only for loom).
    tail: AtomicPtr<Link>,
    stub: Link,
    _owns: std::marker::PhantomData<Node<T>>,
}

unsafe impl<T: Send, const GAP: usize> Send for Queue<T, GAP> {}
unsafe impl<T: Send, const GAP: usize> Sync for Queue<T, GAP> {}

impl<T, const GAP: usize> Queue<T, GAP> {
    pub(crate) fn new() -> Self {
        Queue {
            head: AtomicPtr::new(ptr::null_mut()),
            _gap: [0; GAP],
            tail: AtomicPtr::new(ptr::null_mut()),
            stub: Link {
                next: AtomicPtr::new(ptr::null_mut()),
            },
            _owns: std::marker::PhantomData,
        }
    }

    /// Where the producers' field ends (for layout tests).
    #[cfg(test)]
    pub(crate) const PRODUCERS_END: usize =
        std::mem::offset_of!(Self, head) + std::mem::size_of::<AtomicPtr<Link>>();
    /// Where the consumer's fields start (for layout tests).
    #[cfg(test)]
    pub(crate) const CONSUMER_START: usize = std::mem::offset_of!(Self, tail);

    fn stub(&self) -> *mut Link {
        &self.stub as *const Link as *mut Link
    }

    fn or_stub(&self, link: *mut Link) -> *mut Link {
        if link.is_null() {
            self.stub()
        } else {
            link
        }
    }

    /// Appends a value. The swap is `SeqCst`: it is the first half of the wake-up
    /// handshake (push, then read the run state).
    #[inline]
    #[cfg(test)]
    pub(crate) fn push(&self, value: T) {
        self.push_stamped(value, 0);
    }

    /// Appends a value queued at `stamp` (0: not stamped).
    #[inline]
    pub(crate) fn push_stamped(&self, value: T, stamp: u32) {
        let (block, tag) = pool::alloc_block(Layout::new::<Node<T>>());
        let node = block.cast::<Node<T>>();
        let link = Link {
            next: AtomicPtr::new(ptr::null_mut()),
        };
        // SAFETY: a fresh block with the size and alignment of `Node<T>`.
        unsafe {
            node.write(Node {
                link,
                tag,
                stamp,
                value,
            })
        };
        self.push_link(node.cast());
    }

    #[inline]
    fn push_link(&self, link: *mut Link) {
        // SAFETY: `link` is either a fresh node or the stub, not reachable from the queue.
        unsafe { (*link).next.store(ptr::null_mut(), Ordering::Relaxed) };
        let prev = self.or_stub(self.head.swap(link, Ordering::SeqCst));
        // SAFETY: `prev` stays allocated until the consumer has moved past it, which it
        // cannot do before this store makes `link` reachable.
        unsafe { (*prev).next.store(link, Ordering::Release) };
    }

    /// Takes the oldest value. Only the consumer may call this.
    #[inline]
    #[cfg(test)]
    pub(crate) fn pop(&self) -> Pop<T> {
        self.pop_stamped(&mut 0)
    }

    /// Takes the oldest value; its stamp goes to `stamp`. Only the consumer may call
    /// this.
    #[inline]
    pub(crate) fn pop_stamped(&self, stamp: &mut u32) -> Pop<T> {
        let stub = self.stub();
        let mut tail = self.or_stub(self.tail.load(Ordering::Relaxed));
        // SAFETY: `tail` is the stub or a node only the consumer frees.
        let mut next = unsafe { (*tail).next.load(Ordering::Acquire) };
        if tail == stub {
            if next.is_null() {
                return if self.or_stub(self.head.load(Ordering::SeqCst)) == stub {
                    Pop::Empty
                } else {
                    Pop::Busy
                };
            }
            self.tail.store(next, Ordering::Relaxed);
            tail = next;
            // SAFETY: as above.
            next = unsafe { (*tail).next.load(Ordering::Acquire) };
        }
        if !next.is_null() {
            self.tail.store(next, Ordering::Relaxed);
            return Pop::Item(self.take(tail, stamp));
        }
        if tail != self.or_stub(self.head.load(Ordering::SeqCst)) {
            return Pop::Busy;
        }
        self.push_link(stub);
        // SAFETY: as above.
        next = unsafe { (*tail).next.load(Ordering::Acquire) };
        if next.is_null() {
            return Pop::Busy;
        }
        self.tail.store(next, Ordering::Relaxed);
        Pop::Item(self.take(tail, stamp))
    }

    /// The stamp of the oldest value still queued (0: none, or not stamped). Only the
    /// consumer may call this: the node it reads is freed only by the consumer.
    pub(crate) fn head_stamp(&self) -> u32 {
        let stub = self.stub();
        let mut head = self.or_stub(self.tail.load(Ordering::Relaxed));
        if head == stub {
            // SAFETY: the stub lives as long as the queue.
            head = unsafe { (*stub).next.load(Ordering::Acquire) };
            if head.is_null() {
                return 0;
            }
        }
        // SAFETY: a non-stub link reached by the consumer is the first field of a
        // `Node<T>` whose value has not been taken; its fields were written before it
        // was linked (`Release`, seen through the `Acquire` load that reached it).
        unsafe { (*head.cast::<Node<T>>()).stamp }
    }

    #[inline]
    fn take(&self, link: *mut Link, stamp: &mut u32) -> T {
        debug_assert_ne!(link, self.stub());
        let node = link.cast::<Node<T>>();
        // SAFETY: every non-stub link is the first field of a `Node<T>` from `push`,
        // now unreachable from the queue: its value is moved out once, then its block
        // goes back to the pool with its tag.
        unsafe {
            let value = ptr::read(&raw const (*node).value);
            let tag = (*node).tag;
            *stamp = (*node).stamp;
            pool::free_block(node.cast(), Layout::new::<Node<T>>(), tag);
            value
        }
    }

    /// True when nothing is queued and no producer is mid-push. `SeqCst`: the second
    /// half of the runner's side of the wake-up handshake.
    pub(crate) fn is_empty(&self) -> bool {
        let stub = self.stub();
        self.or_stub(self.head.load(Ordering::SeqCst)) == stub
            && self.or_stub(self.tail.load(Ordering::Relaxed)) == stub
    }
}

impl<T, const GAP: usize> Drop for Queue<T, GAP> {
    fn drop(&mut self) {
        loop {
            match self.pop_stamped(&mut 0) {
                Pop::Item(value) => drop(value),
                Pop::Empty => break,
                // No producer can be mid-push once the queue is being dropped.
                Pop::Busy => unreachable!("queue dropped during a push"),
            }
        }
    }
}

#[cfg(all(test, not(ergo_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_and_empty() {
        let q = Queue::<_>::new();
        assert_eq!(q.pop(), Pop::<u32>::Empty);
        assert!(q.is_empty());
        for i in 0..10 {
            q.push(i);
        }
        assert!(!q.is_empty());
        for i in 0..10 {
            assert_eq!(q.pop(), Pop::Item(i));
        }
        assert_eq!(q.pop(), Pop::Empty);
        assert!(q.is_empty());
        q.push(99);
        assert_eq!(q.pop(), Pop::Item(99));
        assert!(q.is_empty());
    }

    #[test]
    fn drop_frees_queued_values() {
        let marker = Arc::new(());
        let q = Queue::<_>::new();
        for _ in 0..5 {
            q.push(marker.clone());
        }
        drop(q);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn concurrent_producers_keep_per_producer_order() {
        let q = Arc::new(Queue::<_>::new());
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..50_000u64 {
                        q.push((p, i));
                    }
                })
            })
            .collect();
        let mut next = [0u64; 4];
        let mut seen = 0;
        while seen < 200_000 {
            match q.pop() {
                Pop::Item((p, i)) => {
                    assert_eq!(next[p as usize], i);
                    next[p as usize] += 1;
                    seen += 1;
                }
                Pop::Empty | Pop::Busy => std::thread::yield_now(),
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        assert_eq!(q.pop(), Pop::Empty);
    }
}
