//! The [`Node`]: process table, names, aliases, env, and the node-level API for code
//! outside any process (`main`, tests).

mod builder;
mod registry;
mod remote;
mod shutdown;
mod table;

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use tokio::sync::{oneshot, watch};

pub use builder::{NodeBuilder, Plugin};
pub(crate) use registry::Registry;

use crate::actor::Actor;
use crate::actor_ref::ActorRef;
use crate::dist::RemoteTarget;
use crate::error::{CallError, LinkError, LookupError, NameError, SendError, SpawnError};
use crate::info::{NodeInfo, ProcessInfo, ProcessSummary};
use crate::mailbox::Priority;
use crate::pid::{Alias, Atom, Pid, Ref, Target};
use crate::process::core::{AnyProcess, Watcher};
use crate::process::links;
use crate::reason::{Down, Reason};
use crate::spawn::{NoInitArgs, SpawnOptions};
use table::ProcessTable;

impl NodeInner {
    /// The stamp for a message queued now: 0 unless latency tracking is on.
    #[inline]
    pub(crate) fn latency_stamp(&self) -> u32 {
        if crate::mailbox::latency::some_node_tracks()
            && self.latency_tracking.load(Ordering::Relaxed)
        {
            crate::mailbox::latency::stamp(self.started)
        } else {
            0
        }
    }

    /// The stamp of the present instant (for ages).
    pub(crate) fn stamp_now(&self) -> u32 {
        crate::mailbox::latency::stamp(self.started)
    }
}

pub(crate) struct NodeInner {
    pub(crate) name: Atom,
    pub(crate) creation: u32,
    pub(crate) cookie: String,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) started: Instant,
    pub(crate) shutdown_timeout: Duration,
    table: ProcessTable,
    pub(crate) registry: Registry,
    env: RwLock<FxHashMap<String, String>>,
    next_id: AtomicU64,
    next_ref: AtomicU64,
    stopping: AtomicBool,
    /// Whether processes' run time is measured (off: no clock reads per turn).
    pub(crate) run_time_accounting: AtomicBool,
    /// Whether messages are stamped when queued (see [`crate::mailbox::latency`]).
    latency_tracking: AtomicBool,
    /// Rate limits on log lines about bad input from outside, by kind.
    pub(crate) logs: crate::logs::LogLimiter,
    stopped: watch::Sender<bool>,
    pub(crate) transports: RwLock<Vec<Arc<dyn crate::dist::Transport>>>,
    pub(crate) books: crate::dist::Books,
    extensions: RwLock<FxHashMap<std::any::TypeId, Arc<dyn Any + Send + Sync>>>,
    pub(crate) exit_hooks: RwLock<Vec<ExitHook>>,
    /// Set when the node started on a paused tokio clock (see [`crate::clock`]).
    pub(crate) clock: Option<Arc<crate::clock::ClockGate>>,
    /// Deadlines of the calls made through this node's handles.
    pub(crate) call_timers: Arc<crate::call::CallTimers>,
    /// Made by [`NodeBuilder::detached`]: it runs no process of its own.
    detached: bool,
}

/// Told when a process marked with [`Node::watch_exit`] terminates: its node, pid and
/// reason. Runs on the thread where the process ended, before its links and monitors
/// fire (whoever learns of the end from them finds the hooks done); it must be short
/// and must not block.
pub type ExitHook = Arc<dyn Fn(&Node, Pid, &crate::reason::Reason) + Send + Sync>;

impl NodeInner {
    /// A fresh process id (for a process kept outside the table: a test harness's).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// A running node: the runtime that owns processes. Cheap to clone; every method may be
/// called from any thread or task.
#[derive(Clone)]
pub struct Node(Arc<NodeInner>);

impl Node {
    /// Starts configuring a node called `name@host`.
    pub fn builder(name: &str) -> NodeBuilder {
        NodeBuilder::new(name)
    }

    pub(crate) fn inner(&self) -> &NodeInner {
        &self.0
    }

    /// The node's name, `name@host`.
    pub fn name(&self) -> Atom {
        self.0.name
    }

    /// True for a node made with [`NodeBuilder::detached`] (a unit-test harness's): it
    /// runs no process, so services that would start one (an event relay, a monitor
    /// task) are not started on it.
    pub fn is_detached(&self) -> bool {
        self.0.detached
    }

    /// The node's cookie (shared secret with peer nodes).
    pub fn cookie(&self) -> &str {
        &self.0.cookie
    }

    /// The incarnation of this node (its start time in seconds).
    pub fn creation(&self) -> u32 {
        self.0.creation
    }

