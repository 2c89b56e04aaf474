//! Typed errors of the runtime: sends give the message back, calls say what went wrong.

use std::convert::Infallible;
use std::fmt;
use std::time::Duration;

use thiserror::Error;

use crate::pid::{Atom, Pid, Target};
use crate::reason::Reason;

/// Why a send failed. Carries the message back to the sender.
#[derive(Error)]
#[non_exhaustive]
pub enum SendError<M> {
    /// No live process at that address.
    #[error("no such process")]
    NoProcess(M),
    /// The target's queue for this priority is at its limit.
    #[error("mailbox full")]
    MailboxFull(M),
    /// The target does not handle messages of this type (an untyped send).
    #[error("the process does not handle messages of this type")]
    Unhandled(M),
    /// The target's node cannot be reached (no network, no route).
    #[error("no connection to the process's node")]
    NoConnection(M),
    /// The connection to the target's node is full (its bounded write buffer is at its
    /// limit: the peer reads slower than this node sends). Nothing was queued; retry
    /// later or slow down.
    #[error("the connection to the process's node is busy")]
    Busy(M),
    /// The message could not be encoded for a remote process (a `local` handler's
    /// message, or a frame above the size limit); it was converted before encoding and
    /// cannot be handed back.
    #[error("cannot send to a remote process: {0}")]
    Encode(String),
    /// An untyped message for a process on another node, of a type that cannot cross:
    /// register it with `ergo::register_message::<T>()` (typed sends through an
    /// `ActorRef` need nothing).
    #[error(
        "this message type is not registered for sends to other nodes (ergo::register_message)"
    )]
    NotRemote(M),
}

impl<M> SendError<M> {
    /// The message that was not delivered (not after an encoding failure).
    pub fn into_inner(self) -> Option<M> {
        match self {
            SendError::NoProcess(m)
            | SendError::MailboxFull(m)
            | SendError::Unhandled(m)
            | SendError::NoConnection(m)
            | SendError::Busy(m)
            | SendError::NotRemote(m) => Some(m),
            SendError::Encode(_) => None,
        }
    }

    /// The same error around another message (used when converting messages).
    pub fn map<N>(self, f: impl FnOnce(M) -> N) -> SendError<N> {
        match self {
            SendError::NoProcess(m) => SendError::NoProcess(f(m)),
            SendError::MailboxFull(m) => SendError::MailboxFull(f(m)),
            SendError::Unhandled(m) => SendError::Unhandled(f(m)),
            SendError::NoConnection(m) => SendError::NoConnection(f(m)),
            SendError::Busy(m) => SendError::Busy(f(m)),
            SendError::NotRemote(m) => SendError::NotRemote(f(m)),
            SendError::Encode(e) => SendError::Encode(e),
        }
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoProcess(_) => f.write_str("SendError::NoProcess(..)"),
            SendError::MailboxFull(_) => f.write_str("SendError::MailboxFull(..)"),
            SendError::Unhandled(_) => f.write_str("SendError::Unhandled(..)"),
            SendError::NoConnection(_) => f.write_str("SendError::NoConnection(..)"),
            SendError::Busy(_) => f.write_str("SendError::Busy(..)"),
            SendError::NotRemote(_) => f.write_str("SendError::NotRemote(..)"),
            SendError::Encode(e) => write!(f, "SendError::Encode({e:?})"),
        }
    }
}

