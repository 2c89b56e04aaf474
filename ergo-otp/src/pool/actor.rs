//! The pool process: its workers in round-robin order, forwarding, replacement.

use std::collections::VecDeque;

use ergo_runtime::{
    Actor, ActorRef, CallError, Context, Exit, Handles, Reason, ReplyTo, SendError, SpawnOptions,
    Step,
};

use super::{PoolCall, PoolInfo, PoolMessage, PoolOptions, PoolReply};
use crate::ratelimit::Warnings;

/// A pool of workers of actor `W` (see the [module](super) docs). Spawn it like any
/// actor: `node.spawn(Pool::new(PoolOptions::new(Worker::default))).await?`; send it
/// what a worker handles, call workers through [`PoolExt`](super::PoolExt).
pub struct Pool<W: Actor> {
    options: PoolOptions<W>,
    workers: VecDeque<ActorRef<W>>,
    info: PoolInfo,
    dropped: Warnings,
}

impl<W: Actor> Pool<W> {
    /// A pool with these options.
    pub fn new(options: PoolOptions<W>) -> Self {
        Pool {
            options,
            workers: VecDeque::new(),
            info: PoolInfo::default(),
            dropped: Warnings::default(),
        }
    }

    async fn start_worker(&mut self, ctx: &Context<Self>) -> Result<(), Reason> {
        let (worker, args) = (self.options.factory)();
        let mut spawn = SpawnOptions::default().link();
        if self.options.mailbox_limit > 0 {
            spawn = spawn.mailbox_limit(self.options.mailbox_limit);
        }
        let worker = ctx
            .spawn_with(worker, args, spawn)
            .await
            .map_err(Reason::error)?;
        self.workers.push_back(worker);
        Ok(())
    }

    /// Spawns workers until there are `want`.
    async fn fill(&mut self, ctx: &Context<Self>, want: usize) -> Result<(), Reason> {
        while self.workers.len() < want {
            self.start_worker(ctx).await?;
        }
        Ok(())
    }

    /// Hands `item` to the next worker that takes it. Dead workers met on the way are
    /// dropped (and counted for replacement); full ones are skipped.
    fn dispatch<T>(
        &mut self,
        mut item: T,
        send: impl Fn(&ActorRef<W>, T) -> Result<(), SendError<T>>,
    ) -> Dispatch<T> {
        let mut dead = 0;
        for _ in 0..self.workers.len() {
            let Some(worker) = self.workers.pop_front() else {
                break;
            };
            match send(&worker, item) {
                Ok(()) => {
                    self.workers.push_back(worker);
                    self.info.forwarded += 1;
                    return Dispatch::Done { dead };
                }
                Err(SendError::MailboxFull(back)) => {
                    self.workers.push_back(worker);
                    item = back;
                }
                Err(other) => {
                    dead += 1;
                    match other.into_inner() {
                        Some(back) => item = back,
                        None => return Dispatch::Done { dead },
                    }
                }
            }
        }
        Dispatch::Refused { item, dead }
    }

    /// Replaces `dead` workers, then hands `item` on (or drops it).
    fn replace_then<T: Send + 'static>(
        dead: usize,
        item: Option<T>,
        send: fn(&ActorRef<W>, T) -> Result<(), SendError<T>>,
        drop_item: fn(T),
    ) -> Step<Self> {
        Step::run_async(move |mut this: Self, mut ctx| async move {
            let want = this.workers.len() + dead;
            this.info.restarts += dead as u64;
            if let Err(reason) = this.fill(&ctx, want).await {
                ctx.stop(reason);
            }
            if let Some(item) = item {
                match this.dispatch(item, send) {
                    Dispatch::Done { .. } => {}
                    Dispatch::Refused { item, .. } => {
                        this.refused();
                        drop_item(item);
                    }
                }
            }
            (this, ctx)
        })
    }

    /// Counts (and logs, rate-limited) work that no worker could take.
    fn refused(&mut self) {
        self.info.dropped += 1;
        self.dropped.warn("pool: work dropped", || {
            tracing::warn!("pool: every worker's mailbox is full; work dropped")
        });
    }

    fn info(&self) -> PoolInfo {
        PoolInfo {
            workers: self.workers.len(),
            ..self.info
        }
    }
}

enum Dispatch<T> {
    Done { dead: usize },
    Refused { item: T, dead: usize },
}

fn send_message<W: Actor>(w: &ActorRef<W>, msg: W::Message) -> Result<(), SendError<W::Message>> {
    w.forward(msg)
}

