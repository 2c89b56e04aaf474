//! [`ChildSpec`]: how to start a child — a factory building a fresh actor for every
//! (re)start — its restart policy, shutdown, significance and registered name.

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::supervisor::spec::{ChildKind, Restart, Shutdown, DEFAULT_SHUTDOWN};
use crate::supervisor::SupervisorMessage;
use ergo_runtime::Actor;
use ergo_runtime::Node;
use ergo_runtime::SpawnError;
use ergo_runtime::SpawnOptions;
use ergo_runtime::{Atom, Pid};

/// Arguments of a simple-one-for-one instance, kept to restart it with the same ones.
pub(crate) trait DynArgs: Send {
    fn clone_args(&self) -> Box<dyn DynArgs>;
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<T: Clone + Send + 'static> DynArgs for T {
    fn clone_args(&self) -> Box<dyn DynArgs> {
        Box::new(self.clone())
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// Where and how one instance is started.
pub(crate) struct Start {
    pub(crate) node: Node,
    pub(crate) parent: Option<Pid>,
    pub(crate) name: Option<Atom>,
    pub(crate) args: Option<Box<dyn Any + Send>>,
    pub(crate) env: Vec<(String, String)>,
}

type StartFuture = Pin<Box<dyn Future<Output = Result<Pid, StartError>> + Send>>;
type StartFn = Arc<dyn Fn(Start) -> StartFuture + Send + Sync>;

/// Why one start of a child failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartError {
    Spawn(SpawnError),
    /// Simple-one-for-one arguments of the wrong type.
    BadArgs(&'static str),
}

/// How a supervisor starts (and restarts) one child.
///
/// The factory runs on every start, so a restart gets a fresh actor value. Defaults:
/// `Restart::Permanent`, shutdown 5 s for workers and `Infinity` for supervisors, not
/// significant, not registered.
///
/// ```
/// use std::time::Duration;
/// use ergo_otp::supervisor::{ChildSpec, Restart, Shutdown};
/// # use ergo_runtime::{Actor, Context, ReplyTo, Step};
/// # struct Cache { size: usize }
/// # impl Actor for Cache {
/// #     type Message = (); type Call = (); type Reply = (); type Args = ();
/// #     fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> { Step::Continue }
/// #     fn handle_call(&mut self, _: &mut Context<Self>, _: (), r: ReplyTo<()>) -> Step<Self> { r.send(()); Step::Continue }
/// # }
///
/// let cache = ChildSpec::new("cache", || (Cache { size: 100 }, ()))
///     .restart(Restart::Transient)
///     .shutdown(Shutdown::Timeout(Duration::from_secs(1)))
///     .registered();
/// assert_eq!(cache.id().to_string(), "cache");
/// ```
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) id: Atom,
    pub(crate) register: Option<Atom>,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Option<Shutdown>,
    pub(crate) significant: bool,
    pub(crate) kind: ChildKind,
    pub(crate) actor_type: &'static str,
    pub(crate) actor_id: TypeId,
    pub(crate) args_type: Option<TypeId>,
    pub(crate) start: StartFn,
}

fn kind_of<A: Actor>() -> ChildKind {
    if TypeId::of::<A::Message>() == TypeId::of::<SupervisorMessage>() {
        ChildKind::Supervisor
    } else {
        ChildKind::Worker
    }
}

/// A supervisor's init starts its whole subtree: it gets an hour, a worker the default.
const SUPERVISOR_INIT_TIMEOUT: Duration = Duration::from_secs(3600);

fn options<A: Actor>(start: &Start) -> SpawnOptions {
    let mut options = SpawnOptions::new().link();
    if kind_of::<A>() == ChildKind::Supervisor {
        options = options.init_timeout(SUPERVISOR_INIT_TIMEOUT);
    }
    if let Some(name) = start.name {
        options = options.name(name);
    }
    if let Some(parent) = start.parent {
        options = options.parent(parent);
    }
    for (k, v) in &start.env {
        options = options.env(k, v.clone());
    }
    options
}

