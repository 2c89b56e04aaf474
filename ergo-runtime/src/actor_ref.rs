//! [`ActorRef<A>`]: a typed handle to a process, and [`Request`], the call builder.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::actor::{Actor, Handles, HasHandle};
use crate::call::{Pending, Polled, SlotWriter};
use crate::dist::{NetError, RemoteError, RemoteTarget, Transport};
use crate::effects::{CallEffect, Effects, SendEffect};
use crate::error::{CallError, SendError};
use crate::mailbox::{state, Priority};
use crate::pid::{Pid, Target};
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
/// Handlers may not take the names of its methods (`pid`, `send`, `is_local`, ..):
/// `#[actor]` refuses them. Its list, `ergo-macros/src/reserved.rs`, is checked against
/// this type's methods by a test: adding a method here means adding it there.
pub struct ActorRef<A: Actor> {
    inner: Inner<A>,
}

enum Inner<A: Actor> {
    Local(Arc<Cell<A>>),
    Remote(Arc<RemoteRef>),
    /// A process that exists only in a test harness: what goes to it goes to the
    /// harness's effects sink (see [`crate::effects`]).
    Effect(Arc<EffectRef>),
}

/// Where a harness's handle points.
struct EffectRef {
    node: crate::node::Node,
    pid: Pid,
    effects: Arc<dyn Effects>,
}

/// Hints the CPU to load the mailbox of a local process into cache: a fan-out over many
/// handles (an event's subscribers) calls it a few handles ahead of its sends, so their
/// memory loads overlap. Does nothing for a remote process or on other architectures.
pub fn prefetch<A: Actor>(actor: &ActorRef<A>) {
    #[cfg(target_arch = "x86_64")]
    if let Inner::Local(cell) = &actor.inner {
        let at = &cell.mailbox as *const _ as *const i8;
        // SAFETY: a prefetch is a hint; it never faults, whatever the address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at);
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.add(64));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = actor;
}

/// Where a remote `ActorRef` points, and the transport that reaches it.
struct RemoteRef {
    node: crate::node::Node,
    pid: Pid,
    transport: Arc<dyn Transport>,
    /// How many times the pid's node had been lost when this handle was made.
    losses: u64,
}

impl<A: Actor> ActorRef<A> {
    pub(crate) fn from_cell(cell: Arc<Cell<A>>) -> Self {
        ActorRef {
            inner: Inner::Local(cell),
        }
    }

    /// A handle to a process on another node (messages cross the network encoded with
    /// `A`'s wire table).
    pub(crate) fn remote(node: crate::node::Node, pid: Pid, transport: Arc<dyn Transport>) -> Self {
        let losses = node.inner().books.losses(pid.node());
        ActorRef {
            inner: Inner::Remote(Arc::new(RemoteRef {
                node,
                pid,
                transport,
                losses,
            })),
        }
    }

    /// A handle whose sends, calls and exits go to `effects`.
    pub(crate) fn effect(node: crate::node::Node, pid: Pid, effects: Arc<dyn Effects>) -> Self {
        ActorRef {
            inner: Inner::Effect(Arc::new(EffectRef { node, pid, effects })),
        }
    }

    /// True if the process lives on this node.
    pub fn is_local(&self) -> bool {
        matches!(self.inner, Inner::Local(_))
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
        match &self.inner {
            Inner::Local(cell) => cell.core.pid(),
            Inner::Remote(r) => r.pid,
            Inner::Effect(e) => e.pid,
        }
    }

    /// The local node this handle belongs to (for a remote process: the node that
    /// reaches it).
    pub fn node(&self) -> &crate::node::Node {
        match &self.inner {
            Inner::Local(cell) => &cell.core.node,
            Inner::Remote(r) => &r.node,
            Inner::Effect(e) => &e.node,
        }
    }