/// Why a call did not produce a reply. `E` is the handler's own error type for handlers
/// that return `Result<T, E>` (`Infallible` otherwise).
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError<E = Infallible> {
    /// No reply within the timeout (the late reply, if any, is dropped).
    #[error("call timed out after {0:?}")]
    Timeout(Duration),
    /// No live process at that address, or it terminated before handling the request.
    #[error("no such process")]
    NoProcess,
    /// The target's queue for this priority is at its limit.
    #[error("mailbox full")]
    MailboxFull,
    /// A process called itself: it would wait for a reply only it could send.
    #[error("a process cannot call itself (it would deadlock); send a message instead")]
    CallToSelf,
    /// The handler dropped its reply token without answering.
    #[error("the handler dropped the reply token without replying")]
    NoReply,
    /// The process terminated after taking the request and before answering it: its
    /// handler panicked (`Reason::Panic`), or it stopped, or was killed, with the reply
    /// still pending. Carries the process's exit reason, as an Erlang caller gets it.
    #[error("the process exited before replying: {0}")]
    Exited(Reason),
    /// The request or reply could not be carried (a wrong type behind a raw pid, a
    /// message the target does not handle).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The target's node could not be reached, or the connection was lost mid-call.
    #[error("no connection to the process's node")]
    NoConnection,
    /// The connection to the target's node is full (back-pressure): the request was
    /// not sent; retry later.
    #[error("the connection to the process's node is busy")]
    Busy,
    /// The network refused the request for another reason than a lost connection
    /// (the peer refused our cookie, a remote process of another type...).
    #[error(transparent)]
    Network(crate::dist::NetError),
    /// The handler answered with an error.
    #[error("handler error: {0:?}")]
    Handler(E),
}

impl CallError<Infallible> {
    /// Widens a transport error to a call error of any handler error type.
    pub fn widen<E>(self) -> CallError<E> {
        match self {
            CallError::Timeout(d) => CallError::Timeout(d),
            CallError::NoProcess => CallError::NoProcess,
            CallError::MailboxFull => CallError::MailboxFull,
            CallError::CallToSelf => CallError::CallToSelf,
            CallError::NoReply => CallError::NoReply,
            CallError::Exited(r) => CallError::Exited(r),
            CallError::BadRequest(s) => CallError::BadRequest(s),
            CallError::NoConnection => CallError::NoConnection,
            CallError::Busy => CallError::Busy,
            CallError::Network(e) => CallError::Network(e),
            CallError::Handler(never) => match never {},
        }
    }
}

/// Why a spawn failed. Nothing of the process is left behind.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// The actor's init returned an error (or panicked).
    #[error("init failed: {0}")]
    Init(Reason),
    /// The actor's init did not finish within the init timeout.
    #[error("init timed out after {0:?}")]
    InitTimeout(Duration),
    /// The name asked for is already registered.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The node is stopping or stopped.
    #[error("the node is stopping")]
    NodeStopping,
}

/// Why a typed lookup by name ([`Node::lookup`](crate::Node::lookup)) gave no handle.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No live process is registered under the name.
    #[error("no process is registered under that name")]
    NotFound,
    /// The name is held by a process running another actor type.
    #[error("the process registered under that name runs `{found}`, not `{expected}`")]
    WrongType {
        /// The actor type asked for.
        expected: &'static str,
        /// The actor type it runs.
        found: &'static str,
    },
}

/// Errors of the name and alias registry.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// The name is already registered to another process.
    #[error("name '{0}' is taken")]
    Taken(Atom),
    /// The process already has a registered name (one name per process).
    #[error("process already registered as '{0}'")]
    AlreadyNamed(Atom),
    /// No such name or alias.
    #[error("unknown name")]
    Unknown,
    /// The process is not alive.
    #[error("no such process")]
    NoProcess,
    /// The alias belongs to another process.
    #[error("the alias belongs to another process")]
    NotOwner,
}

/// Errors of link and monitor operations.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// The target could not be resolved (unknown name).
    #[error("unknown target {0}")]
    Unknown(Target),
    /// Links and monitors to other nodes need the network layer.
    #[error("{0} lives on another node; remote links and monitors need a network connection")]
    Remote(Pid),
}

/// Errors of node start and stop.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeError {
    /// The node name is not `name@host`.
    #[error(
        "invalid node name {0:?}: expected name@host with both parts non-empty, at most 255 bytes"
    )]
    BadName(String),
    /// The network could not start.
    #[error("network: {0}")]
    Network(String),
    /// `start` needs a tokio runtime.
    #[error("Node::start must run inside a tokio runtime")]
    NoRuntime,
    /// Graceful shutdown did not finish within the shutdown timeout; these processes
    /// were still alive.
    #[error("shutdown timed out after {timeout:?}; {} processes still alive: {stuck:?}", stuck.len())]
    ShutdownTimeout {
        /// The timeout that passed.
        timeout: Duration,
        /// The processes still alive.
        stuck: Vec<Pid>,
    },
}
