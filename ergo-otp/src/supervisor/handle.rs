//! Handles to supervisors: [`SupervisorRef`] (by pid, any supervisor type) with the
//! run-time operations, the same operations on `ActorRef<S>` of a supervisor type, and
//! [`ChildRef<A>`], a typed handle to a registered child that follows its restarts.

use std::fmt;
use std::marker::PhantomData;

use tokio::sync::oneshot;

use crate::supervisor::child::ChildSpec;
use crate::supervisor::error::ChildError;
use crate::supervisor::error::SupervisorError;
use crate::supervisor::info::{ChildCounts, ChildInfo};
use crate::supervisor::message::{Answer, Op, SupervisorMessage, SupervisorRequest};
use crate::supervisor::state::{ChildKey, SupervisorState};
use crate::supervisor::SupervisorActor;
use ergo_runtime::Actor;
use ergo_runtime::ActorRef;
use ergo_runtime::Node;
use ergo_runtime::Priority;
use ergo_runtime::Reason;
use ergo_runtime::{Atom, Pid};

/// A handle to a supervisor process of any type, by pid. Every operation is a message
/// the supervisor handles in turn (after a restart in progress, for instance).
#[derive(Clone)]
pub struct SupervisorRef {
    node: Node,
    pid: Pid,
}

impl SupervisorRef {
    /// A handle to the supervisor `pid` on `node`.
    pub fn new(node: &Node, pid: Pid) -> Self {
        SupervisorRef {
            node: node.clone(),
            pid,
        }
    }

