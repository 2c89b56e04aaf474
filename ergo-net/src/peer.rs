//! One remote node as the network sees it: its pool of outbound connections (each a
//! shared write buffer drained by a writer task), the calls waiting for its replies,
//! and the links and monitors that must fire `NoConnection` if it is lost.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use ergo_runtime::Atom;

use ergo_runtime::dist::{NetError, RemoteError};

/// What waits for a tagged answer (reply, ack, lookup, spawn): gets the payload or an
/// error.
pub(crate) type Pending = Box<dyn FnOnce(Result<&[u8], PendingError>) + Send>;

/// Why a pending answer did not come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PendingError {
    /// The remote node reported an error.
    Remote(RemoteError),
    /// The connection was lost, or never made (the error says why).
    Lost(NetError),
}

/// A slot's write buffer is at its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// At the soft limit: messages are refused (the sender is told), control frames
    /// still pass.
    Busy,
    /// At the hard limit (twice the soft one plus a largest frame), even for control
    /// frames: the peer does not read, and is declared lost rather than silently
    /// dropping a link or a monitor signal.
    Stuck,
}

/// One outbound connection: frames are appended to `buf` by senders and written out by
/// the slot's writer task, which batches whatever accumulated.
pub(crate) struct Slot {
    pub(crate) buf: Mutex<Vec<u8>>,
    pub(crate) ready: Notify,
}

pub(crate) struct Peer {
    pub(crate) name: Atom,
    /// Bytes a slot's buffer may hold before messages are refused.
    limit: usize,
    /// Bytes it may hold before even control frames are (the peer is then lost).
    hard_limit: usize,
    /// Its creation, once known from a handshake (0 before).
    pub(crate) creation: AtomicU32,
    /// The largest message it accepts, once known from a handshake (0 before).
    max_message: AtomicU64,
    pub(crate) slots: Vec<Slot>,
    /// Set when the first write asks for connections.
    pub(crate) dialing: AtomicBool,
    /// Set once, when the peer is declared lost.
    pub(crate) closed: AtomicBool,
    pub(crate) pending: Mutex<FxHashMap<u64, Pending>>,
    pub(crate) tasks: Mutex<Vec<AbortHandle>>,
}

impl Peer {
    /// `limit` bytes per slot for messages; control frames may go up to twice that
    /// plus one largest frame (`max_frame`: a big message may sit in an otherwise
    /// empty buffer without blocking the links and monitors behind it).
    pub(crate) fn new(name: Atom, pool: usize, limit: usize, max_frame: usize) -> Peer {
        Peer {
            name,
            limit: limit.max(1),
            hard_limit: limit.max(1) * 2 + max_frame,
            creation: AtomicU32::new(0),
            max_message: AtomicU64::new(0),
            slots: (0..pool.max(1))
                .map(|_| Slot {
                    buf: Mutex::new(Vec::new()),
                    ready: Notify::new(),
                })
                .collect(),
            dialing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            pending: Mutex::default(),
            tasks: Mutex::default(),
        }
    }

    pub(crate) fn creation(&self) -> u32 {
        self.creation.load(Ordering::Acquire)
    }

    /// The largest message it accepts (`None` until a handshake told it).
    pub(crate) fn max_message(&self) -> Option<u64> {
        Some(self.max_message.load(Ordering::Acquire)).filter(|m| *m != 0)
    }

    pub(crate) fn set_max_message(&self, max: u64) {
        self.max_message.store(max.max(1), Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Appends a frame to the slot chosen by `key` (the same key, the same slot: order
    /// between one sender and one receiver is kept), unless the slot's buffer is full:
    /// at the limit for a message, at the hard limit for a `control` frame. A frame
    /// bigger than the limit still goes into an empty buffer.
    pub(crate) fn write<R>(
        &self,
        key: u64,
        control: bool,
        f: impl FnOnce(&mut Vec<u8>) -> R,
    ) -> Result<R, Full> {
        let slot = &self.slots[(mix(key) % self.slots.len() as u64) as usize];
        let mut buf = slot.buf.lock();
        if buf.len() >= self.hard_limit {
            return Err(Full::Stuck);
        }
        if !control && buf.len() >= self.limit {
            return Err(Full::Busy);
        }
        let was_empty = buf.is_empty();
        let r = f(&mut buf);
        let now_empty = buf.is_empty();
        drop(buf);
        if was_empty && !now_empty {
            slot.ready.notify_one();
        }
        Ok(r)
    }

    /// Bytes waiting in the slots' buffers (not yet handed to a writer).
    pub(crate) fn buffered(&self) -> usize {
        self.slots.iter().map(|s| s.buf.lock().len()).sum()
    }

    /// Waits for the answer tagged `tag`; fails it at once if the peer is already lost
    /// (checked under the lock `peer_down` drains with, so no answer is ever stranded).
    pub(crate) fn add_pending(&self, tag: u64, pending: Pending) {
        let mut map = self.pending.lock();
        if self.is_closed() {
            drop(map);
            pending(Err(PendingError::Lost(NetError::NoConnection(self.name))));
        } else {
            map.insert(tag, pending);
        }
    }

    pub(crate) fn take_pending(&self, tag: u64) -> Option<Pending> {
        self.pending.lock().remove(&tag)
    }
}

/// Spreads keys over the pool.
pub(crate) fn mix(key: u64) -> u64 {
    let k = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    k ^ (k >> 29)
}

/// The slot key of a (sender, receiver) pair.
pub(crate) fn pair_key(from: u64, to: u64) -> u64 {
    from.rotate_left(32) ^ to
}