    /// True until the process has terminated (for a remote process: until the
    /// connection to its node has been lost since this handle was made — monitor it to
    /// learn more).
    pub fn is_alive(&self) -> bool {
        match &self.inner {
            Inner::Local(cell) => cell.mailbox.state() < state::DEAD,
            Inner::Remote(r) => r.node.inner().books.losses(r.pid.node()) == r.losses,
            Inner::Effect(e) => e.effects.is_alive(e.pid),
        }
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
        match &self.inner {
            Inner::Local(cell) => {
                if let Err(refused) = cell.mailbox.admit(priority, false) {
                    return Err(refused.into_send_error(msg));
                }
                cell.push(priority, Envelope::Message(A::into_message(msg)));
                Ok(())
            }
            Inner::Remote(r) => {
                let wire = match crate::wire::of::<A>() {
                    Ok(wire) => wire,
                    Err(e) => return Err(SendError::Encode(e.to_string())),
                };
                // Converted only when the transport asks for the bytes: a transport
                // refuses (busy, no connection) before that, and the message goes back.
                let mut unsent = Some(msg);
                let mut converted = None;
                let mut payload = |buf: &mut Vec<u8>| {
                    let msg = converted.get_or_insert_with(|| {
                        A::into_message(unsent.take().expect("converted once"))
                    });
                    (wire.encode_message)(msg, buf)
                };
                let to = RemoteTarget::Pid(r.pid);
                let sent = r
                    .transport
                    .send(current::pid(), to, priority, &mut payload, None);
                match (sent, unsent) {
                    (Ok(()), _) => Ok(()),
                    (Err(e), Some(msg)) => Err(match e {
                        NetError::Busy(_) => SendError::Busy(msg),
                        NetError::Remote(RemoteError::NoProcess) => SendError::NoProcess(msg),
                        NetError::Remote(RemoteError::MailboxFull) => SendError::MailboxFull(msg),
                        _ => SendError::NoConnection(msg),
                    }),
                    (Err(e), None) => Err(SendError::Encode(e.to_string())),
                }
            }
            Inner::Effect(e) => e.send::<A, M>(msg, priority, false),
        }
    }