    /// The supervisor's pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    fn post(&self, op: Op) -> Result<(), SupervisorError> {
        let msg = SupervisorMessage::Request(SupervisorRequest(op));
        self.node
            .send_with_priority(self.pid, msg, Priority::Normal)
            .map_err(|_| SupervisorError::NoSupervisor)
    }

    async fn ask<T>(&self, op: impl FnOnce(Answer<T>) -> Op) -> Result<T, SupervisorError> {
        let (tx, rx) = oneshot::channel();
        self.post(op(tx))?;
        rx.await.map_err(|_| SupervisorError::NoSupervisor)?
    }

    async fn inspect<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SupervisorState, &Node) -> T + Send + 'static,
    ) -> Result<T, SupervisorError> {
        let (tx, rx) = oneshot::channel();
        self.post(Op::Inspect(Box::new(move |state, node| {
            let _ = tx.send(f(state, node));
        })))?;
        rx.await.map_err(|_| SupervisorError::NoSupervisor)
    }

    /// Adds a child to a one-for-one, all-for-one or rest-for-one supervisor and
    /// starts it; its typed handle (`let cache: ActorRef<Cache> = ..`, or
    /// `start_child::<Cache>(..)`). A spec of another actor type is refused before
    /// anything starts (`WrongType`).
    pub async fn start_child<A: Actor>(
        &self,
        spec: ChildSpec,
    ) -> Result<ActorRef<A>, SupervisorError> {
        if spec.actor_id != std::any::TypeId::of::<A>() {
            return Err(SupervisorError::WrongType {
                id: spec.id,
                expected: std::any::type_name::<A>(),
                actual: spec.actor_type,
            });
        }
        let pid = self.ask(|tx| Op::StartChild(spec, tx)).await?;
        self.node
            .actor_ref::<A>(pid)
            .ok_or_else(|| SupervisorError::UnknownChild(format!("{pid} ended as it started")))
    }

    /// Starts an instance of a simple-one-for-one supervisor's child with `args`
    /// (the type its actor's init takes); restarts reuse a clone of them.
    ///
    /// The arguments are typed by the actor asked for (`start_child_with::<Worker>(42)`)
    /// and the instance comes back as its typed handle. If the template runs another
    /// actor type, the instance is stopped again and `WrongType` returned.
    pub async fn start_child_with<A: Actor>(
        &self,
        args: A::Args,
    ) -> Result<ActorRef<A>, SupervisorError>
    where
        A::Args: Clone,
    {
        let pid = self.ask(|tx| Op::StartInstance(Box::new(args), tx)).await?;
        match self.node.actor_ref::<A>(pid) {
            Some(actor) => Ok(actor),
            None => {
                let actual = self
                    .node
                    .process_info(pid)
                    .map_or("a process that already ended", |i| i.kind);
                let _ = self.terminate_child(pid).await;
                Err(SupervisorError::WrongType {
                    id: Atom::new("simple_one_for_one"),
                    expected: std::any::type_name::<A>(),
                    actual,
                })
            }
        }
    }

    /// Stops a child (by id, or pid for simple-one-for-one instances) within its
    /// shutdown. A static child's spec stays: `restart_child` starts it again.
    pub async fn terminate_child(&self, key: impl Into<ChildKey>) -> Result<(), SupervisorError> {
        let key = key.into();
        self.ask(|tx| Op::Terminate(key, tx)).await
    }

    /// Starts a stopped child again; its new pid.
    pub async fn restart_child(&self, id: impl Into<Atom>) -> Result<Pid, SupervisorError> {
        let id = id.into();
        self.ask(|tx| Op::Restart(id, tx)).await
    }

    /// Forgets a stopped child.
    pub async fn delete_child(&self, id: impl Into<Atom>) -> Result<(), SupervisorError> {
        let id = id.into();
        self.ask(|tx| Op::Delete(id, tx)).await
    }

    /// Every child, in start order.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        self.inspect(|state, _| state.which_children()).await
    }

    /// Counts of children.
    pub async fn count_children(&self) -> Result<ChildCounts, SupervisorError> {
        self.inspect(|state, _| state.count_children()).await
    }

    /// The pid of the running child `id`.
    pub async fn child_pid(&self, id: impl Into<Atom>) -> Result<Option<Pid>, SupervisorError> {
        let id = id.into();
        self.inspect(move |state, _| state.child_pid(id)).await
    }

    /// A typed handle to the running child `id`, checked at run time (the handles
    /// `supervisor!` generates are checked at compile time).
    pub async fn child<A: Actor>(
        &self,
        id: impl Into<Atom>,
    ) -> Result<ActorRef<A>, SupervisorError> {
        let id = id.into();
        let found = self
            .inspect(move |state, node| {
                let info = state.which_children().into_iter().find(|c| c.id == id);
                let actor = info
                    .as_ref()
                    .and_then(|c| c.pid)
                    .and_then(|pid| node.actor_ref::<A>(pid));
                (info, actor)
            })
            .await?;
        match found {
            (_, Some(actor)) => Ok(actor),
            (Some(info), None) if info.pid.is_some() => Err(SupervisorError::WrongType {
                id,
                expected: std::any::type_name::<A>(),
                actual: info.actor,
            }),
            _ => Err(SupervisorError::UnknownChild(id.to_string())),
        }
    }

    /// Stops the children in reverse start order, then the supervisor (with
    /// `Shutdown`); returns once it has terminated.
    pub async fn stop(&self) -> Result<(), SupervisorError> {
        let monitor = self
            .node
            .monitor(self.pid)
            .map_err(|_| SupervisorError::NoSupervisor)?;
        self.ask(|tx| Op::Stop(Reason::Shutdown, tx)).await?;
        monitor.down().await;
        Ok(())
    }
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SupervisorRef({})", self.pid)
    }
}

/// The run-time operations on a supervisor's typed handle (see [`SupervisorRef`]).
#[allow(async_fn_in_trait)] // implemented for `ActorRef<S>` only; its futures are `Send`
pub trait SupervisorExt {
    /// An untyped handle to this supervisor.
    fn supervisor(&self) -> SupervisorRef;

    /// See [`SupervisorRef::start_child`].
    async fn start_child<A: Actor>(&self, spec: ChildSpec) -> Result<ActorRef<A>, SupervisorError>;

    /// See [`SupervisorRef::start_child_with`].
    async fn start_child_with<A: Actor>(
        &self,
        args: A::Args,
    ) -> Result<ActorRef<A>, SupervisorError>
    where
        A::Args: Clone;

