//! Meta processes: bridges between the actor world and I/O that is not made of
//! messages — TCP ([`tcp`]), UDP ([`udp`]), external OS programs ([`port`]), and HTTP,
//! WebSocket and SSE ([`web`]).
//!
//! A meta process is a process (it has a pid, can be monitored, is sent messages) that
//! owns a socket, a listener or a child program. Tasks on tokio do its reading and
//! deliver what they read to its owner (or to workers) as typed messages; the process
//! itself writes what it is sent. It monitors its owner and ends when the owner does,
//! and whatever way it ends (owner death, an I/O error, a kill, the node stopping) its
//! tasks are aborted and its socket or program released.
//!
//! Blocking work that is not I/O (a blocking library call, a long computation) needs
//! no meta process: a handler hands it to
//! [`Context::spawn_blocking`](ergo_runtime::Context::spawn_blocking) or answers a call
//! with [`Context::spawn_blocking_reply`](ergo_runtime::Context::spawn_blocking_reply),
//! which run it on tokio's blocking threads, off the scheduler.

mod ext;
mod meta;
pub mod port;
mod recipient;
pub mod tcp;
pub mod udp;
pub mod web;

pub use ext::{MetaExt, MetaFuture};
pub use meta::MetaError;
pub use recipient::Recipient;