    /// Sends a message and waits until it is in the target's mailbox: for a remote
    /// process, until its node confirms; fails at once (not after a timeout) with
    /// `RemoteError::NoProcess` if there is no such process there.
    pub async fn send_important<M>(&self, msg: M) -> Result<(), NetError>
    where
        A: Handles<M>,
    {
        match &self.inner {
            Inner::Effect(e) => e
                .send::<A, M>(msg, Priority::Normal, true)
                .map_err(|e| match e {
                    SendError::MailboxFull(_) => NetError::Remote(RemoteError::MailboxFull),
                    SendError::NoConnection(_) => NetError::NoConnection(self.pid().node()),
                    _ => NetError::Remote(RemoteError::NoProcess),
                }),
            Inner::Local(_) => self.send(msg).map_err(|e| match e {
                SendError::MailboxFull(_) => NetError::Remote(RemoteError::MailboxFull),
                _ => NetError::Remote(RemoteError::NoProcess),
            }),
            Inner::Remote(r) => {
                let wire = crate::wire::of::<A>()?;
                let msg = A::into_message(msg);
                let (tx, rx) = oneshot::channel();
                let ack = Box::new(move |answer: Result<&[u8], NetError>| {
                    let _ = tx.send(answer.map(drop));
                });
                let mut payload = |buf: &mut Vec<u8>| (wire.encode_message)(&msg, buf);
                let to = RemoteTarget::Pid(r.pid);
                r.transport.send(
                    current::pid(),
                    to,
                    Priority::Normal,
                    &mut payload,
                    Some(ack),
                )?;
                match tokio::time::timeout(DEFAULT_CALL_TIMEOUT, rx).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(_)) => Err(NetError::NoConnection(r.pid.node())),
                    Err(_) => Err(NetError::Timeout(DEFAULT_CALL_TIMEOUT)),
                }
            }
        }
    }

    /// Pushes an already-built message of this actor onto its main queue (a pool or a
    /// router passing a message on). For a local process only: a remote one gives the
    /// message back as `NotRemote`.
    pub fn forward(&self, msg: A::Message) -> Result<(), SendError<A::Message>> {
        match &self.inner {
            Inner::Local(cell) => {
                if let Err(refused) = cell.mailbox.admit(Priority::Normal, false) {
                    return Err(refused.into_send_error(msg));
                }
                cell.push(Priority::Normal, Envelope::Message(msg));
                Ok(())
            }
            Inner::Remote(_) => Err(SendError::NotRemote(msg)),
            Inner::Effect(e) => e.send_message::<A>(msg, Priority::Normal),
        }
    }

    /// Hands a request to this process with another caller's reply token, so the
    /// process answers that caller directly (a pool or a router passing a call on). For
    /// a local process only: a remote one gives the pair back as `NotRemote`; a dead
    /// one as `NoProcess`, a full mailbox as `MailboxFull`.
    #[allow(clippy::type_complexity)]
    pub fn forward_call(
        &self,
        req: A::Call,
        reply: ReplyTo<A::Reply>,
    ) -> Result<(), SendError<(A::Call, ReplyTo<A::Reply>)>> {
        match &self.inner {
            Inner::Local(cell) => {
                if let Err(refused) = cell.mailbox.admit(Priority::Normal, false) {
                    return Err(refused.into_send_error((req, reply)));
                }
                cell.push(Priority::Normal, Envelope::Call(req, reply));
                Ok(())
            }
            Inner::Remote(_) => Err(SendError::NotRemote((req, reply))),
            Inner::Effect(e) => {
                let answer = e.call::<A>(req, Priority::Normal, DEFAULT_CALL_TIMEOUT);
                match answer {
                    Ok(value) => reply.send(value),
                    Err(err) => reply.fail(err),
                }
                Ok(())
            }
        }
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
            start: Some((self.clone(), req, Priority::Normal)),
            timeout: DEFAULT_CALL_TIMEOUT,
            map,
            wait: Wait::Idle,
        }
    }

    /// Sends an exit signal to the process, from the current process (or the node).
    /// `Reason::Kill` cannot be trapped.
    pub fn exit(&self, reason: Reason) -> bool {
        if let Inner::Effect(e) = &self.inner {
            return e.effects.exit(e.pid, reason);
        }
        let node = self.node();
        let from = current::pid().unwrap_or_else(|| node.pid_of(0));
        links::exit_signal(node, from, self.pid(), reason)
    }
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        ActorRef {
            inner: match &self.inner {
                Inner::Local(cell) => Inner::Local(cell.clone()),
                Inner::Remote(r) => Inner::Remote(r.clone()),
                Inner::Effect(e) => Inner::Effect(e.clone()),
            },
        }
    }
}

impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        self.pid() == other.pid()
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
/// It is the call's future: it sends on first poll, then waits for the reply or the
/// timeout (so a forgotten `.await` gets rustc's "consider `await`ing" hint).
#[must_use = "a request does nothing until awaited"]
pub struct Request<A: Actor, T = <A as Actor>::Reply, E = Infallible> {
    start: Option<(ActorRef<A>, A::Call, Priority)>,
    timeout: Duration,
    map: fn(A::Reply) -> Result<T, CallError<E>>,
    wait: Wait,
}

/// What a sent request waits on.
enum Wait {
    /// Not sent yet, or done.
    Idle,
    /// The reply slot of the call, and when it times out.
    Waiting {
        pending: Pending,
        at: tokio::time::Instant,
    },
}

/// The future of a [`Request`]: the request itself (the name is kept for code that
/// names it).
pub type CallFuture<A, T, E> = Request<A, T, E>;

impl<A: Actor, T, E> Request<A, T, E> {
    /// The request taken apart, unsent (see [`crate::effects::request_parts`]).
    pub(crate) fn into_parts(mut self) -> Option<crate::effects::RequestParts<A, T, E>> {
        let (target, request, priority) = self.start.take()?;
        Some(crate::effects::RequestParts {
            to: target.pid(),
            request,
            priority,
            timeout: self.timeout,
            map: self.map,
        })
    }

    /// How long to wait for the reply (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The queue the request goes to (default `Normal`).
    pub fn priority(mut self, priority: Priority) -> Self {
        if let Some((_, _, p)) = &mut self.start {
            *p = priority;
        }
        self
    }
}

