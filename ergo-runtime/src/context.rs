//! [`Context`]: what a handler can do besides changing its state — learn its pid, spawn,
//! link, monitor, register names, set timers, stop.

use std::any::{type_name, Any};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::actor::{Actor, Handles};
use crate::actor_ref::ActorRef;
use crate::effects::{Effects, SendEffect, SpawnEffect, TimerEffect};
use crate::error::{LinkError, NameError, SendError, SpawnError};
use crate::mailbox::Priority;
use crate::node::Node;
use crate::pid::{Alias, Atom, Pid, Ref, Target};
use crate::process::core::{flag, Signal, Watcher};
use crate::process::{guard, links, Cell, Envelope};
use crate::reason::Reason;
use crate::reply::ReplyTo;
use crate::spawn::{NoInitArgs, SpawnOptions};
use crate::timer::TimerRef;

/// The running process as its handlers see it. A `Context<A>` only exists inside a
/// process of actor `A`, so a context of another actor cannot be used by mistake.
///
/// # Handlers must not block
///
/// Processes run on ergo's scheduler threads, one per core. A handler that blocks
/// (`std::thread::sleep`, blocking I/O, a long computation, a lock held elsewhere)
/// holds its thread: with as many blocking handlers as cores, every other process
/// waits. Await instead (an `async` handler waiting on a timer or a tokio socket frees
/// the thread), or move the blocking work off the scheduler:
/// [`spawn_blocking`](Context::spawn_blocking) runs it on tokio's blocking pool and
/// sends the result back as a message, [`spawn_blocking_reply`](Context::spawn_blocking_reply)
/// answers a call with it; the process handles other messages meanwhile.
pub struct Context<A: Actor> {
    cell: Arc<Cell<A>>,
    stop: Option<Reason>,
    /// Where the operations go instead of the node (a unit-test harness; see
    /// [`crate::effects`]). `None` in every process of a running node.
    effects: Option<Arc<dyn Effects>>,
}

impl<A: Actor> Context<A> {
    pub(crate) fn new(cell: Arc<Cell<A>>) -> Self {
        Context {
            cell,
            stop: None,
            effects: None,
        }
    }

    pub(crate) fn with_effects(cell: Arc<Cell<A>>, effects: Arc<dyn Effects>) -> Self {
        Context {
            cell,
            stop: None,
            effects: Some(effects),
        }
    }

    pub(crate) fn take_stop(&mut self) -> Option<Reason> {
        self.stop.take()
    }

    /// This process's pid.
    pub fn pid(&self) -> Pid {
        self.cell.core.pid()
    }

    /// The node this process runs on.
    pub fn node(&self) -> &Node {
        &self.cell.core.node
    }

    /// A typed handle to this process (for handing out, or sending to itself).
    pub fn myself(&self) -> ActorRef<A> {
        match &self.effects {
            None => ActorRef::from_cell(self.cell.clone()),
            Some(fx) => ActorRef::effect(self.node().clone(), self.pid(), fx.clone()),
        }
    }

    /// Stops this process with `reason` once the current handler returns (a call
    /// handler's reply is still sent: reply-then-stop).
    pub fn stop(&mut self, reason: Reason) {
        self.stop = Some(reason);
    }

    /// Turns exit signals from linked processes into `Exit` messages (except `Kill`,
    /// and exits from the parent, which always terminate).
    pub fn trap_exit(&self, on: bool) {
        self.cell.core.set_flag(flag::TRAP_EXIT, on);
    }

    /// True while exits are trapped.
    pub fn is_trapping_exits(&self) -> bool {
        self.cell.core.has_flag(flag::TRAP_EXIT)
    }

    /// Spawns a child process (its parent is this process; not linked). Its init takes
    /// no arguments (else `spawn_with`).
    pub async fn spawn<B: Actor>(&self, actor: B) -> Result<ActorRef<B>, SpawnError>
    where
        B::Args: NoInitArgs,
    {
        self.spawn_with(actor, B::Args::none(), SpawnOptions::default())
            .await
    }

    /// Spawns a child linked to this process.
    pub async fn spawn_link<B: Actor>(&self, actor: B) -> Result<ActorRef<B>, SpawnError>
    where
        B::Args: NoInitArgs,
    {
        self.spawn_with(actor, B::Args::none(), SpawnOptions::default().link())
            .await
    }

    /// Spawns a child with init arguments and options.
    pub async fn spawn_with<B: Actor>(
        &self,
        actor: B,
        args: B::Args,
        options: SpawnOptions,
    ) -> Result<ActorRef<B>, SpawnError> {
        if let Some(fx) = &self.effects {
            let pid = fx.spawn(SpawnEffect {
                actor_type: std::any::type_name::<B>(),
                actor: Box::new(actor),
                args: Box::new(args),
                name: options.name,
                link: options.link,
                env: options.env,
            })?;
            return Ok(ActorRef::effect(self.node().clone(), pid, fx.clone()));
        }
        crate::spawn::spawn(self.node(), Some(self.pid()), actor, args, options).await
    }