    pub(crate) fn pid_of(&self, id: u64) -> Pid {
        Pid::new(self.0.name, id, self.0.creation)
    }

    pub(crate) fn is_local(&self, pid: Pid) -> bool {
        pid.node() == self.0.name && pid.creation() == self.0.creation
    }

    /// Puts a new process in the table under a fresh id.
    pub(crate) fn insert_process<P: AnyProcess>(&self, make: impl FnOnce(u64) -> Arc<P>) -> Arc<P> {
        let hint = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        self.0.table.insert_with(hint, make)
    }

    /// A new reference, unique on this node.
    pub fn make_ref(&self) -> Ref {
        let id = self.0.next_ref.fetch_add(1, Ordering::Relaxed);
        Ref::new(self.0.name, self.0.creation, id)
    }

    /// True once [`Node::stop`] has begun.
    pub fn is_stopping(&self) -> bool {
        self.0.stopping.load(Ordering::SeqCst)
    }

    pub(crate) fn remove_process(&self, id: u64) {
        drop(self.0.table.remove(id));
    }

    /// Sends a system request (OTP's `sys` protocol) to a local process; its answer
    /// goes to `answer`. False if there is no such process (then `answer` is dropped
    /// unanswered).
    pub fn system_request(
        &self,
        pid: Pid,
        request: crate::system::SystemRequest,
        answer: crate::system::SystemAnswer,
    ) -> bool {
        match self.process(pid) {
            Some(p) => p.signal(crate::process::core::Signal::System(request, answer)),
            None => false,
        }
    }

    pub(crate) fn process(&self, pid: Pid) -> Option<Arc<dyn AnyProcess>> {
        if !self.is_local(pid) {
            return None;
        }
        self.0.table.get(pid.id())
    }

    pub(crate) fn resolve(&self, target: Target) -> Option<Pid> {
        match target {
            Target::Pid(pid) => Some(pid),
            Target::Name(name) => self.whereis(name),
            Target::Alias(alias) => self.alias_owner(alias),
            Target::Remote { name, node } if node == self.name() => self.whereis(name),
            Target::Remote { .. } => None,
        }
    }

    // ---- spawning ----

    /// Spawns a process running `actor` (init without arguments; else `spawn_with`).
    pub async fn spawn<A: Actor>(&self, actor: A) -> Result<ActorRef<A>, SpawnError>
    where
        A::Args: NoInitArgs,
    {
        self.spawn_with(actor, A::Args::none(), SpawnOptions::default())
            .await
    }

    /// Spawns a process and registers it under `name`.
    pub async fn spawn_register<A: Actor>(
        &self,
        name: impl Into<Atom>,
        actor: A,
    ) -> Result<ActorRef<A>, SpawnError>
    where
        A::Args: NoInitArgs,
    {
        self.spawn_with(actor, A::Args::none(), SpawnOptions::default().name(name))
            .await
    }

    /// Spawns a process with init arguments and options.
    pub async fn spawn_with<A: Actor>(
        &self,
        actor: A,
        args: A::Args,
        options: SpawnOptions,
    ) -> Result<ActorRef<A>, SpawnError> {
        crate::spawn::spawn(self, None, actor, args, options).await
    }

    // ---- lookups ----

    /// A typed handle to the process `pid`: a local one if it is alive and runs actor
    /// `A`; a remote one (unchecked: the remote node checks each message against the
    /// process's own type) if `pid` lives on another node and the network runs.
    pub fn actor_ref<A: Actor>(&self, pid: Pid) -> Option<ActorRef<A>> {
        if pid.node() != self.name() {
            let transport = self.transport_for(pid.node())?;
            return Some(ActorRef::remote(self.clone(), pid, transport));
        }
        self.process(pid).and_then(ActorRef::from_process)
    }

    /// A typed handle to the process registered as `name`: `NotFound` if no live
    /// process holds the name, `WrongType` if it runs another actor than `A` (as
    /// `lookup_remote` says for a process on another node).
    pub fn lookup<A: Actor>(&self, name: impl Into<Atom>) -> Result<ActorRef<A>, LookupError> {
        let process = self
            .whereis(name)
            .and_then(|pid| self.process(pid))
            .ok_or(LookupError::NotFound)?;
        let found = process.kind();
        ActorRef::from_process(process).ok_or(LookupError::WrongType {
            expected: std::any::type_name::<A>(),
            found,
        })
    }

    // ---- messaging ----

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
        self.send_with_priority(to, msg, Priority::Normal)
    }

