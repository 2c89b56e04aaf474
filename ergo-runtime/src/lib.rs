//! The ergo runtime: nodes, processes with four-queue priority mailboxes, a scheduler
//! that runs only processes with work, calls and casts, names and aliases, links,
//! monitors and exit signals.
//!
//! Most users depend on the `ergo` crate, which re-exports this one with the `#[actor]`
//! macros. See `Actor` for the trait the macros implement.

pub mod actor;
pub mod actor_ref;
pub mod context;
pub mod error;
pub mod info;
pub mod mailbox;
pub mod net;
pub mod node;
pub mod pid;
mod process;

pub use process::core::AnyReply;
pub mod reason;
pub mod reply;
mod sched;
pub mod spawn;
pub mod supervisor;
mod sync;
pub mod timer;
pub mod wire;

pub use actor::{Actor, ActorFuture, Handles, HasHandle, Step};
pub use actor_ref::{ActorRef, CallFuture, Request, DEFAULT_CALL_TIMEOUT};
pub use context::Context;
pub use error::{CallError, LinkError, LookupError, NameError, NodeError, SendError, SpawnError};
pub use info::{NodeInfo, ProcessInfo, ProcessState};
pub use mailbox::Priority;
pub use node::{
    ApplicationError, ApplicationInfo, ApplicationSpec, ApplicationState, Node, NodeBuilder,
    NodeMonitor, RemoteRouter, RemoteTarget, StartMode,
};
pub use pid::{Alias, Atom, Pid, Ref, Target};
pub use reason::{Down, Exit, Reason};
pub use reply::ReplyTo;
pub use spawn::{NoInitArgs, SpawnOptions, DEFAULT_INIT_TIMEOUT};
pub use timer::TimerRef;
pub use wire::{Wire, WireError};
