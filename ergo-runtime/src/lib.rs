//! The ergo runtime: nodes, processes with four-queue priority mailboxes, a scheduler
//! that runs only processes with work, calls and casts, names and aliases, links,
//! monitors and exit signals.
//!
//! Most users depend on the `ergo` crate, which re-exports this one with the `#[actor]`
//! macros. See `Actor` for the trait the macros implement.

mod actor;
mod actor_ref;
mod call;
mod clock;
mod context;
pub mod dist;
pub mod effects;
mod error;
mod info;
mod log_fields;
pub mod logs;
mod mailbox;
mod node;
mod pid;
mod process;

pub use process::core::AnyReply;
mod reason;
mod reply;
mod sched;
mod spawn;
mod sync;
pub mod system;
mod timer;
pub mod wire;

pub use actor::{Actor, ActorFuture, Handles, HasHandle, Step};
pub use actor_ref::{prefetch, ActorRef, CallFuture, Request, DEFAULT_CALL_TIMEOUT};
pub use context::Context;
pub use error::{CallError, LinkError, LookupError, NameError, NodeError, SendError, SpawnError};
pub use info::{NodeInfo, ProcessInfo, ProcessState, ProcessSummary};
pub use log_fields::LogFields;
pub use logs::{Admit, LogLimiter};
pub use mailbox::Priority;
pub use node::{ExitHook, Node, NodeBuilder, NodeMonitor, Plugin};
pub use pid::{Alias, Atom, Pid, Ref, Target};
pub use reason::{Down, Exit, ForeignReason, Reason};
pub use reply::ReplyTo;
pub use spawn::{NoInitArgs, SpawnOptions, DEFAULT_INIT_TIMEOUT};
pub use timer::TimerRef;
pub use wire::{register_message, Wire, WireError};

/// The pid of the process whose handler is running on this thread, if any (a logging
/// layer uses it to tell which process a record comes from).
pub fn current_pid() -> Option<Pid> {
    process::current::pid()
}
