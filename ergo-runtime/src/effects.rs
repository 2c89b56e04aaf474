//! Effects sinks: a context that carries one asks it, instead of the node, to send,
//! call, spawn, link, monitor, register and arm timers. A unit-test harness
//! (`ergo::testing::Unit`) runs one actor's handlers this way and records what they
//! did; a process on a running node never has one.
//!
//! What a running node pays for the hook: an `Option` in each [`Context`] (checked by
//! the context's operations, not by sends through an `ActorRef`), and a third,
//! never-taken variant in `ActorRef`'s local/remote match.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use crate::actor::Actor;
use crate::actor_ref::{ActorRef, Request};
use crate::context::Context;
use crate::error::{CallError, LinkError, NameError, SendError, SpawnError};
use crate::mailbox::Priority;
use crate::node::Node;
use crate::pid::{Alias, Atom, Pid, Ref, Target};
use crate::process::core::Core;
use crate::process::Cell;
use crate::reason::Reason;

/// Where the operations of a context (and of the handles it gives out) go instead of
/// the node. Implemented by a test harness; every method answers at once.
pub trait Effects: Send + Sync + 'static {
    /// A send (typed through an `ActorRef`, or untyped through `Context::send`).
    /// Accepting it means calling `send.message` to take the message; a refusal
    /// leaves it untaken, and the sender gets it back in its `SendError`.
    fn send(&self, send: SendEffect<'_>) -> Result<(), Refusal>;
    /// A call through an `ActorRef`: the reply (the target actor's `Reply`, boxed),
    /// or the error the caller gets.
    fn call(&self, call: CallEffect) -> Result<Box<dyn Any + Send>, CallError>;
    /// A spawn: the new process's pid, or why it failed.
    fn spawn(&self, spawn: SpawnEffect) -> Result<Pid, SpawnError>;
    /// `Context::link`.
    fn link(&self, to: Pid) -> Result<(), LinkError>;
    /// `Context::unlink`.
    fn unlink(&self, to: Pid);
    /// `Context::monitor`: the monitor's reference.
    fn monitor(&self, target: Target) -> Result<Ref, LinkError>;
    /// `Context::demonitor`.
    fn demonitor(&self, monitor: Ref) -> bool;
    /// An exit signal sent to `to` (`Context::send_exit`, `ActorRef::exit`).
    fn exit(&self, to: Pid, reason: Reason) -> bool;
    /// `Context::register`.
    fn register(&self, name: Atom) -> Result<(), NameError>;
    /// `Context::unregister`.
    fn unregister(&self) -> Result<(), NameError>;
    /// `Context::create_alias`.
    fn create_alias(&self) -> Alias;
    /// `Context::delete_alias`.
    fn delete_alias(&self, alias: Alias) -> Result<(), NameError>;
    /// `Context::send_after` / `send_every`: an id for [`Effects::cancel_timer`].
    fn arm_timer(&self, timer: TimerEffect) -> u64;
    /// `TimerRef::cancel`: false if it had fired or was cancelled.
    fn cancel_timer(&self, id: u64) -> bool;
    /// `TimerRef::is_finished`.
    fn timer_finished(&self, id: u64) -> bool;
    /// `ActorRef::is_alive` of a handle the harness gave out.
    fn is_alive(&self, pid: Pid) -> bool;
}

/// A send, as [`Effects::send`] sees it.
pub struct SendEffect<'a> {
    /// Where to.
    pub to: Target,
    /// The target's actor type (a typed send), or `None` (an untyped send).
    pub actor: Option<&'static str>,
    /// The type of the message taken from `message`.
    pub message_type: &'static str,
    /// The queue.
    pub priority: Priority,
    /// Sent with `send_important` (the sender waits for the target's mailbox).
    pub important: bool,
    /// Takes the message (converted to the target actor's `Message` for a typed send;
    /// the value itself for an untyped one). Call it once, only to accept the send.
    pub message: &'a mut dyn FnMut() -> Box<dyn Any + Send>,
}

/// Why an [`Effects`] sink refused a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such process.
    NoProcess,
    /// Its mailbox is full.
    MailboxFull,
    /// The connection is busy.
    Busy,
    /// No connection to its node.
    NoConnection,
}