impl ChildSpec {
    /// A child started by `factory`, which returns a fresh actor and its init
    /// arguments on every (re)start.
    pub fn new<A, F>(id: impl Into<Atom>, factory: F) -> Self
    where
        A: Actor,
        F: Fn() -> (A, A::Args) + Send + Sync + 'static,
    {
        let start: StartFn = Arc::new(move |start: Start| {
            let (actor, args) = factory();
            Box::pin(async move {
                let options = options::<A>(&start);
                start
                    .node
                    .spawn_with(actor, args, options)
                    .await
                    .map(|r| r.pid())
                    .map_err(StartError::Spawn)
            })
        });
        Self::with_start::<A>(id.into(), start, None)
    }

    /// The template of a simple-one-for-one supervisor's instances: `factory` builds
    /// the actor, the arguments come with each `start_child` and are kept (cloned) to
    /// restart the instance with the same ones.
    pub fn with_args<A, F>(id: impl Into<Atom>, factory: F) -> Self
    where
        A: Actor,
        A::Args: Clone,
        F: Fn() -> A + Send + Sync + 'static,
    {
        let start: StartFn = Arc::new(move |start: Start| {
            let actor = factory();
            Box::pin(async move {
                let options = options::<A>(&start);
                let args = start
                    .args
                    .ok_or(StartError::BadArgs(std::any::type_name::<A::Args>()))?
                    .downcast::<A::Args>()
                    .map_err(|_| StartError::BadArgs(std::any::type_name::<A::Args>()))?;
                start
                    .node
                    .spawn_with(actor, *args, options)
                    .await
                    .map(|r| r.pid())
                    .map_err(StartError::Spawn)
            })
        });
        Self::with_start::<A>(id.into(), start, Some(TypeId::of::<A::Args>()))
    }

    fn with_start<A: Actor>(id: Atom, start: StartFn, args_type: Option<TypeId>) -> Self {
        ChildSpec {
            id,
            register: None,
            restart: Restart::Permanent,
            shutdown: None,
            significant: false,
            kind: kind_of::<A>(),
            actor_type: std::any::type_name::<A>(),
            actor_id: TypeId::of::<A>(),
            args_type,
            start,
        }
    }

    /// The restart policy (default `Permanent`).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// How the child is stopped (default: 5 s for workers, `Infinity` for supervisors).
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// A significant child: its end may stop the supervisor (see
    /// [`AutoShutdown`](crate::supervisor::AutoShutdown)). Only for transient and
    /// temporary children.
    pub fn significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }

    /// Registers every instance under its id, so the name moves to each restarted
    /// instance.
    pub fn registered(mut self) -> Self {
        self.register = Some(self.id);
        self
    }

    /// Registers every instance under `name`.
    pub fn register_as(mut self, name: impl Into<Atom>) -> Self {
        self.register = Some(name.into());
        self
    }

    /// The child's id, unique within its supervisor.
    pub fn id(&self) -> Atom {
        self.id
    }

    /// Worker or supervisor.
    pub fn kind(&self) -> ChildKind {
        self.kind
    }

    /// The restart policy.
    pub fn restart_policy(&self) -> Restart {
        self.restart
    }

    /// The effective shutdown.
    pub fn shutdown_policy(&self) -> Shutdown {
        self.shutdown.unwrap_or(match self.kind {
            ChildKind::Worker => Shutdown::Timeout(DEFAULT_SHUTDOWN),
            ChildKind::Supervisor => Shutdown::Infinity,
        })
    }

    pub(crate) fn spawn(
        &self,
        node: &Node,
        parent: Option<Pid>,
        args: Option<Box<dyn Any + Send>>,
        env: Vec<(String, String)>,
    ) -> StartFuture {
        (self.start)(Start {
            node: node.clone(),
            parent,
            name: self.register,
            args,
            env,
        })
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("actor", &self.actor_type)
            .field("kind", &self.kind)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown_policy())
            .field("significant", &self.significant)
            .field("register", &self.register)
            .finish()
    }
}