impl<A: Actor, T, E> Future for Request<A, T, E> {
    type Output = Result<T, CallError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing in `self` is structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some((target, req, priority)) = this.start.take() {
            let pending = Pending::open();
            let outside = !current::inside();
            match &target.inner {
                Inner::Local(cell) => {
                    if current::is(&cell.core) {
                        close_unanswered::<A>(pending);
                        return Poll::Ready(Err(CallError::CallToSelf));
                    }
                    let envelope = Envelope::Call(req, ReplyTo::new(pending.writer()));
                    let delivered = if outside && !crate::sched::on_scheduler() {
                        cell.deliver_from_outside(priority, envelope)
                    } else {
                        cell.deliver(priority, envelope, false)
                    };
                    if let Err((refused, envelope)) = delivered {
                        if let Envelope::Call(_, reply) = envelope {
                            reply.disarm(); // nobody listens: skip the NoReply answer
                        }
                        close_unanswered::<A>(pending);
                        return Poll::Ready(Err(match refused {
                            crate::mailbox::Refused::Dead => CallError::NoProcess,
                            crate::mailbox::Refused::Full => CallError::MailboxFull,
                        }));
                    }
                }
                Inner::Remote(r) => {
                    if let Err(e) = remote_call::<A, E>(r, &req, priority, pending.writer()) {
                        close_unanswered::<A>(pending);
                        return Poll::Ready(Err(e));
                    }
                }
                Inner::Effect(e) => {
                    // Answered at once, by the harness.
                    return Poll::Ready(match e.call::<A>(req, priority, this.timeout) {
                        Ok(reply) => (this.map)(reply),
                        Err(err) => Err(err.widen()),
                    });
                }
            }
            // A call from outside that ran an idle callee's turn right here has its
            // answer already: no deadline to keep.
            if let Some(answer) = pending.try_take::<A::Reply>() {
                pending.close();
                return Poll::Ready(this.outcome(answer));
            }
            // The waker first, then the deadline: a timer firing in between finds it.
            if let Polled::Ready(answer) = pending.poll::<A::Reply>(cx.waker()) {
                pending.close();
                return Poll::Ready(this.outcome(answer));
            }
            let now = tokio::time::Instant::now();
            // A timeout too long to add waits "forever" (30 years, as tokio's).
            let at = now
                .checked_add(this.timeout)
                .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30));
            target.node().inner().call_timers.watch(pending.slot(), at);
            this.wait = Wait::Waiting { pending, at };
            return Poll::Pending;
        }
        let Wait::Waiting { pending, at } = &this.wait else {
            panic!("Request polled after completion");
        };
        let answer = match pending.poll::<A::Reply>(cx.waker()) {
            Polled::Ready(answer) => answer,
            Polled::Waiting if tokio::time::Instant::now() >= *at => {
                match pending.cancel::<A::Reply>() {
                    Some(answer) => answer,
                    None => Err(CallError::Timeout(this.timeout)),
                }
            }
            Polled::Waiting => return Poll::Pending,
        };
        Poll::Ready(this.done(answer))
    }
}

/// Gives back the slot of a call that was never delivered.
fn close_unanswered<A: Actor>(pending: Pending) {
    drop(pending.cancel::<A::Reply>());
    pending.close();
}

impl<A: Actor, T, E> Request<A, T, E> {
    /// The caller's result for an answer.
    fn outcome(&self, answer: Result<A::Reply, CallError>) -> Result<T, CallError<E>> {
        match answer {
            Ok(reply) => (self.map)(reply),
            Err(err) => Err(err.widen()),
        }
    }

    /// The call is over: its slot goes back to the pool.
    fn done(&mut self, answer: Result<A::Reply, CallError>) -> Result<T, CallError<E>> {
        if let Wait::Waiting { pending, .. } = std::mem::replace(&mut self.wait, Wait::Idle) {
            pending.close();
        }
        self.outcome(answer)
    }
}