    /// Links this process with `pid` (both ways). If `pid` is not alive, this process
    /// gets an exit signal with `NoProcess`.
    pub fn link(&self, pid: Pid) -> Result<(), LinkError> {
        if let Some(fx) = &self.effects {
            return fx.link(pid);
        }
        links::link(self.node(), self.pid(), pid)
    }

    /// Removes a link.
    pub fn unlink(&self, pid: Pid) {
        if let Some(fx) = &self.effects {
            return fx.unlink(pid);
        }
        links::unlink(self.node(), self.pid(), pid)
    }

    /// Monitors a process by pid, name or alias; exactly one `Down` arrives (at once,
    /// with `NoProcess`, if it is not alive).
    pub fn monitor(&self, target: impl Into<Target>) -> Result<Ref, LinkError> {
        if let Some(fx) = &self.effects {
            return fx.monitor(target.into());
        }
        links::monitor(self.node(), Watcher::Process(self.pid()), target.into())
    }

    /// Removes a monitor; no `Down` for it arrives afterwards. False if unknown.
    pub fn demonitor(&self, monitor: Ref) -> bool {
        if let Some(fx) = &self.effects {
            return fx.demonitor(monitor);
        }
        links::demonitor(self.node(), Some(self.pid()), monitor)
    }

    /// Sends an exit signal to `pid` from this process.
    pub fn send_exit(&self, pid: Pid, reason: Reason) -> bool {
        if let Some(fx) = &self.effects {
            return fx.exit(pid, reason);
        }
        links::exit_signal(self.node(), self.pid(), pid, reason)
    }

    /// Registers this process under `name`.
    pub fn register(&self, name: impl Into<Atom>) -> Result<(), NameError> {
        if let Some(fx) = &self.effects {
            return fx.register(name.into());
        }
        self.node().register(name, self.pid())
    }

    /// Drops this process's registered name.
    pub fn unregister(&self) -> Result<(), NameError> {
        if let Some(fx) = &self.effects {
            return fx.unregister();
        }
        let name = self.cell.core.side().and_then(|s| s.lock().name);
        match name {
            Some(name) => self.node().unregister(name),
            None => Err(NameError::Unknown),
        }
    }

    /// Creates a new alias for this process.
    pub fn create_alias(&self) -> Alias {
        if let Some(fx) = &self.effects {
            return fx.create_alias();
        }
        self.node()
            .create_alias(self.pid())
            .expect("a running process is alive")
    }

    /// Deletes one of this process's aliases.
    pub fn delete_alias(&self, alias: Alias) -> Result<(), NameError> {
        if let Some(fx) = &self.effects {
            return fx.delete_alias(alias);
        }
        self.node().delete_alias(alias, self.pid())
    }

    /// Sends `msg` to `to` after `delay`. Cancelled if this process terminates first.
    pub fn send_after<B, M>(&self, to: &ActorRef<B>, msg: M, delay: Duration) -> TimerRef
    where
        B: Handles<M>,
        M: Send + 'static,
    {
        if let Some(fx) = &self.effects {
            let (to, mut msg) = (to.clone(), Some(msg));
            let pid = to.pid();
            let fire = Box::new(move || match msg.take() {
                Some(msg) => to.send(msg).is_ok(),
                None => false,
            });
            return arm(fx, pid, type_name::<M>(), delay, None, fire);
        }
        let timer = crate::timer::send_after(self.node(), to.clone(), msg, delay);
        self.own_timer(&timer);
        timer
    }

    /// Sends `msg` to `to` every `period` (missed ticks are skipped). Cancelled if this
    /// process terminates, or when the target is gone.
    pub fn send_every<B, M>(&self, to: &ActorRef<B>, msg: M, period: Duration) -> TimerRef
    where
        B: Handles<M>,
        M: Clone + Send + 'static,
    {
        if let Some(fx) = &self.effects {
            let to = to.clone();
            let pid = to.pid();
            let fire =
                Box::new(move || !matches!(to.send(msg.clone()), Err(SendError::NoProcess(_))));
            return arm(fx, pid, type_name::<M>(), period, Some(period), fire);
        }
        let timer = crate::timer::send_every(self.node(), to.clone(), msg, period);
        self.own_timer(&timer);
        timer
    }

    fn own_timer(&self, timer: &TimerRef) {
        if let Some(handle) = timer.abort_handle() {
            self.cell.core.with_live_side(|side| {
                side.timers.retain(|t| !t.is_finished());
                side.timers.push(handle);
            });
        }
    }

