//! The untyped part of a process: identity, flags, counters, and the side structure
//! (links, monitors, names, aliases, timers, env) allocated on first use.

use std::any::Any;
use std::ptr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use crate::error::SendError;
use crate::mailbox::Priority;
use crate::node::Node;
use crate::pid::{Alias, Atom, Pid, Ref};
use crate::reason::{Down, Exit, Reason};
use crate::sync::{AtomicPtr, AtomicU8, Ordering};

/// Flag bits of [`Core::flags`].
pub(crate) mod flag {
    /// Exit signals become messages.
    pub const TRAP_EXIT: u8 = 1;
    /// An async handler is pending.
    pub const AWAITING: u8 = 2;
    /// The crash that ends the process was logged where it was caught (a blocking
    /// job's panic): its termination is not logged again.
    pub const CRASH_LOGGED: u8 = 4;
    /// Suspended by a system request: only system requests and untrappable signals
    /// are handled; the rest waits.
    pub const SUSPENDED: u8 = 8;
    /// The node's exit hooks are told when this process terminates.
    pub const EXIT_HOOKS: u8 = 16;
    /// The process set its own compression threshold (kept in the side structure).
    pub const COMPRESS: u8 = 32;
    /// Envelopes held while suspended wait in the side structure.
    pub const HELD: u8 = 64;
    /// A turn run off the schedulers by a connection's reader was slow: the process
    /// runs on scheduler threads only for a while (see `sched`'s hand-off and
    /// [`Core::demote`](super::Core::demote)).
    pub const SLOW: u8 = 128;
}

/// A system signal, queued like a message but handled by the runtime.
pub(crate) enum Signal {
    /// An exit signal from a link or `send_exit`; trappable.
    Exit(Exit),
    /// `kill`: untrappable.
    Kill,
    /// Terminate with this reason, trapping or not (node shutdown, parent stop).
    Stop(Reason),
    /// A monitor fired.
    Down(Down),
    /// A system request (OTP's `sys` protocol).
    System(crate::system::SystemRequest, crate::system::SystemAnswer),
}

impl Signal {
    /// The queue the signal goes to.
    pub(crate) fn priority(&self) -> Priority {
        match self {
            Signal::Down(_) => Priority::High,
            // In order with the messages from the same sender, as OTP's system
            // messages are (`cast(P, x), sys:get_state(P)` sees the state after x).
            Signal::System(..) => Priority::Normal,
            _ => Priority::Urgent,
        }
    }
}

/// Who is told when a monitored process terminates.
pub(crate) enum Watcher {
    /// A process: gets a `Down` in its system queue.
    Process(Pid),
    /// Code outside any process (`Node::monitor`).
    Node(oneshot::Sender<Down>),
}

pub(crate) struct Monitor {
    pub(crate) watcher: Watcher,
    pub(crate) name: Option<Atom>,
}

/// What a process rarely has. Allocated on first use, behind a lock: links and monitors
/// are changed by other processes too.
#[derive(Default)]
pub(crate) struct Side {
    /// Set once, under the lock, when the process terminates: later links and monitors
    /// get `NoProcess` at once, so every watcher is told exactly once.
    pub(crate) dead: bool,
    pub(crate) name: Option<Atom>,
    pub(crate) aliases: Vec<Alias>,
    pub(crate) links: Vec<Pid>,
    /// Monitors on this process.
    pub(crate) monitors: FxHashMap<Ref, Monitor>,
    /// Monitors this process holds on others: ref → target.
    pub(crate) watching: FxHashMap<Ref, Pid>,
    pub(crate) timers: Vec<AbortHandle>,
    pub(crate) env: FxHashMap<String, String>,
    pub(crate) parent: Option<Pid>,
    /// Nanoseconds spent in turns while run-time accounting was on.
    pub(crate) run_time: u64,
    /// Slow turns run off the schedulers (see `flag::SLOW`), up to 10.
    pub(crate) slow_strikes: u32,
    /// Scheduler turns left before the process may run off the schedulers again.
    pub(crate) demoted_turns: u32,
    /// This process's compression threshold for remote sends (see `flag::COMPRESS`).
    pub(crate) compress_above: Option<usize>,
    /// What arrived while the process was suspended (a `VecDeque<Envelope<A>>` of its
    /// actor type), in order; see `flag::HELD`.
    pub(crate) held: Option<Box<dyn Any + Send>>,
}

/// Identity and bookkeeping shared by every process, whatever its actor type.
pub(crate) struct Core {
    pub(crate) node: Node,
    pub(crate) id: u64,
    flags: AtomicU8,
    /// Nanoseconds after node start when the process was spawned.
    pub(crate) born: u64,
    sent: AtomicU64,
    side: AtomicPtr<Mutex<Side>>,
}

impl Core {
    pub(crate) fn new(node: Node, id: u64) -> Core {
        let born = node.inner().started.elapsed().as_nanos() as u64;
        Core {
            node,
            id,
            flags: AtomicU8::new(0),
            born,
            sent: AtomicU64::new(0),
            side: AtomicPtr::new(ptr::null_mut()),
        }
    }

    pub(crate) fn pid(&self) -> Pid {
        self.node.pid_of(self.id)
    }

    /// The registered name, if any.
    pub(crate) fn name(&self) -> Option<Atom> {
        self.side().and_then(|s| s.lock().name)
    }

    #[inline]
    pub(crate) fn has_flag(&self, bit: u8) -> bool {
        self.flags.load(Ordering::Relaxed) & bit != 0
    }

    pub(crate) fn set_flag(&self, bit: u8, on: bool) {
        if on {
            self.flags.fetch_or(bit, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!bit, Ordering::Relaxed);
        }
    }