impl<A: Actor, T, E> Drop for Request<A, T, E> {
    fn drop(&mut self) {
        // Given up while waiting: a reply already written is dropped with the request,
        // a later one by its writer.
        if let Wait::Waiting { pending, .. } = std::mem::replace(&mut self.wait, Wait::Idle) {
            close_unanswered::<A>(pending);
        }
    }
}

impl EffectRef {
    /// A typed send handed to the effects sink; a refusal gives the message back.
    fn send<A: Handles<M>, M>(
        &self,
        msg: M,
        priority: Priority,
        important: bool,
    ) -> Result<(), SendError<M>> {
        self.send_with::<A, M>(msg, priority, important, A::into_message)
    }

    /// A built message handed to the effects sink.
    fn send_message<A: Actor>(
        &self,
        msg: A::Message,
        priority: Priority,
    ) -> Result<(), SendError<A::Message>> {
        self.send_with::<A, A::Message>(msg, priority, false, |m| m)
    }

    /// Hands `msg`, made into `A`'s message by `build` only if the sink takes it, to
    /// the effects sink; a refusal gives it back.
    fn send_with<A: Actor, M>(
        &self,
        msg: M,
        priority: Priority,
        important: bool,
        build: impl Fn(M) -> A::Message,
    ) -> Result<(), SendError<M>> {
        let mut unsent = Some(msg);
        let sent = self.effects.send(SendEffect {
            to: Target::Pid(self.pid),
            actor: Some(std::any::type_name::<A>()),
            message_type: std::any::type_name::<A::Message>(),
            priority,
            important,
            message: &mut || Box::new(build(unsent.take().expect("taken once"))),
        });
        match (sent, unsent) {
            (Err(refused), Some(msg)) => Err(refused.into_send_error(msg)),
            _ => Ok(()),
        }
    }

    /// A call answered by the effects sink.
    fn call<A: Actor>(
        &self,
        req: A::Call,
        priority: Priority,
        timeout: Duration,
    ) -> Result<A::Reply, CallError> {
        let reply = self.effects.call(CallEffect {
            to: self.pid,
            actor: std::any::type_name::<A>(),
            request: Box::new(req),
            priority,
            timeout,
        })?;
        reply.downcast::<A::Reply>().map(|r| *r).map_err(|_| {
            CallError::BadRequest(format!(
                "the harness answered with another type than `{}`",
                std::any::type_name::<A::Reply>()
            ))
        })
    }
}

/// Sends a request through the target's transport; the decoded reply goes to `reply`.
fn remote_call<A: Actor, E>(
    r: &RemoteRef,
    req: &A::Call,
    priority: Priority,
    reply: SlotWriter,
) -> Result<(), CallError<E>> {
    let wire = crate::wire::of::<A>().map_err(|e| CallError::BadRequest(e.to_string()))?;
    let decode = wire.decode_reply;
    let answer = Box::new(move |answer: Result<&[u8], NetError>| {
        let result = match answer {
            Ok(bytes) => decode(bytes).map_err(|e| CallError::BadRequest(e.to_string())),
            Err(e) => Err(call_error(e)),
        };
        reply.put(result);
    });
    let mut payload = |buf: &mut Vec<u8>| (wire.encode_call)(req, buf);
    r.transport
        .call(current::pid(), r.pid, priority, &mut payload, answer)
        .map_err(|e| call_error(e).widen())
}

/// A call's error for a distribution error.
pub(crate) fn call_error(e: NetError) -> CallError {
    match e {
        NetError::NoConnection(_) | NetError::NotStarted => CallError::NoConnection,
        NetError::Remote(RemoteError::NoProcess) => CallError::NoProcess,
        NetError::Remote(RemoteError::MailboxFull) => CallError::MailboxFull,
        NetError::Remote(RemoteError::NoReply) => CallError::NoReply,
        NetError::Timeout(d) => CallError::Timeout(d),
        NetError::Busy(_) => CallError::Busy,
        e @ NetError::Remote(RemoteError::Rejected(_)) => CallError::BadRequest(e.to_string()),
        NetError::Wire(e) => CallError::BadRequest(e.to_string()),
        other => CallError::Network(other),
    }
}