    /// As [`Node::send`], to the queue of `priority`.
    pub fn send_with_priority<M: Any + Send>(
        &self,
        to: impl Into<Target>,
        msg: M,
        priority: Priority,
    ) -> Result<(), SendError<Box<dyn Any + Send>>> {
        let msg: Box<dyn Any + Send> = Box::new(msg);
        let to = to.into();
        if let Target::Remote { name, node } = to {
            if node != self.name() {
                return match self.transport_for(node) {
                    Some(transport) => transport.send_any(
                        crate::process::current::pid(),
                        RemoteTarget::Name { name, node },
                        priority,
                        msg,
                    ),
                    None => Err(SendError::NoConnection(msg)),
                };
            }
        }
        let pid = self.resolve(to);
        if let Some(pid) = pid.filter(|p| !self.is_local(*p) && p.node() != self.name()) {
            // Another node: its transport carries what it can (Erlang distribution
            // terms, the native network registered message types).
            let from = crate::process::current::pid();
            return match self.transport_for(pid.node()) {
                Some(transport) => transport.send_any(from, RemoteTarget::Pid(pid), priority, msg),
                None => Err(SendError::NoConnection(msg)),
            };
        }
        match pid.and_then(|pid| self.process(pid)) {
            Some(process) => process.send_any(msg, priority),
            None => Err(SendError::NoProcess(msg)),
        }
    }