    /// Counts a message this process sent (only the running process calls this).
    #[inline]
    pub(crate) fn count_sent(&self) {
        let n = self.sent.load(Ordering::Relaxed);
        self.sent.store(n + 1, Ordering::Relaxed);
    }

    /// This process's own compression threshold, if it set one.
    pub(crate) fn compress_above(&self) -> Option<usize> {
        if !self.has_flag(flag::COMPRESS) {
            return None;
        }
        self.side().and_then(|s| s.lock().compress_above)
    }

    pub(crate) fn set_compress_above(&self, bytes: Option<usize>) {
        self.side_or_init().lock().compress_above = bytes;
        self.set_flag(flag::COMPRESS, bytes.is_some());
    }

    /// Adds the length of a turn (only the process's runner calls this, and only while
    /// accounting is on: the counter lives in the side structure, so a process that is
    /// never measured does not carry it).
    pub(crate) fn add_run_time(&self, nanos: u64) {
        let mut side = self.side_or_init().lock();
        side.run_time = side.run_time.wrapping_add(nanos);
    }

    /// A turn of the process run off the schedulers was slow: its next `16 << strikes`
    /// turns (strikes counted over its life, up to 10) run on scheduler threads. A
    /// turn stretched once by preemption costs little; a handler that is slow every
    /// time is handed off less and less often.
    pub(crate) fn demote(&self) {
        let mut side = self.side_or_init().lock();
        side.slow_strikes = (side.slow_strikes + 1).min(10);
        side.demoted_turns = 16 << side.slow_strikes;
        drop(side);
        self.set_flag(flag::SLOW, true);
    }

    /// A demoted process ran a turn on a scheduler thread: one fewer to go.
    pub(crate) fn count_demoted_turn(&self) {
        let mut side = self.side_or_init().lock();
        side.demoted_turns = side.demoted_turns.saturating_sub(1);
        if side.demoted_turns == 0 {
            self.set_flag(flag::SLOW, false);
        }
    }

    /// Nanoseconds spent running while accounting was on.
    pub(crate) fn run_time(&self) -> u64 {
        self.side().map_or(0, |s| s.lock().run_time)
    }

    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// The side structure, if it was ever allocated.
    pub(crate) fn side(&self) -> Option<&Mutex<Side>> {
        // SAFETY: once installed, the side lives as long as the core.
        unsafe { self.side.load(Ordering::Acquire).as_ref() }
    }

    /// The side structure, allocated on first use.
    pub(crate) fn side_or_init(&self) -> &Mutex<Side> {
        if let Some(side) = self.side() {
            return side;
        }
        let fresh = Box::into_raw(Box::default());
        match self.side.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: installed now; freed only in `drop`.
            Ok(_) => unsafe { &*fresh },
            Err(current) => {
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: installed by the winner; freed only in `drop`.
                unsafe { &*current }
            }
        }
    }

    /// Runs `f` on the side structure unless the process has terminated.
    pub(crate) fn with_live_side<R>(&self, f: impl FnOnce(&mut Side) -> R) -> Option<R> {
        let mut side = self.side_or_init().lock();
        if side.dead {
            None
        } else {
            Some(f(&mut side))
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        let side = self.side.load(Ordering::Acquire);
        if !side.is_null() {
            // SAFETY: installed by `side_or_init`, freed only here.
            drop(unsafe { Box::from_raw(side) });
        }
    }
}

/// Where the outcome of an untyped call goes.
pub type AnyReply = Box<dyn FnOnce(Result<Box<dyn Any + Send>, crate::error::CallError>) + Send>;

pub(crate) use crate::dist::WireReply;

/// A process seen without its actor type: what the process table holds.
pub(crate) trait AnyProcess: Send + Sync + 'static {
    fn core(&self) -> &Core;
    /// Queues a system signal; false if the process is dead.
    fn signal(self: Arc<Self>, signal: Signal) -> bool;
    /// Sends an untyped message, converted to the actor's message type.
    fn send_any(
        self: Arc<Self>,
        msg: Box<dyn Any + Send>,
        priority: Priority,
    ) -> Result<(), SendError<Box<dyn Any + Send>>>;
    /// Makes an untyped call: `req` is converted with `Actor::call_from_any`, the reply
    /// with `Actor::reply_into_any(.., want)` and handed to `reply`.
    fn call_any(
        self: Arc<Self>,
        req: Box<dyn Any + Send>,
        want: std::any::TypeId,
        priority: Priority,
        reply: AnyReply,
    ) -> Result<(), SendError<Box<dyn Any + Send>>>;
    /// Delivers a message that arrived from another node, decoded with the actor's own
    /// wire table.
    fn deliver_wire(
        self: Arc<Self>,
        payload: &[u8],
        priority: Priority,
    ) -> Result<(), crate::dist::RemoteError>;
    /// Delivers an untyped message of the registered type `kind` from another node.
    fn deliver_wire_any(
        self: Arc<Self>,
        kind: &str,
        payload: &[u8],
        priority: Priority,
    ) -> Result<(), crate::dist::RemoteError>;
    /// Delivers a request from another node; the encoded reply (or error) goes to `reply`.
    fn call_wire(
        self: Arc<Self>,
        payload: &[u8],
        priority: Priority,
        reply: WireReply,
    ) -> Result<(), crate::dist::RemoteError>;
    /// For typed lookups (`Arc<Cell<A>>`).
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// Run state, queue lengths (urgent, system, main, log), messages received.
    fn mailbox_stats(&self) -> (u8, [u32; 4], u64);
    /// The latency stamp of each queue's oldest message (0: none stamped).
    fn oldest_stamps(&self) -> [u32; 4];
    /// The actor type's name.
    fn kind(&self) -> &'static str;
}
