//! Supervision: supervisors are processes that start children in order, watch them
//! (they trap exits), restart them by strategy and policy within a restart intensity,
//! and stop them in reverse order.
//!
//! Build a [`SupervisorSpec`] of [`ChildSpec`]s and spawn a [`Supervisor`], or declare
//! a typed tree with `ergo::supervisor!`. Either way the supervisor has a pid, can be
//! monitored and linked, and can itself be the child of a supervisor: if it gives up
//! (restart intensity exceeded) it stops its children and exits with
//! `Reason::MaxRestartIntensity` (OTP's
//! `shutdown`), and its parent applies its own strategy: a permanent child supervisor
//! is restarted (and counts toward the parent's intensity), a transient one is not.
//!
//! ```
//! use ergo_otp::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorExt, SupervisorSpec};
//! use ergo_runtime::{Actor, Context, Node, ReplyTo, Step};
//!
//! #[derive(Default)]
//! struct Worker;
//! impl Actor for Worker {
//!     type Message = ();
//!     type Call = ();
//!     type Reply = ();
//!     type Args = ();
//!     fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
//!         Step::Continue
//!     }
//!     fn handle_call(&mut self, _: &mut Context<Self>, _: (), r: ReplyTo<()>) -> Step<Self> {
//!         r.send(());
//!         Step::Continue
//!     }
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::builder("doc@127.0.0.1").start().await?;
//! let spec = SupervisorSpec::new(Strategy::OneForOne)
//!     .child(ChildSpec::new("worker", || (Worker, ())).registered());
//! let sup = node.spawn(Supervisor::new(spec)).await?;
//!
//! let first = node.whereis("worker").expect("started");
//! node.kill(first);
//! // The supervisor restarts it under the same name, with a new pid.
//! let children = loop {
//!     let children = sup.which_children().await?;
//!     if children[0].pid.is_some_and(|p| p != first) {
//!         break children;
//!     }
//!     tokio::task::yield_now().await;
//! };
//! assert_eq!(node.whereis("worker"), children[0].pid);
//! sup.stop().await?;
//! node.stop().await?;
//! # Ok(()) }
//! ```

pub mod behavior;
mod child;
mod error;
mod handle;
mod info;
mod intensity;
mod message;
mod spec;
mod state;
mod stop;

use std::convert::Infallible;

pub use child::ChildSpec;
pub use error::{ChildError, SupervisorError};
pub use handle::{ChildRef, SupervisorExt, SupervisorRef};
pub use info::{ChildCounts, ChildInfo};
pub use message::{SupervisorMessage, SupervisorRequest};
pub use spec::{
    AutoShutdown, ChildKind, Restart, Shutdown, Strategy, SupervisorSpec, DEFAULT_INTENSITY,
    DEFAULT_PERIOD, DEFAULT_SHUTDOWN,
};
pub use state::{ChildKey, SupervisorState};

pub(crate) use child::StartError;
pub(crate) use stop::stop_child;

use ergo_runtime::Context;
use ergo_runtime::ReplyTo;
use ergo_runtime::{Actor, Handles, Step};
use ergo_runtime::{Exit, Reason};

/// An actor that is a supervisor: it handles [`SupervisorMessage`]s and holds a
/// [`SupervisorState`]. Implemented by [`Supervisor`] and by the types
/// `supervisor!` generates; their `Actor` methods call [`behavior`].
pub trait SupervisorActor:
    Actor<Message = SupervisorMessage, Call = Infallible> + Handles<SupervisorMessage>
{
    /// The supervisor's state.
    fn supervisor_state(&mut self) -> &mut SupervisorState;
}

/// A supervisor built from a [`SupervisorSpec`] at run time.
pub struct Supervisor {
    state: SupervisorState,
}

impl Supervisor {
    /// A supervisor that will start with `spec`.
    pub fn new(spec: SupervisorSpec) -> Self {
        Supervisor {
            state: SupervisorState::new(spec),
        }
    }
}

impl SupervisorActor for Supervisor {
    fn supervisor_state(&mut self) -> &mut SupervisorState {
        &mut self.state
    }
}

impl Handles<SupervisorMessage> for Supervisor {
    fn into_message(msg: SupervisorMessage) -> SupervisorMessage {
        msg
    }
}

impl Actor for Supervisor {
    type Message = SupervisorMessage;
    type Call = Infallible;
    type Reply = ();
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        behavior::init(self, ctx).await
    }

    fn handle_message(&mut self, ctx: &mut Context<Self>, msg: SupervisorMessage) -> Step<Self> {
        behavior::handle_message(self, ctx, msg)
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        req: Infallible,
        _: ReplyTo<()>,
    ) -> Step<Self> {
        match req {}
    }

    fn handle_exit(&mut self, ctx: &mut Context<Self>, exit: Exit) -> Step<Self> {
        behavior::handle_exit(self, ctx, exit)
    }

    fn terminate(&mut self, ctx: &mut Context<Self>, reason: &Reason) {
        behavior::terminate(self, ctx, reason)
    }
}
