//! [`ActorRef<A>`]: a typed handle to a process, and [`Request`], the call builder.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Timeout;

use crate::actor::{Actor, Handles, HasHandle};
use crate::error::{CallError, SendError};
use crate::mailbox::{state, Priority};
use crate::pid::Pid;
use crate::process::core::AnyProcess;
use crate::process::{current, links, Cell, Envelope};
use crate::reason::Reason;
use crate::reply::ReplyTo;

/// The default call timeout (5 s, as in Erlang and Ergo).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A typed handle to a process running actor `A`. Cheap to clone; sending through it
/// needs no lookup. The methods `#[actor]` generates (one per handler) are reached
/// through it: `counter.add(5).await`.
///
/// Inherent methods: `pid`, `node`, `send`, `send_with_priority`, `request`, `request_map`,
/// `exit`, `is_alive`. Handlers may not use these names.
pub struct ActorRef<A: Actor> {
    cell: Arc<Cell<A>>,
}

impl<A: Actor> ActorRef<A> {
    pub(crate) fn from_cell(cell: Arc<Cell<A>>) -> Self {
        ActorRef { cell }
    }

    pub(crate) fn from_process(process: Arc<dyn AnyProcess>) -> Option<Self> {
        process
            .into_any()
            .downcast::<Cell<A>>()
            .ok()
            .map(ActorRef::from_cell)
    }

    /// The process id.
    pub fn pid(&self) -> Pid {
        self.cell.core.pid()
    }

    /// The node the process runs on.
    pub fn node(&self) -> &crate::node::Node {
        &self.cell.core.node
    }

    /// True until the process has terminated.
    pub fn is_alive(&self) -> bool {
        self.cell.mailbox.state() < state::DEAD
    }

    /// Sends a message (any type the actor handles) to the main queue.
    pub fn send<M>(&self, msg: M) -> Result<(), SendError<M>>
    where
        A: Handles<M>,
    {
        self.send_with_priority(msg, Priority::Normal)
    }

    /// Sends a message to the queue of `priority`.
    pub fn send_with_priority<M>(&self, msg: M, priority: Priority) -> Result<(), SendError<M>>
    where
        A: Handles<M>,
    {
        if let Err(refused) = self.cell.mailbox.admit(priority, false) {
            return Err(refused.into_send_error(msg));
        }
        self.cell
            .push(priority, Envelope::Message(A::into_message(msg)));
        Ok(())
    }

    /// A call with the raw request type; await it for the raw reply. Adjust with
    /// `.timeout(..)` and `.priority(..)` before awaiting.
    pub fn request(&self, req: A::Call) -> Request<A> {
        self.request_map(req, Ok)
    }

    /// A call whose reply is converted by `map` (used by the generated methods).
    #[doc(hidden)]
    pub fn request_map<T, E>(
        &self,
        req: A::Call,
        map: fn(A::Reply) -> Result<T, CallError<E>>,
    ) -> Request<A, T, E> {
        Request {
            target: self.clone(),
            req,
            timeout: DEFAULT_CALL_TIMEOUT,
            priority: Priority::Normal,
            map,
        }
    }

    /// Sends an exit signal to the process, from the current process (or the node).
    /// `Reason::Kill` cannot be trapped.
    pub fn exit(&self, reason: Reason) -> bool {
        let node = &self.cell.core.node;
        let from = current::pid().unwrap_or_else(|| node.pid_of(0));
        links::exit_signal(node, from, self.pid(), reason)
    }
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        ActorRef {
            cell: self.cell.clone(),
        }
    }
}

impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }
}
impl<A: Actor> Eq for ActorRef<A> {}

impl<A: Actor> Hash for ActorRef<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.pid().hash(state)
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ActorRef<{}>({})",
            std::any::type_name::<A>(),
            self.pid()
        )
    }
}

impl<A: HasHandle> Deref for ActorRef<A> {
    type Target = A::Handle;

    fn deref(&self) -> &A::Handle {
        // SAFETY: `HasHandle` promises `Handle` is `repr(transparent)` over `ActorRef<A>`.
        unsafe { &*(self as *const ActorRef<A>).cast::<A::Handle>() }
    }
}

/// A call about to be made: set `.timeout(..)` / `.priority(..)`, then `.await` it.
#[must_use = "a request does nothing until awaited"]
pub struct Request<A: Actor, T = <A as Actor>::Reply, E = Infallible> {
    target: ActorRef<A>,
    req: A::Call,
    timeout: Duration,
    priority: Priority,
    map: fn(A::Reply) -> Result<T, CallError<E>>,
}

impl<A: Actor, T, E> Request<A, T, E> {
    /// How long to wait for the reply (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The queue the request goes to (default `Normal`).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }
}

impl<A: Actor, T, E> IntoFuture for Request<A, T, E> {
    type Output = Result<T, CallError<E>>;
    type IntoFuture = CallFuture<A, T, E>;

    fn into_future(self) -> CallFuture<A, T, E> {
        CallFuture {
            start: Some((self.target, self.req, self.priority)),
            timeout: self.timeout,
            map: self.map,
            wait: None,
        }
    }
}

type ReplySlot<A> = oneshot::Receiver<Result<<A as Actor>::Reply, CallError>>;

/// The future of a [`Request`]: sends on first poll, then waits for the reply or the
/// timeout.
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture<A: Actor, T, E> {
    start: Option<(ActorRef<A>, A::Call, Priority)>,
    timeout: Duration,
    map: fn(A::Reply) -> Result<T, CallError<E>>,
    wait: Option<Timeout<ReplySlot<A>>>,
}

impl<A: Actor, T, E> Future for CallFuture<A, T, E> {
    type Output = Result<T, CallError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        // SAFETY: only `wait` is structurally pinned; it is never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some((target, req, priority)) = this.start.take() {
            if current::is(&target.cell.core) {
                return Poll::Ready(Err(CallError::CallToSelf));
            }
            let (tx, rx) = oneshot::channel();
            let envelope = Envelope::Call(req, ReplyTo::new(tx));
            if let Err((refused, envelope)) = target.cell.deliver(priority, envelope, false) {
                if let Envelope::Call(_, reply) = envelope {
                    reply.disarm(); // nobody listens: skip the NoReply send
                }
                return Poll::Ready(Err(match refused {
                    crate::mailbox::Refused::Dead => CallError::NoProcess,
                    crate::mailbox::Refused::Full => CallError::MailboxFull,
                }));
            }
            this.wait = Some(tokio::time::timeout(this.timeout, rx));
        }
        let Some(wait) = this.wait.as_mut() else {
            panic!("CallFuture polled after completion");
        };
        // SAFETY: `wait` lives inside the pinned `self` and is not moved until dropped.
        let wait = unsafe { Pin::new_unchecked(wait) };
        let result = match wait.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(Ok(Ok(reply)))) => (this.map)(reply),
            Poll::Ready(Ok(Ok(Err(err)))) => Err(err.widen()),
            Poll::Ready(Ok(Err(_closed))) => Err(CallError::NoProcess),
            Poll::Ready(Err(_elapsed)) => Err(CallError::Timeout(this.timeout)),
        };
        this.wait = None;
        Poll::Ready(result)
    }
}