    /// Sends an untyped message by pid, name, alias or `(name, node)`: the target
    /// converts it to its own message type (a local one refuses it at once with
    /// `SendError::Unhandled`). To a process on another node it crosses if its type is
    /// registered with [`crate::register_message`] (else `SendError::NotRemote`, with
    /// the message back); the remote node drops and logs what the target does not
    /// handle. An Erlang process takes a `Term`.
    pub fn send<M: Any + Send>(
        &self,
        to: impl Into<Target>,
        msg: M,
    ) -> Result<(), SendError<Box<dyn Any + Send>>> {
        if let Some(fx) = &self.effects {
            let mut unsent = Some(msg);
            let sent = fx.send(SendEffect {
                to: to.into(),
                actor: None,
                message_type: type_name::<M>(),
                priority: Priority::Normal,
                important: false,
                message: &mut || Box::new(unsent.take().expect("taken once")),
            });
            return match (sent, unsent) {
                (Err(refused), Some(msg)) => Err(refused.into_send_error(Box::new(msg))),
                _ => Ok(()),
            };
        }
        self.node().send_with_priority(to, msg, Priority::Normal)
    }

    /// The compression threshold of what this process sends to other nodes: frames
    /// above `bytes` are lz4-compressed (`Some(0)`: never; `None`: the node's setting).
    pub fn set_compression_threshold(&self, bytes: Option<usize>) {
        self.cell.core.set_compress_above(bytes);
    }

    /// Runs blocking work off ergo's scheduler threads, on tokio's blocking thread
    /// pool, and sends its result to this process as a message (handled like any
    /// message of type `T`: a `#[handle_info]` of that type). The handler returns at
    /// once and the process handles other messages meanwhile; a result that arrives
    /// after the process ended is dropped. A panic in `job` crashes this process with
    /// `Reason::Panic`, as a panic in a handler would. (An example: the `#[actor]`
    /// docs, "Handlers must not block".)
    pub fn spawn_blocking<T, F>(&self, job: F)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
        A: Handles<T>,
    {
        let me = self.myself();
        self.run_blocking(job, move |value| {
            let _ = me.send(value);
        });
    }

    /// Answers a call with the result of blocking work run off ergo's scheduler
    /// threads (see [`spawn_blocking`](Context::spawn_blocking)): a call handler that
    /// takes its `ReplyTo` token hands it over with the job and returns at once; the
    /// caller gets the job's result. A panic in `job` crashes this process, and the
    /// caller gets `CallError::Exited(Reason::Panic(..))`.
    pub fn spawn_blocking_reply<T, F>(&self, reply: ReplyTo<T>, job: F)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run_blocking(job, move |value| reply.send(value));
    }

    fn run_blocking<T, F, D>(&self, job: F, deliver: D)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
        D: FnOnce(T) + Send + 'static,
    {
        if self.effects.is_some() {
            // A harness runs the job at once, on its own thread: no pool to wait for.
            return deliver(job());
        }
        let cell = self.cell.clone();
        self.node().inner().runtime.spawn_blocking(move || {
            match guard::run(job) {
                Ok(value) => deliver(value),
                Err(crash) => {
                    // The job's crash is the process's: logged once, here; what was
                    // to carry the result (a reply token) goes with the reason.
                    crash.log("blocking job", cell.core.pid(), cell.core.name());
                    guard::exiting(&crash.reason, || drop(deliver));
                    cell.core.set_flag(flag::CRASH_LOGGED, true);
                    let stop = Envelope::Signal(Box::new(Signal::Stop(crash.reason)));
                    let _ = cell.deliver(Priority::Urgent, stop, true);
                }
            }
        });
    }

    /// Looks up an environment variable: this process's own (spawn options, inherited
    /// from its parent), then the node's.
    pub fn env(&self, key: &str) -> Option<String> {
        let key = key.to_uppercase();
        let own = self
            .cell
            .core
            .side()
            .and_then(|s| s.lock().env.get(&key).cloned());
        own.or_else(|| self.node().env(&key))
    }
}

/// Arms a timer in an effects sink.
fn arm(
    fx: &Arc<dyn Effects>,
    to: Pid,
    message_type: &'static str,
    delay: Duration,
    period: Option<Duration>,
    fire: Box<dyn FnMut() -> bool + Send>,
) -> TimerRef {
    let id = fx.arm_timer(TimerEffect {
        to,
        message_type,
        delay,
        period,
        fire,
    });
    TimerRef::effect(fx.clone(), id)
}

impl<A: Actor> fmt::Debug for Context<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Context({})", self.pid())
    }
}
