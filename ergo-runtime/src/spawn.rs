//! Spawning: options, init under a timeout, and a clean failure that leaves nothing
//! behind.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::actor::Actor;
use crate::actor_ref::ActorRef;
use crate::context::Context;
use crate::error::SpawnError;
use crate::node::Node;
use crate::pid::{Atom, Pid};
use crate::process::core::Core;
use crate::process::guard::{self, Crash, Guarded};
use crate::process::{links, Cell};
use crate::reason::Reason;

/// Default init timeout: 5 seconds.
pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(5);

/// The arguments of an init that takes none: `()`. The spawns that give no arguments
/// (`spawn`, `spawn_register`, `Context::spawn`, `spawn_link`, a `supervisor!` child
/// without `#[args(..)]`) require it, so an actor whose init takes arguments gets an
/// error saying to use `spawn_with`.
#[diagnostic::on_unimplemented(
    message = "this actor's init takes arguments (`{Self}`), and this spawn gives none",
    label = "the init needs `{Self}`",
    note = "spawn it with `spawn_with(actor, args, SpawnOptions::new())` (`SpawnOptions::new().name(..)` registers it); in `supervisor!`, give the child `#[args(..)]`"
)]
pub trait NoInitArgs: Sized {
    /// The value of no arguments.
    fn none() -> Self;
}

impl NoInitArgs for () {
    fn none() -> Self {}
}

/// How to spawn a process.
#[derive(Clone, Debug)]
pub struct SpawnOptions {
    pub(crate) name: Option<Atom>,
    pub(crate) init_timeout: Duration,
    pub(crate) mailbox_limit: u32,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) link: bool,
    pub(crate) parent: Option<Pid>,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        SpawnOptions {
            name: None,
            init_timeout: DEFAULT_INIT_TIMEOUT,
            mailbox_limit: 0,
            env: Vec::new(),
            link: false,
            parent: None,
        }
    }
}

impl SpawnOptions {
    /// Default options: no name, 5 s init timeout, unlimited mailbox, not linked.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the process under `name` (before init runs, so init can use it).
    pub fn name(mut self, name: impl Into<Atom>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How long init may take (default 5 s).
    pub fn init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    /// A limit on each of the four queues (default 0: unlimited). A send to a full
    /// queue fails and gives the message back.
    pub fn mailbox_limit(mut self, limit: u32) -> Self {
        self.mailbox_limit = limit;
        self
    }

    /// An environment variable for the process (overrides its parent's and the node's).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_uppercase(), value.into()));
        self
    }

    /// Links the process to its parent once init succeeds (ignored for node-level spawns).
    pub fn link(mut self) -> Self {
        self.link = true;
        self
    }

    /// Makes the local process `parent` the new process's parent, as a supervisor is
    /// of its children (a spawn from a process's `Context` does this by itself): exit
    /// signals from the parent cannot be trapped, the process inherits the parent's
    /// env, and the node stops it before its parent.
    pub fn parent(mut self, parent: Pid) -> Self {
        self.parent = Some(parent);
        self
    }
}

pub(crate) async fn spawn<A: Actor>(
    node: &Node,
    parent: Option<Pid>,
    actor: A,
    args: A::Args,
    options: SpawnOptions,
) -> Result<ActorRef<A>, SpawnError> {
    if node.is_stopping() {
        return Err(SpawnError::NodeStopping);
    }
    let parent = parent.or(options.parent);
    let limit = options.mailbox_limit;
    let cell =
        node.insert_process(|id| Arc::new(Cell::new(Core::new(node.clone(), id), actor, limit)));
    let pid = cell.core.pid();
    if parent.is_some() || !options.env.is_empty() {
        let inherited = parent
            .and_then(|p| node.process(p))
            .and_then(|p| p.core().side().map(|s| s.lock().env.clone()))
            .unwrap_or_default();
        let mut side = cell.core.side_or_init().lock();
        side.parent = parent;
        side.env = inherited;
        side.env.extend(options.env);
    }
    if let Some(name) = options.name {
        if let Err(err) = node.register(name, pid) {
            abandon(&cell, Reason::Error(err.to_string()));
            return Err(err.into());
        }
    }

    let result = run_init(&cell, args, options.init_timeout).await;
    if let Err(err) = result {
        let reason = match &err {
            SpawnError::Init(reason) => reason.clone(),
            _ => Reason::Timeout,
        };
        abandon(&cell, reason);
        return Err(err);
    }
    if options.link {
        if let Some(parent) = parent {
            let _ = links::link(node, parent, pid);
        }
    }
    cell.activate();
    Ok(ActorRef::from_cell(cell))
}

async fn run_init<A: Actor>(
    cell: &Arc<Cell<A>>,
    args: A::Args,
    timeout: Duration,
) -> Result<(), SpawnError> {
    let mut ctx = Context::new(cell.clone());
    // SAFETY: the process is in the `Init` state until `activate`: nobody else runs it.
    let actor = unsafe { cell.actor_during_init() };
    // A sync init (`#[init] fn`, or a hand-written `init` that works before it returns
    // its future) runs inside this call: it is guarded, as the future's polls are.
    let ctx_ref = &mut ctx;
    let init = match guard::run(move || actor.init(ctx_ref, args)) {
        Ok(init) => init,
        Err(crash) => return Err(init_crashed(cell, crash)),
    };
    let mut init = pin!(init);
    let mut init = Guarded(init.as_mut());
    // Most inits finish at once: no timer for them.
    let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut init).poll(cx))).await;
    let outcome = match first {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => match tokio::time::timeout(timeout, init).await {
            Ok(outcome) => outcome,
            Err(_) => return Err(SpawnError::InitTimeout(timeout)),
        },
    };
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(SpawnError::Init(reason)),
        Err(crash) => Err(init_crashed(cell, crash)),
    }
}

/// An init that panicked: logged once, and the spawn fails with the panic as reason.
fn init_crashed<A: Actor>(cell: &Arc<Cell<A>>, crash: Crash) -> SpawnError {
    crash.log("init", cell.core.pid(), cell.core.name());
    SpawnError::Init(crash.reason)
}

/// Undoes a spawn whose init failed: nothing of the process stays behind.
fn abandon<A: Actor>(cell: &Arc<Cell<A>>, reason: Reason) {
    // Reply tokens the actor holds are answered with the reason init failed.
    guard::exiting(&reason, || {
        // SAFETY: still in the `Init` state.
        if let Err(crash) = guard::run(|| unsafe { cell.drop_actor() }) {
            crash.log("dropping the actor", cell.core.pid(), cell.core.name());
        }
    });
    cell.mailbox.kill_state();
    crate::process::terminate_release(&cell.core, &reason);
    cell.mailbox.drain_dead(crate::process::Envelope::discard);
}
