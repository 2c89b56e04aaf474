//! One remote node as the network sees it: its pool of outbound connections (each a
//! shared write buffer, flushed by the thread that filled it or by a writer task), the
//! calls waiting for its replies, and the links and monitors that must fire
//! `NoConnection` if it is lost.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use ergo_runtime::Atom;

use ergo_runtime::dist::{AfterTurn, Dist, NetError, RemoteError};

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

/// One outbound connection. Senders append frames to `buf`; who writes them out
/// depends on `owner`. A process appending to an idle slot on a scheduler thread (or a
/// reader inside its batch) queues the slot to be flushed when its turn (or batch)
/// ends: one `write` from that thread for everything the turn appended, no hand-off. A
/// flush that cannot write everything (the socket is full), a send from any other
/// thread, and the keepalive go through the slot's writer task, which waits for the
/// socket to take more. Whoever owns the slot writes everything appended meanwhile
/// before letting go, so frames leave in the order they were appended.
pub(crate) struct Slot {
    pub(crate) state: Mutex<SlotState>,
    /// Wakes the writer task.
    pub(crate) ready: Notify,
}

/// What a slot's lock guards.
pub(crate) struct SlotState {
    /// Frames not yet taken by a writer.
    pub(crate) buf: Vec<u8>,
    /// An empty buffer kept for the next flush (so flushing allocates nothing).
    spare: Vec<u8>,
    pub(crate) owner: Owner,
    /// The connection, once dialed; dropped when the peer is lost (so the socket
    /// closes with the tasks, whoever still holds the peer).
    pub(crate) stream: Option<Arc<TcpStream>>,
    /// True while the slot's connection (clear-text or TLS) is up.
    pub(crate) connected: bool,
    /// Frames and bytes appended for the peer (counted under the lock appends take).
    frames_out: u64,
    bytes_out: u64,
}

/// Who writes a slot's buffer out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Owner {
    /// Nobody: the next append decides.
    Idle,
    /// A flush is queued to run after the current turn (or batch) of some thread.
    Queued,
    /// That flush is writing.
    Flushing,
    /// The writer task.
    Writer,
}

/// Rounds a flush writes what was appended while it wrote, before it leaves the rest to
/// the writer task (so one thread cannot be kept writing for others forever).
const FLUSH_ROUNDS: usize = 4;

/// A spare buffer above this capacity is dropped rather than kept.
const KEEP_SPARE: usize = 1 << 20;

impl Slot {
    fn new() -> Slot {
        Slot {
            state: Mutex::new(SlotState {
                buf: Vec::new(),
                spare: Vec::new(),
                owner: Owner::Idle,
                stream: None,
                connected: false,
                frames_out: 0,
                bytes_out: 0,
            }),
            ready: Notify::new(),
        }
    }

    /// Hands the buffer's data to the writer task (it is woken).
    fn to_writer(&self, mut state: parking_lot::MutexGuard<'_, SlotState>) {
        state.owner = Owner::Writer;
        drop(state);
        self.ready.notify_one();
    }
}

impl AfterTurn for Slot {
    /// The flush: writes the buffer without blocking, from the thread whose turn
    /// appended to it.
    fn after_turn(&self) {
        let (stream, mut out) = {
            let mut state = self.state.lock();
            if state.owner != Owner::Queued {
                return;
            }
            let Some(stream) = state.stream.clone() else {
                return self.to_writer(state);
            };
            state.owner = Owner::Flushing;
            let spare = std::mem::take(&mut state.spare);
            (stream, std::mem::replace(&mut state.buf, spare))
        };
        // On the socket from this thread: a turn run here may wait for the answer.
        Dist::sent();
        for round in 1..=FLUSH_ROUNDS {
            let written = write_now(&stream, &out);
            let mut state = self.state.lock();
            if written < out.len() {
                // The socket is full (or failed: the writer task finds out and reports
                // it): the rest, then what was appended meanwhile, go to the writer.
                out.drain(..written);
                out.extend_from_slice(&state.buf);
                std::mem::swap(&mut state.buf, &mut out);
                out.clear();
                state.spare = out;
                return self.to_writer(state);
            }
            out.clear();
            if state.buf.is_empty() {
                state.owner = Owner::Idle;
                if out.capacity() <= KEEP_SPARE {
                    state.spare = out;
                }
                return;
            }
            if round == FLUSH_ROUNDS {
                state.spare = out;
                return self.to_writer(state);
            }
            std::mem::swap(&mut state.buf, &mut out);
        }
    }
}

/// Writes as much of `bytes` as the socket takes now; how much that was.
fn write_now(stream: &TcpStream, bytes: &[u8]) -> usize {
    let mut written = 0;
    while written < bytes.len() {
        match stream.try_write(&bytes[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    written
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
    pub(crate) slots: Vec<Arc<Slot>>,
    /// Set when the first write asks for connections.
    pub(crate) dialing: AtomicBool,
    /// Set once, when the peer is declared lost.
    pub(crate) closed: AtomicBool,
    pub(crate) pending: Mutex<FxHashMap<u64, Pending>>,
    pub(crate) tasks: Mutex<Vec<AbortHandle>>,
    /// Bytes read from its connections (one add per read).
    pub(crate) bytes_in: AtomicU64,
    /// Frames read from its connections (one add per batch).
    pub(crate) frames_in: AtomicU64,
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
            slots: (0..pool.max(1)).map(|_| Arc::new(Slot::new())).collect(),
            dialing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            pending: Mutex::default(),
            tasks: Mutex::default(),
            bytes_in: AtomicU64::new(0),
            frames_in: AtomicU64::new(0),
        }
    }

    /// What was carried to and from this peer, and its connections.
    pub(crate) fn stats(&self) -> ergo_runtime::dist::PeerStats {
        let (mut frames_out, mut bytes_out, mut connections) = (0, 0, 0);
        for slot in &self.slots {
            let state = slot.state.lock();
            frames_out += state.frames_out;
            bytes_out += state.bytes_out;
            connections += usize::from(state.connected);
        }
        ergo_runtime::dist::PeerStats {
            node: self.name,
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out,
            messages_in: self.frames_in.load(Ordering::Relaxed),
            messages_out: frames_out,
            connections,
            pool_size: self.slots.len(),
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
        let mut state = slot.state.lock();
        if state.buf.len() >= self.hard_limit {
            return Err(Full::Stuck);
        }
        if !control && state.buf.len() >= self.limit {
            return Err(Full::Busy);
        }
        let before = state.buf.len();
        let r = f(&mut state.buf);
        let added = state.buf.len().saturating_sub(before) as u64;
        if added > 0 {
            state.frames_out += 1;
            state.bytes_out += added;
        }
        if state.owner == Owner::Idle && !state.buf.is_empty() {
            if state.stream.is_some() && Dist::after_turn(slot.clone()) {
                state.owner = Owner::Queued;
            } else {
                // Not connected yet, or not on a thread with turns: the writer task.
                drop(state);
                slot.ready.notify_one();
            }
        }
        Ok(r)
    }

    /// Bytes waiting in the slots' buffers (not yet taken by a writer).
    pub(crate) fn buffered(&self) -> usize {
        self.slots.iter().map(|s| s.state.lock().buf.len()).sum()
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