    /// See [`SupervisorRef::terminate_child`].
    async fn terminate_child(&self, key: impl Into<ChildKey>) -> Result<(), SupervisorError>;

    /// See [`SupervisorRef::restart_child`].
    async fn restart_child(&self, id: impl Into<Atom>) -> Result<Pid, SupervisorError>;

    /// See [`SupervisorRef::delete_child`].
    async fn delete_child(&self, id: impl Into<Atom>) -> Result<(), SupervisorError>;

    /// See [`SupervisorRef::which_children`].
    async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError>;

    /// See [`SupervisorRef::count_children`].
    async fn count_children(&self) -> Result<ChildCounts, SupervisorError>;

    /// See [`SupervisorRef::child`].
    async fn child<A: Actor>(&self, id: impl Into<Atom>) -> Result<ActorRef<A>, SupervisorError>;

    /// See [`SupervisorRef::stop`].
    async fn stop(&self) -> Result<(), SupervisorError>;
}

impl<S: SupervisorActor> SupervisorExt for ActorRef<S> {
    fn supervisor(&self) -> SupervisorRef {
        SupervisorRef::new(self.node(), self.pid())
    }

    async fn start_child<A: Actor>(&self, spec: ChildSpec) -> Result<ActorRef<A>, SupervisorError> {
        self.supervisor().start_child::<A>(spec).await
    }

    async fn start_child_with<A: Actor>(
        &self,
        args: A::Args,
    ) -> Result<ActorRef<A>, SupervisorError>
    where
        A::Args: Clone,
    {
        self.supervisor().start_child_with::<A>(args).await
    }

    async fn terminate_child(&self, key: impl Into<ChildKey>) -> Result<(), SupervisorError> {
        self.supervisor().terminate_child(key).await
    }

    async fn restart_child(&self, id: impl Into<Atom>) -> Result<Pid, SupervisorError> {
        self.supervisor().restart_child(id).await
    }

    async fn delete_child(&self, id: impl Into<Atom>) -> Result<(), SupervisorError> {
        self.supervisor().delete_child(id).await
    }

    async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        self.supervisor().which_children().await
    }

    async fn count_children(&self) -> Result<ChildCounts, SupervisorError> {
        self.supervisor().count_children().await
    }

    async fn child<A: Actor>(&self, id: impl Into<Atom>) -> Result<ActorRef<A>, SupervisorError> {
        self.supervisor().child(id).await
    }

    async fn stop(&self) -> Result<(), SupervisorError> {
        self.supervisor().stop().await
    }
}

/// A typed handle to a registered child that keeps working across its restarts: each
/// [`get`](ChildRef::get) resolves the name to the current instance. `supervisor!`
/// generates one accessor per child returning it.
pub struct ChildRef<A: Actor> {
    node: Node,
    name: Atom,
    _actor: PhantomData<fn() -> A>,
}

impl<A: Actor> ChildRef<A> {
    /// A handle to the process registered as `name`, expected to run `A`.
    pub fn new(node: &Node, name: impl Into<Atom>) -> Self {
        ChildRef {
            node: node.clone(),
            name: name.into(),
            _actor: PhantomData,
        }
    }

    /// The name the child is registered under.
    pub fn name(&self) -> Atom {
        self.name
    }

    /// The current instance's pid, if it is running.
    pub fn pid(&self) -> Option<Pid> {
        self.node.whereis(self.name)
    }

    /// The current instance, as a typed handle (its methods are the actor's handlers).
    pub fn get(&self) -> Result<ActorRef<A>, ChildError> {
        match self.node.whereis(self.name) {
            None => Err(ChildError::NotRunning(self.name)),
            Some(pid) => self
                .node
                .actor_ref(pid)
                .ok_or(ChildError::WrongType(self.name)),
        }
    }
}

impl<A: Actor> Clone for ChildRef<A> {
    fn clone(&self) -> Self {
        ChildRef {
            node: self.node.clone(),
            name: self.name,
            _actor: PhantomData,
        }
    }
}

impl<A: Actor> fmt::Debug for ChildRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChildRef<{}>({})", std::any::type_name::<A>(), self.name)
    }
}
