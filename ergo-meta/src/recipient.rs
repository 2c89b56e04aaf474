//! [`Recipient<M>`]: where a meta process delivers what it reads — any actor that
//! handles messages of type `M`, whatever its own type.

use std::fmt;
use std::sync::Arc;

use ergo_runtime::{Actor, ActorRef, Handles, Pid, SendError};

type SendFn<M> = dyn Fn(M) -> Result<(), SendError<M>> + Send + Sync;

/// A process that accepts messages of type `M`: built from the `ActorRef` of any actor
/// that handles `M` (`actor_ref.into()`). Cheap to clone.
pub struct Recipient<M> {
    pid: Pid,
    send: Arc<SendFn<M>>,
}

impl<M: Send + 'static> Recipient<M> {
    /// The recipient's pid (a meta process monitors it, and dies with it).
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Sends `msg` to the recipient's main queue; gives it back if the process is gone
    /// or its mailbox is full.
    pub fn send(&self, msg: M) -> Result<(), SendError<M>> {
        (self.send)(msg)
    }
}

impl<A: Actor + Handles<M>, M: Send + 'static> From<ActorRef<A>> for Recipient<M> {
    fn from(actor: ActorRef<A>) -> Self {
        Recipient {
            pid: actor.pid(),
            send: Arc::new(move |msg| actor.send(msg)),
        }
    }
}

impl<A: Actor + Handles<M>, M: Send + 'static> From<&ActorRef<A>> for Recipient<M> {
    fn from(actor: &ActorRef<A>) -> Self {
        actor.clone().into()
    }
}

impl<M> Clone for Recipient<M> {
    fn clone(&self) -> Self {
        Recipient {
            pid: self.pid,
            send: self.send.clone(),
        }
    }
}

impl<M> fmt::Debug for Recipient<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.pid)
    }
}