    /// Makes an untyped call by pid, name or alias, and waits (up to `timeout`) for the
    /// reply, converted to `R` where the actor knows how (see `Actor::reply_into_any`).
    pub async fn call_any<R: Any + Send>(
        &self,
        to: impl Into<Target>,
        req: Box<dyn Any + Send>,
        timeout: Duration,
    ) -> Result<Box<dyn Any + Send>, CallError> {
        let (tx, rx) = oneshot::channel();
        self.call_any_with(
            to,
            req,
            std::any::TypeId::of::<R>(),
            Priority::Normal,
            Box::new(move |r| drop(tx.send(r))),
        )
        .map_err(|e| match e {
            SendError::NoProcess(_) => CallError::NoProcess,
            SendError::MailboxFull(_) => CallError::MailboxFull,
            SendError::Unhandled(_) => {
                CallError::BadRequest("the process does not handle this request".into())
            }
            SendError::NoConnection(_) => CallError::NoConnection,
            SendError::Busy(_) => CallError::Busy,
            SendError::Encode(e) => CallError::BadRequest(e),
            SendError::NotRemote(_) => {
                CallError::BadRequest("the request cannot cross to another node".into())
            }
        })?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(CallError::NoProcess),
            Err(_) => Err(CallError::Timeout(timeout)),
        }
    }

    /// Starts an untyped call whose outcome goes to `reply` (for network layers that
    /// answer a remote caller later). `want` is the type the caller wants the reply in.
    pub fn call_any_with(
        &self,
        to: impl Into<Target>,
        req: Box<dyn Any + Send>,
        want: std::any::TypeId,
        priority: Priority,
        reply: crate::process::core::AnyReply,
    ) -> Result<(), SendError<Box<dyn Any + Send>>> {
        match self.resolve(to.into()).and_then(|pid| self.process(pid)) {
            Some(process) => process.call_any(req, want, priority, reply),
            None => Err(SendError::NoProcess(req)),
        }
    }

    /// Sends an exit signal to `pid` from the node. `Reason::Kill` cannot be trapped.
    pub fn send_exit(&self, pid: Pid, reason: Reason) -> bool {
        links::exit_signal(self, self.pid_of(0), pid, reason)
    }

    /// Kills `pid`: it terminates with `Kill` as soon as its current handler returns.
    pub fn kill(&self, pid: Pid) -> bool {
        self.send_exit(pid, Reason::Kill)
    }

    /// Links two processes.
    pub fn link(&self, a: Pid, b: Pid) -> Result<(), LinkError> {
        links::link(self, a, b)
    }

    /// Removes the link between the local process `a` and `b`, if any.
    pub fn unlink(&self, a: Pid, b: Pid) {
        links::unlink(self, a, b)
    }

    /// Sends an exit signal to `to` from the local process `from` (a supervisor
    /// stopping its child: exits from a process's parent cannot be trapped). False if
    /// `from` is not a process of this node or `to` is not alive.
    pub fn send_exit_from(&self, from: Pid, to: Pid, reason: Reason) -> bool {
        self.is_local(from) && links::exit_signal(self, from, to, reason)
    }

    /// Monitors a process from outside any process: the returned handle resolves to
    /// its `Down`, exactly once.
    pub fn monitor(&self, target: impl Into<Target>) -> Result<NodeMonitor, LinkError> {
        let target = target.into();
        let (tx, rx) = oneshot::channel();
        let reference = links::monitor(self, Watcher::Node(tx), target)?;
        let target = match target {
            Target::Remote { node, .. } if node != self.name() => Some(Pid::new(node, 0, 0)),
            _ => self.resolve(target),
        };
        Ok(NodeMonitor {
            reference,
            target,
            node: self.clone(),
            rx,
        })
    }

    // ---- names and aliases ----

    /// Registers `pid` under `name`. One name per process; a taken name is an error.
    pub fn register(&self, name: impl Into<Atom>, pid: Pid) -> Result<(), NameError> {
        self.0.registry.register(self, name.into(), pid)
    }

    /// Removes a registered name.
    pub fn unregister(&self, name: impl Into<Atom>) -> Result<(), NameError> {
        self.0.registry.unregister(self, name.into())
    }

    /// The pid registered under `name`.
    pub fn whereis(&self, name: impl Into<Atom>) -> Option<Pid> {
        self.0.registry.whereis(name.into())
    }

    /// Creates an alias for `pid`.
    pub fn create_alias(&self, pid: Pid) -> Result<Alias, NameError> {
        self.0.registry.create_alias(self, pid)
    }

    /// Deletes `alias`, which must belong to `owner`.
    pub fn delete_alias(&self, alias: Alias, owner: Pid) -> Result<(), NameError> {
        self.0.registry.delete_alias(self, alias, owner)
    }

    pub(crate) fn alias_owner(&self, alias: Alias) -> Option<Pid> {
        self.0.registry.alias_owner(alias)
    }

    pub(crate) fn forget_name(&self, name: Atom, pid: Pid) {
        self.0.registry.forget_name(name, pid)
    }

    pub(crate) fn forget_alias(&self, alias: Alias) {
        self.0.registry.forget_alias(alias)
    }

    // ---- env ----

    /// A node environment variable (names are case-insensitive).
    pub fn env(&self, key: &str) -> Option<String> {
        self.0.env.read().get(&key.to_uppercase()).cloned()
    }

    /// A node environment variable, or `default`.
    pub fn env_or(&self, key: &str, default: &str) -> String {
        self.env(key).unwrap_or_else(|| default.to_owned())
    }

    /// Sets (or with `None`, removes) a node environment variable.
    pub fn set_env(&self, key: &str, value: Option<&str>) {
        let key = key.to_uppercase();
        let mut env = self.0.env.write();
        match value {
            Some(v) => env.insert(key, v.to_owned()),
            None => env.remove(&key),
        };
    }

    // ---- inspection ----

    /// Information about a live process.
    pub fn process_info(&self, pid: Pid) -> Option<ProcessInfo> {
        self.process(pid).map(|p| ProcessInfo::of(self, &*p))
    }

    /// Information about the node.
    pub fn info(&self) -> NodeInfo {
        NodeInfo {
            name: self.0.name,
            processes: self.0.table.len(),
            registered_names: self.0.registry.name_count(),
            aliases: self.0.registry.alias_count(),
            uptime: self.0.started.elapsed(),
        }
    }

    /// Every live process's pid.
    pub fn processes(&self) -> Vec<Pid> {
        self.0.table.all().iter().map(|p| p.core().pid()).collect()
    }

    /// A light snapshot of every live process (counters and queue lengths, no links or
    /// monitors): what a process list shows. One pass over the table; no process is
    /// disturbed.
    pub fn process_summaries(&self) -> Vec<ProcessSummary> {
        let all = self.0.table.all();
        let mut out = Vec::with_capacity(all.len());
        out.extend(all.iter().map(|p| ProcessSummary::of(self, &**p)));
        out
    }

    /// Turns the measuring of each process's run time on or off (off by default, as
    /// Erlang's `scheduler_wall_time`: when on, each scheduler turn reads the clock
    /// twice). [`ProcessInfo::run_time`] counts only the turns run while it was on.
    pub fn set_run_time_accounting(&self, on: bool) {
        self.0.run_time_accounting.store(on, Ordering::Relaxed);
    }

    /// Whether run time is measured (see [`Node::set_run_time_accounting`]).
    pub fn run_time_accounting(&self) -> bool {
        self.0.run_time_accounting.load(Ordering::Relaxed)
    }

    /// Turns mailbox latency tracking on or off (off by default, as Go Ergo's `latency`
    /// build tag). When on, each message is stamped with a clock read as it is queued,
    /// and [`ProcessInfo::latency`] / [`ProcessSummary::latency`] tell how long the
    /// oldest message of a process has waited; when off, they are zero and a send
    /// costs no clock read. Messages queued while it was off are not counted.
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread")]
    /// # async fn main() -> Result<(), ergo_runtime::NodeError> {
    /// let node = ergo_runtime::Node::builder("doc@127.0.0.1").start().await?;
    /// node.set_latency_tracking(true);
    /// assert!(node.latency_tracking());
    /// # node.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_latency_tracking(&self, on: bool) {
        if self.0.latency_tracking.swap(on, Ordering::Relaxed) != on {
            crate::mailbox::latency::count_tracking_node(on);
        }
    }

    /// The node's limiter of log lines, by kind: every log line about bad input from
    /// outside (a malformed frame, a wrong cookie, a request nobody handles) goes
    /// through it, so a flood of one kind costs a bounded number of lines and leaves
    /// the other kinds alone. What it suppressed is reported when the kind logs again
    /// and when the node stops.
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread")]
    /// # async fn main() -> Result<(), ergo_runtime::NodeError> {
    /// let node = ergo_runtime::Node::builder("logs@127.0.0.1").start().await?;
    /// node.log_limiter().log("bad request", || tracing::warn!("a bad request"));
    /// # node.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn log_limiter(&self) -> &crate::logs::LogLimiter {
        &self.0.logs
    }

    /// Whether mailbox latency is tracked (see [`Node::set_latency_tracking`]).
    pub fn latency_tracking(&self) -> bool {
        self.0.latency_tracking.load(Ordering::Relaxed)
    }

    // ---- extensions ----

    /// The value of type `T` a plug-in (a transport, a behaviour) keeps on this node.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let ext = self.0.extensions.read();
        ext.get(&std::any::TypeId::of::<T>())
            .cloned()
            .and_then(|v| v.downcast::<T>().ok())
    }

    /// The value of type `T` kept on this node, made by `make` if there is none yet.
    pub fn extension_or_insert<T: Any + Send + Sync>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        if let Some(v) = self.extension::<T>() {
            return v;
        }
        let mut ext = self.0.extensions.write();
        let v = ext
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(make()))
            .clone();
        v.downcast::<T>().expect("stored under its own TypeId")
    }

    /// Adds a hook told of the termination of every process marked with
    /// [`Node::watch_exit`]: one hook serves any number of processes (a light monitor
    /// for bookkeeping that tracks many processes, such as event subscribers).
    pub fn add_exit_hook(&self, hook: ExitHook) {
        self.0.exit_hooks.write().push(hook);
    }

    /// Marks the local process `pid` so that the exit hooks are told when it
    /// terminates. Costs no memory per process. False if it is not alive (it may also
    /// have ended just after being marked: the hooks may then be told as well, so what
    /// they do must be idempotent).
    pub fn watch_exit(&self, pid: Pid) -> bool {
        let Some(process) = self.process(pid) else {
            return false;
        };
        process
            .core()
            .set_flag(crate::process::core::flag::EXIT_HOOKS, true);
        crate::sync::fence(crate::sync::Ordering::SeqCst);
        // Removed from the table before its hooks are checked (see `release`): either
        // it is still here now and will see the mark, or it is gone.
        self.process(pid).is_some()
    }

    pub(crate) fn all_processes(&self) -> Vec<Arc<dyn AnyProcess>> {
        self.0.table.all()
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node({})", self.0.name)
    }
}

/// A monitor held by code outside any process. Await it for the `Down`; dropping it
/// demonitors.
pub struct NodeMonitor {
    reference: Ref,
    target: Option<Pid>,
    node: Node,
    rx: oneshot::Receiver<Down>,
}

impl NodeMonitor {
    /// The monitor reference.
    pub fn reference(&self) -> Ref {
        self.reference
    }

    /// Waits for the `Down`.
    pub async fn down(mut self) -> Down {
        (&mut self.rx)
            .await
            .expect("a monitor always delivers its Down before dropping the watcher")
    }

    /// The `Down`, if it already arrived.
    pub fn try_down(&mut self) -> Option<Down> {
        self.rx.try_recv().ok()
    }
}

impl Drop for NodeMonitor {
    fn drop(&mut self) {
        if let Some(target) = self.target {
            links::remove_monitor(&self.node, None, target, self.reference);
        }
    }
}