#[allow(clippy::type_complexity)]
fn send_call<W: Actor>(
    w: &ActorRef<W>,
    (req, reply): (W::Call, ReplyTo<W::Reply>),
) -> Result<(), SendError<(W::Call, ReplyTo<W::Reply>)>> {
    w.forward_call(req, reply)
}

fn refuse_call<W: Actor>((_, reply): (W::Call, ReplyTo<W::Reply>)) {
    reply.fail(CallError::MailboxFull);
}

/// A pool takes whatever its workers handle: `pool.send(msg)` goes to one worker.
impl<W: Actor + Handles<M>, M> Handles<M> for Pool<W> {
    fn into_message(msg: M) -> PoolMessage<W> {
        PoolMessage::Work(W::into_message(msg))
    }
}

impl<W: Actor> Actor for Pool<W> {
    type Message = PoolMessage<W>;
    type Call = PoolCall<W>;
    type Reply = PoolReply<W>;
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        // A worker's exit is a message: the pool replaces it.
        ctx.trap_exit(true);
        let size = self.options.size;
        self.fill(ctx, size).await
    }

    fn handle_message(&mut self, _: &mut Context<Self>, msg: PoolMessage<W>) -> Step<Self> {
        let PoolMessage::Work(msg) = msg;
        match self.dispatch(msg, send_message::<W>) {
            Dispatch::Done { dead: 0 } => Step::Continue,
            Dispatch::Done { dead } => Self::replace_then(dead, None, send_message::<W>, drop),
            Dispatch::Refused { item, dead: 0 } => {
                self.refused();
                drop(item);
                Step::Continue
            }
            Dispatch::Refused { item, dead } => {
                Self::replace_then(dead, Some(item), send_message::<W>, drop)
            }
        }
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        req: PoolCall<W>,
        reply: ReplyTo<PoolReply<W>>,
    ) -> Step<Self> {
        match req {
            PoolCall::Work(req) => {
                let reply = reply.map(PoolReply::Work);
                match self.dispatch((req, reply), send_call::<W>) {
                    Dispatch::Done { dead: 0 } => Step::Continue,
                    Dispatch::Done { dead } => {
                        Self::replace_then(dead, None, send_call::<W>, refuse_call::<W>)
                    }
                    Dispatch::Refused { item, dead: 0 } => {
                        self.refused();
                        refuse_call::<W>(item);
                        Step::Continue
                    }
                    Dispatch::Refused { item, dead } => {
                        Self::replace_then(dead, Some(item), send_call::<W>, refuse_call::<W>)
                    }
                }
            }
            PoolCall::Add(n) => Step::run_async(move |mut this: Self, mut ctx| async move {
                let want = this.workers.len() + n;
                if let Err(reason) = this.fill(&ctx, want).await {
                    ctx.stop(reason);
                }
                reply.send(PoolReply::Info(this.info()));
                (this, ctx)
            }),
            PoolCall::Remove(n) => Step::run_async(move |mut this: Self, ctx| async move {
                let n = n.min(this.workers.len().saturating_sub(1));
                for _ in 0..n {
                    if let Some(worker) = this.workers.pop_back() {
                        ctx.unlink(worker.pid());
                        worker.exit(Reason::Shutdown);
                    }
                }
                reply.send(PoolReply::Info(this.info()));
                (this, ctx)
            }),
            PoolCall::Info => {
                reply.send(PoolReply::Info(self.info()));
                Step::Continue
            }
        }
    }

    fn handle_exit(&mut self, _: &mut Context<Self>, exit: Exit) -> Step<Self> {
        let before = self.workers.len();
        self.workers.retain(|w| w.pid() != exit.from);
        let dead = before - self.workers.len();
        if dead == 0 {
            // Not a worker (the parent's exit never comes here): stop with it.
            if exit.reason.is_failure() {
                return Step::Stop(exit.reason);
            }
            return Step::Continue;
        }
        tracing::debug!(worker = %exit.from, reason = %exit.reason, "pool: replacing a worker");
        Self::replace_then(dead, None, send_message::<W>, drop)
    }

    fn terminate(&mut self, _: &mut Context<Self>, _: &Reason) {
        for worker in self.workers.drain(..) {
            worker.exit(Reason::Shutdown);
        }
    }

    fn debug_state(&self) -> Option<String> {
        Some(self.info().to_string())
    }
}