impl Refusal {
    pub(crate) fn into_send_error<M>(self, msg: M) -> SendError<M> {
        match self {
            Refusal::NoProcess => SendError::NoProcess(msg),
            Refusal::MailboxFull => SendError::MailboxFull(msg),
            Refusal::Busy => SendError::Busy(msg),
            Refusal::NoConnection => SendError::NoConnection(msg),
        }
    }
}

/// A call, as [`Effects::call`] sees it.
pub struct CallEffect {
    /// Where to.
    pub to: Pid,
    /// The target's actor type.
    pub actor: &'static str,
    /// The request (the target actor's `Call`, boxed).
    pub request: Box<dyn Any + Send>,
    /// The queue.
    pub priority: Priority,
    /// How long the caller waits.
    pub timeout: Duration,
}

/// A spawn, as [`Effects::spawn`] sees it.
pub struct SpawnEffect {
    /// The new actor's type.
    pub actor_type: &'static str,
    /// The actor value (boxed).
    pub actor: Box<dyn Any + Send>,
    /// Its init arguments (boxed `Args`).
    pub args: Box<dyn Any + Send>,
    /// The name it is to be registered under.
    pub name: Option<Atom>,
    /// Linked to the spawning process.
    pub link: bool,
    /// Its own environment variables.
    pub env: Vec<(String, String)>,
}

/// A timer, as [`Effects::arm_timer`] sees it.
pub struct TimerEffect {
    /// Who gets the message.
    pub to: Pid,
    /// The message's type.
    pub message_type: &'static str,
    /// After how long it fires (first).
    pub delay: Duration,
    /// For `send_every`: the period after the first firing.
    pub period: Option<Duration>,
    /// Sends the message through the target's handle (a copy, for a periodic timer);
    /// false once the target is gone.
    pub fire: Box<dyn FnMut() -> bool + Send>,
}

/// A context for actor `A` whose operations go to `effects`, for a harness that calls
/// the actor's handlers itself. `pid` (from [`new_pid`] on `node`) is its process's;
/// that process exists nowhere else (no table entry, no mailbox in use).
pub fn context<A: Actor>(node: &Node, pid: Pid, effects: Arc<dyn Effects>) -> Context<A> {
    assert_eq!(pid.node(), node.name(), "a pid of the context's node");
    let cell = Arc::new(Cell::<A>::detached(Core::new(node.clone(), pid.id())));
    Context::with_effects(cell, effects)
}

/// A fresh pid on `node`, for a process that exists only in a harness.
pub fn new_pid(node: &Node) -> Pid {
    node.pid_of(node.inner().next_id())
}

/// A fresh alias on `node`, for a harness.
pub fn new_alias(node: &Node) -> Alias {
    Alias(node.make_ref())
}

/// The stop a handler asked for with `Context::stop`, taken (a harness ends the
/// actor with it once the handler has returned).
pub fn take_stop<A: Actor>(ctx: &mut Context<A>) -> Option<Reason> {
    ctx.take_stop()
}

/// A handle to the process `pid` (of actor type `B`) whose sends, calls and exits go
/// to `effects`.
pub fn handle<B: Actor>(node: &Node, pid: Pid, effects: Arc<dyn Effects>) -> ActorRef<B> {
    ActorRef::effect(node.clone(), pid, effects)
}

/// A request not yet sent, taken apart: the target's pid, the raw request, its queue
/// and timeout, and the conversion of the raw reply into what its caller awaits. A
/// harness answers it itself. `None` if it was already sent.
#[allow(clippy::type_complexity)]
pub fn request_parts<A: Actor, T, E>(request: Request<A, T, E>) -> Option<RequestParts<A, T, E>> {
    request.into_parts()
}

/// What [`request_parts`] returns.
pub struct RequestParts<A: Actor, T, E> {
    /// The target.
    pub to: Pid,
    /// The raw request.
    pub request: A::Call,
    /// Its queue.
    pub priority: Priority,
    /// How long the caller waits.
    pub timeout: Duration,
    /// Turns the raw reply into the caller's result.
    pub map: fn(A::Reply) -> Result<T, CallError<E>>,
}
