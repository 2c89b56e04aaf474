//! [`Pool`]: N workers of one actor type behind one address, as Go Ergo's `act.Pool`.
//! The pool forwards each message and call to the next worker (round robin) with the
//! caller's reply token, so workers answer callers directly; a dead worker is replaced
//! and the message handed to the next one; a worker with a full mailbox is skipped.
//! Workers are added and removed at run time, and the pool counts what it forwarded,
//! restarted and dropped ([`PoolInfo`], also its `sys:get_state` text).

mod actor;

use std::fmt;
use std::sync::Arc;

use ergo_runtime::{Actor, ActorRef, CallError, NoInitArgs, Priority, Request};

pub use actor::Pool;

/// The default number of workers (Go Ergo's default).
pub const DEFAULT_POOL_SIZE: usize = 3;

type Factory<W> = Arc<dyn Fn() -> (W, <W as Actor>::Args) + Send + Sync>;

/// How a pool makes its workers.
pub struct PoolOptions<W: Actor> {
    pub(crate) size: usize,
    pub(crate) factory: Factory<W>,
    pub(crate) mailbox_limit: u32,
}

impl<W: Actor> PoolOptions<W> {
    /// [`DEFAULT_POOL_SIZE`] workers made by `factory` (whose init takes no arguments).
    pub fn new(factory: impl Fn() -> W + Send + Sync + 'static) -> Self
    where
        W::Args: NoInitArgs,
    {
        Self::with_args(move || (factory(), W::Args::none()))
    }

    /// Workers made by `factory`, with their init arguments.
    pub fn with_args(factory: impl Fn() -> (W, W::Args) + Send + Sync + 'static) -> Self {
        PoolOptions {
            size: DEFAULT_POOL_SIZE,
            factory: Arc::new(factory),
            mailbox_limit: 0,
        }
    }

    /// This many workers (at least one).
    pub fn size(mut self, size: usize) -> Self {
        self.size = size.max(1);
        self
    }

    /// Bounds each worker's main queue: a full worker is skipped.
    pub fn worker_mailbox_limit(mut self, limit: u32) -> Self {
        self.mailbox_limit = limit;
        self
    }
}

impl<W: Actor> Clone for PoolOptions<W> {
    fn clone(&self) -> Self {
        PoolOptions {
            size: self.size,
            factory: self.factory.clone(),
            mailbox_limit: self.mailbox_limit,
        }
    }
}

/// A pool's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolInfo {
    /// Workers now.
    pub workers: usize,
    /// Messages and calls handed to a worker.
    pub forwarded: u64,
    /// Workers replaced after they died.
    pub restarts: u64,
    /// Messages and calls no worker could take (every mailbox full).
    pub dropped: u64,
}

impl fmt::Display for PoolInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Pool {{ workers: {}, forwarded: {}, restarts: {}, dropped: {} }}",
            self.workers, self.forwarded, self.restarts, self.dropped
        )
    }
}

/// A pool's requests: work for a worker, or the pool's own administration.
pub enum PoolCall<W: Actor> {
    /// A worker's request, forwarded.
    Work(W::Call),
    /// Adds workers.
    Add(usize),
    /// Removes workers (at least one stays).
    Remove(usize),
    /// Reads the counters.
    Info,
}

/// A pool's replies.
pub enum PoolReply<W: Actor> {
    /// A worker's reply (sent by the worker itself).
    Work(W::Reply),
    /// The counters.
    Info(PoolInfo),
}

/// A pool's messages: work for a worker.
pub enum PoolMessage<W: Actor> {
    /// A worker's message, forwarded.
    Work(W::Message),
}

fn info<W: Actor>(reply: PoolReply<W>) -> Result<PoolInfo, CallError> {
    match reply {
        PoolReply::Info(info) => Ok(info),
        PoolReply::Work(_) => Err(CallError::BadRequest("not a pool's counters".into())),
    }
}

fn work<W: Actor>(reply: PoolReply<W>) -> Result<W::Reply, CallError> {
    match reply {
        PoolReply::Work(reply) => Ok(reply),
        PoolReply::Info(_) => Err(CallError::BadRequest("not a worker's reply".into())),
    }
}

/// What a pool's handle can do (in scope with `use ergo::pool::PoolExt`).
pub trait PoolExt<W: Actor> {
    /// A worker's request, answered by whichever worker takes it.
    fn call_worker(&self, req: W::Call) -> Request<Pool<W>, W::Reply>;
    /// Adds `n` workers; answers the counters after.
    fn add_workers(&self, n: usize) -> Request<Pool<W>, PoolInfo>;
    /// Removes `n` workers (one always stays); answers the counters after.
    fn remove_workers(&self, n: usize) -> Request<Pool<W>, PoolInfo>;
    /// The counters.
    fn pool_info(&self) -> Request<Pool<W>, PoolInfo>;
}

impl<W: Actor> PoolExt<W> for ActorRef<Pool<W>> {
    fn call_worker(&self, req: W::Call) -> Request<Pool<W>, W::Reply> {
        self.request_map(PoolCall::Work(req), work::<W>)
    }

    fn add_workers(&self, n: usize) -> Request<Pool<W>, PoolInfo> {
        self.request_map(PoolCall::Add(n), info::<W>)
            .priority(Priority::High)
    }

    fn remove_workers(&self, n: usize) -> Request<Pool<W>, PoolInfo> {
        self.request_map(PoolCall::Remove(n), info::<W>)
            .priority(Priority::High)
    }

    fn pool_info(&self) -> Request<Pool<W>, PoolInfo> {
        self.request_map(PoolCall::Info, info::<W>)
            .priority(Priority::High)
    }
}
