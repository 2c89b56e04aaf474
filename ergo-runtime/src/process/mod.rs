//! A process: one heap cell holding its mailbox, run state and actor, and the loop a
//! scheduler thread runs when the process has work.

pub(crate) mod core;
pub(crate) mod current;
pub(crate) mod guard;
pub(crate) mod links;
mod terminate;

pub(crate) use terminate::release as terminate_release;

use std::any::Any;
use std::cell::UnsafeCell;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use crate::actor::{Actor, ActorFuture, Step};
use crate::context::Context;
use crate::dist::RemoteError;
use crate::error::{CallError, SendError};
use crate::mailbox::{Mailbox, Pop, Priority, Pushed, Refused};

use self::core::{flag, AnyProcess, Core, Signal};
use crate::reason::Reason;
use crate::reply::ReplyTo;
use crate::sched;
use crate::system::{StateView, SystemAnswer, SystemReply, SystemRequest};

/// What travels through a mailbox.
pub(crate) enum Envelope<A: Actor> {
    Message(A::Message),
    Call(A::Call, ReplyTo<A::Reply>),
    Signal(Box<Signal>),
}

impl<A: Actor> Envelope<A> {
    /// Discards a message a dead process will never handle: callers learn at once.
    pub(crate) fn discard(self) {
        if let Envelope::Call(_, reply) = self {
            reply.fail(CallError::NoProcess);
        }
    }
}

enum Slot<A: Actor> {
    Ready(A),
    Busy(ActorFuture<A>),
    Empty,
}

/// The process cell. The mailbox comes first (`repr(C)`): what senders touch sits at
/// the front, apart from the runner's fields, and the core and the actor follow on the
/// runner's side (see [`Mailbox`]).
#[repr(C)]
pub(crate) struct Cell<A: Actor> {
    pub(crate) mailbox: Mailbox<Envelope<A>>,
    pub(crate) core: Core,
    /// The actor, or its pending async handler. Touched only by whoever holds the run
    /// state (`Running`, or `Init` for the spawner).
    slot: UnsafeCell<Slot<A>>,
}

/// What arrived while the process was suspended, in order; handled before the mailbox
/// once it is resumed. Kept in the side structure (a process is rarely suspended).
type Held<A> = std::collections::VecDeque<Envelope<A>>;

// SAFETY: the slot is only accessed by the one thread holding the run state.
unsafe impl<A: Actor> Sync for Cell<A> {}

impl<A: Actor> Cell<A> {
    pub(crate) fn new(core: Core, actor: A, limit: u32) -> Self {
        Cell {
            core,
            mailbox: Mailbox::new(limit),
            slot: UnsafeCell::new(Slot::Ready(actor)),
        }
    }

    /// A cell whose actor lives elsewhere (a harness holds it and calls its handlers):
    /// only its identity and side structure are used.
    pub(crate) fn detached(core: Core) -> Self {
        Cell {
            core,
            mailbox: Mailbox::new(0),
            slot: UnsafeCell::new(Slot::Empty),
        }
    }

    /// The actor, for the spawner during init.
    ///
    /// # Safety
    /// Only while the run state is `Init` and by the spawner.
    #[allow(clippy::mut_from_ref)] // exclusive by the run-state protocol, as documented
    pub(crate) unsafe fn actor_during_init(&self) -> &mut A {
        // SAFETY: the caller holds the `Init` state: nobody else touches the slot.
        match unsafe { &mut *self.slot.get() } {
            Slot::Ready(actor) => actor,
            _ => unreachable!("init runs before any handler"),
        }
    }

    /// Drops the actor without running `terminate` (init failed).
    ///
    /// # Safety
    /// As [`Cell::actor_during_init`].
    pub(crate) unsafe fn drop_actor(&self) {
        // SAFETY: as above.
        let slot = unsafe { &mut *self.slot.get() };
        *slot = Slot::Empty;
    }

    /// Pushes an admitted envelope (see [`Mailbox::admit`]) and schedules the process
    /// if it was idle.
    pub(crate) fn push(self: &Arc<Self>, priority: Priority, envelope: Envelope<A>) {
        current::count_send();
        let stamp = self.core.node.inner().latency_stamp();
        let pushed = if stamp == 0 {
            self.mailbox.push(priority, envelope)
        } else {
            self.mailbox.push_stamped(priority, envelope, stamp)
        };
        match pushed {
            Pushed::Schedule => self.schedule(),
            Pushed::Queued => {}
            Pushed::Dead => self.mailbox.drain_dead(Envelope::discard),
        }
    }

    /// Hands the process to the schedulers (counted as work in flight when the node
    /// follows a paused clock).
    fn schedule(self: &Arc<Self>) {
        if let Some(clock) = &self.core.node.inner().clock {
            clock.enter();
        }
        sched::schedule(self.clone());
    }

    /// Admits and pushes a call made outside any process (from `main`, a test, a tokio
    /// task). If the push wins the idle process, its turn runs right here on the
    /// caller's thread: the caller waits for the answer anyway, and neither a scheduler
    /// thread nor the caller's thread has to be woken. The turn is bounded by the
    /// budget like any other; what is left goes to the schedulers.
    pub(crate) fn deliver_from_outside(
        self: &Arc<Self>,
        priority: Priority,
        envelope: Envelope<A>,
    ) -> Result<(), (Refused, Envelope<A>)> {
        if let Err(refused) = self.mailbox.admit(priority, false) {
            return Err((refused, envelope));
        }
        let stamp = self.core.node.inner().latency_stamp();
        let pushed = if stamp == 0 {
            self.mailbox.push(priority, envelope)
        } else {
            self.mailbox.push_stamped(priority, envelope, stamp)
        };
        match pushed {
            Pushed::Schedule => self.clone().turn(),
            Pushed::Queued => {}
            Pushed::Dead => self.mailbox.drain_dead(Envelope::discard),
        }
        Ok(())
    }

    /// Admits and pushes; on refusal hands the envelope back.
    pub(crate) fn deliver(
        self: &Arc<Self>,
        priority: Priority,
        envelope: Envelope<A>,
        is_signal: bool,
    ) -> Result<(), (Refused, Envelope<A>)> {
        match self.mailbox.admit(priority, is_signal) {
            Ok(()) => {
                self.push(priority, envelope);
                Ok(())
            }
            Err(refused) => Err((refused, envelope)),
        }
    }

    /// Init succeeded: messages may run it now.
    pub(crate) fn activate(self: &Arc<Self>) {
        if self.mailbox.activate() {
            self.schedule();
        }
    }

    /// One turn on a scheduler thread.
    fn turn(self: Arc<Self>) {
        let _runtime = sched::enter_runtime(&self.core.node.inner().runtime);
        let _current = current::enter(&self.core);
        // Handlers' log lines carry the process's pid and name (built only when a
        // subscriber wants INFO).
        let span =
            tracing::info_span!("process", pid = %self.core.pid(), name = tracing::field::Empty);
        if !span.is_disabled() {
            if let Some(name) = self.core.side().and_then(|s| s.lock().name) {
                span.record("name", tracing::field::display(name));
            }
        }
        let _span = span.enter();
        sched::reset_budget();
        self.mailbox.begin_run();
        let mut ctx = Context::new(self.clone());
        loop {
            // SAFETY: we hold the `Running` state: the slot is ours alone.
            let slot = unsafe { &mut *self.slot.get() };
            if let Slot::Busy(_) = slot {
                if self.mailbox.take_woken() {
                    match self.poll_pending(slot) {
                        Polled::Pending => {}
                        Polled::Done(None) => continue,
                        Polled::Done(Some(reason)) => return self.terminate(&mut ctx, reason),
                        Polled::Crashed(crash) => return self.crash(&mut ctx, crash),
                    }
                }
                if self.mailbox.try_idle(true) {
                    continue;
                }
                return;
            }
            if sched::budget_spent() {
                return self.yield_turn();
            }
            let released = if self.core.has_flag(flag::HELD) && !self.core.has_flag(flag::SUSPENDED)
            {
                self.release_held()
            } else {
                None
            };
            let envelope = match released {
                Some(envelope) => envelope,
                None => match self.mailbox.pop() {
                    Pop::Item(envelope) => envelope,
                    Pop::Busy => return self.yield_turn(),
                    Pop::Empty => {
                        if self.mailbox.try_idle(false) {
                            continue;
                        }
                        return;
                    }
                },
            };
            if self.core.has_flag(flag::SUSPENDED) && self.waits_while_suspended(&envelope) {
                self.hold(envelope);
                continue;
            }
            sched::reduce();
            let Slot::Ready(actor) = slot else {
                unreachable!("the actor is present between handlers")
            };
            let step = match guard::run(|| self.dispatch(actor, &mut ctx, envelope)) {
                Ok(step) => step,
                Err(crash) => return self.crash(&mut ctx, crash),
            };
            match step {
                Step::Continue => {
                    if let Some(reason) = ctx.take_stop() {
                        return self.terminate(&mut ctx, reason);
                    }
                }
                Step::Stop(reason) => return self.terminate(&mut ctx, reason),
                Step::Await(start) => {
                    let Slot::Ready(actor) = std::mem::replace(slot, Slot::Empty) else {
                        unreachable!()
                    };
                    // A stop asked for before awaiting takes effect when the await ends.
                    let mut async_ctx = Context::new(self.clone());
                    if let Some(reason) = ctx.take_stop() {
                        async_ctx.stop(reason);
                    }
                    let future = start(actor, async_ctx);
                    *slot = Slot::Busy(future);
                    self.core.set_flag(flag::AWAITING, true);
                    self.mailbox.wake_in_turn();
                }
            }
        }
    }

    /// Keeps an envelope that waits while the process is suspended.
    fn hold(&self, envelope: Envelope<A>) {
        let mut side = self.core.side_or_init().lock();
        let held = side
            .held
            .get_or_insert_with(|| Box::new(Held::<A>::new()))
            .downcast_mut::<Held<A>>()
            .expect("held envelopes are of the process's actor type");
        held.push_back(envelope);
        self.core.set_flag(flag::HELD, true);
    }

    /// The oldest held envelope, once resumed.
    fn release_held(&self) -> Option<Envelope<A>> {
        let mut side = self.core.side()?.lock();
        let held = side.held.as_mut()?.downcast_mut::<Held<A>>()?;
        let envelope = held.pop_front();
        if held.is_empty() {
            side.held = None;
            self.core.set_flag(flag::HELD, false);
        }
        envelope
    }

    /// Takes every held envelope (the process ends).
    pub(crate) fn take_held(&self) -> Held<A> {
        if !self.core.has_flag(flag::HELD) {
            return Held::<A>::new();
        }
        self.core.set_flag(flag::HELD, false);
        let taken = self.core.side().and_then(|s| s.lock().held.take());
        taken
            .and_then(|b| b.downcast::<Held<A>>().ok())
            .map_or_else(Held::<A>::new, |b| *b)
    }

    /// Polls a pending async handler.
    fn poll_pending(self: &Arc<Self>, slot: &mut Slot<A>) -> Polled {
        let Slot::Busy(future) = slot else {
            return Polled::Done(None);
        };
        let waker = Waker::from(self.clone());
        let mut cx = TaskContext::from_waker(&waker);
        match guard::run(|| future.as_mut().poll(&mut cx)) {
            Ok(Poll::Pending) => Polled::Pending,
            Ok(Poll::Ready((actor, mut ctx))) => {
                *slot = Slot::Ready(actor);
                self.core.set_flag(flag::AWAITING, false);
                Polled::Done(ctx.take_stop())
            }
            Err(crash) => {
                // The actor was inside the future and is gone with it: what it held
                // (reply tokens of deferred calls) goes with the crash's reason.
                let old = std::mem::replace(slot, Slot::Empty);
                guard::exiting(&crash.reason, || {
                    if let Err(again) = guard::run(|| drop(old)) {
                        again.log("dropping the actor", self.core.pid(), self.core.name());
                    }
                });
                self.core.set_flag(flag::AWAITING, false);
                Polled::Crashed(crash)
            }
        }
    }

    /// While suspended, everything but system requests and signals that end the
    /// process waits (as for a suspended OTP process, whose exit messages wait too).
    fn waits_while_suspended(&self, envelope: &Envelope<A>) -> bool {
        match envelope {
            Envelope::Message(_) | Envelope::Call(..) => true,
            Envelope::Signal(signal) => match **signal {
                Signal::Down(_) => true,
                Signal::Exit(_) => self.core.has_flag(flag::TRAP_EXIT),
                Signal::Kill | Signal::Stop(_) | Signal::System(..) => false,
            },
        }
    }

    fn system(&self, actor: &mut A, request: SystemRequest, answer: SystemAnswer) -> Step<A> {
        match request {
            SystemRequest::GetState => answer(SystemReply::State(state_view(actor))),
            SystemRequest::GetStatus => {
                let parent = self.core.side().and_then(|s| s.lock().parent);
                answer(SystemReply::Status {
                    state: state_view(actor),
                    suspended: self.core.has_flag(flag::SUSPENDED),
                    parent,
                    name: self.core.name(),
                })
            }
            SystemRequest::Suspend => {
                self.core.set_flag(flag::SUSPENDED, true);
                answer(SystemReply::Ok);
            }
            SystemRequest::Resume => {
                self.core.set_flag(flag::SUSPENDED, false);
                answer(SystemReply::Ok);
            }
            SystemRequest::Terminate(reason) => {
                answer(SystemReply::Ok);
                return Step::Stop(reason);
            }
        }
        Step::Continue
    }

    fn dispatch(&self, actor: &mut A, ctx: &mut Context<A>, envelope: Envelope<A>) -> Step<A> {
        match envelope {
            Envelope::Message(msg) => actor.handle_message(ctx, msg),
            Envelope::Call(req, reply) => actor.handle_call(ctx, req, reply),
            Envelope::Signal(signal) => match *signal {
                Signal::Kill => Step::Stop(Reason::Kill),
                Signal::System(request, answer) => self.system(actor, request, answer),
                Signal::Stop(reason) => Step::Stop(reason),
                Signal::Exit(exit) => {
                    let from_parent = self
                        .core
                        .side()
                        .is_some_and(|s| s.lock().parent == Some(exit.from));
                    if self.core.has_flag(flag::TRAP_EXIT) && !from_parent {
                        actor.handle_exit(ctx, exit)
                    } else if exit.reason == Reason::Normal {
                        Step::Continue
                    } else {
                        Step::Stop(exit.reason)
                    }
                }
                Signal::Down(down) => {
                    let mine = self.core.side().is_some_and(|s| {
                        let mut side = s.lock();
                        side.watching.remove(&down.monitor).is_some()
                    });
                    if mine {
                        actor.handle_down(ctx, down)
                    } else {
                        Step::Continue // demonitored meanwhile
                    }
                }
            },
        }
    }

    fn yield_turn(self: Arc<Self>) {
        self.mailbox.yield_state();
        if let Some(clock) = &self.core.node.inner().clock {
            clock.enter();
        }
        sched::reschedule(self);
    }
}

impl<A: Actor> Wake for Cell<A> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match self.mailbox.wake() {
            Pushed::Schedule => self.schedule(),
            Pushed::Queued | Pushed::Dead => {}
        }
    }
}

impl<A: Actor> sched::Runnable for Cell<A> {
    fn may_hand_off(&self) -> bool {
        !self.core.has_flag(flag::SLOW)
    }

    fn slow_hand_off(&self) {
        self.core.demote();
    }

    fn run(self: Arc<Self>) {
        if self.core.has_flag(flag::SLOW) && sched::on_scheduler() {
            self.core.count_demoted_turn();
        }
        let inner = self.core.node.inner();
        let timed = inner
            .run_time_accounting
            .load(std::sync::atomic::Ordering::Relaxed);
        if !timed && inner.clock.is_none() {
            return self.turn();
        }
        let clock = inner.clock.clone();
        let this = self.clone();
        let start = std::time::Instant::now();
        self.turn();
        if timed {
            this.core.add_run_time(start.elapsed().as_nanos() as u64);
        }
        if let Some(clock) = clock {
            clock.leave();
        }
    }
}

impl<A: Actor> AnyProcess for Cell<A> {
    fn core(&self) -> &Core {
        &self.core
    }

    fn signal(self: Arc<Self>, signal: Signal) -> bool {
        let priority = signal.priority();
        self.deliver(priority, Envelope::Signal(Box::new(signal)), true)
            .is_ok()
    }

    fn send_any(
        self: Arc<Self>,
        msg: Box<dyn Any + Send>,
        priority: Priority,
    ) -> Result<(), SendError<Box<dyn Any + Send>>> {
        if let Err(refused) = self.mailbox.admit(priority, false) {
            return Err(refused.into_send_error(msg));
        }
        let msg = A::message_from_any(msg).map_err(SendError::Unhandled)?;
        self.push(priority, Envelope::Message(msg));
        Ok(())
    }

    fn call_any(
        self: Arc<Self>,
        req: Box<dyn Any + Send>,
        want: std::any::TypeId,
        priority: Priority,
        reply: self::core::AnyReply,
    ) -> Result<(), SendError<Box<dyn Any + Send>>> {
        if current::is(&self.core) {
            reply(Err(CallError::CallToSelf));
            return Ok(());
        }
        if let Err(refused) = self.mailbox.admit(priority, false) {
            return Err(refused.into_send_error(req));
        }
        let call = A::call_from_any(req).map_err(SendError::Unhandled)?;
        let reply_to = ReplyTo::from_fn(move |r: Result<A::Reply, CallError>| {
            reply(r.map(|v| A::reply_into_any(v, want)))
        });
        self.push(priority, Envelope::Call(call, reply_to));
        Ok(())
    }

    fn deliver_wire(
        self: Arc<Self>,
        payload: &[u8],
        priority: Priority,
    ) -> Result<(), RemoteError> {
        let wire = crate::wire::of::<A>().map_err(|e| RemoteError::Rejected(e.to_string()))?;
        self.mailbox
            .admit(priority, false)
            .map_err(refused_remotely)?;
        let msg =
            (wire.decode_message)(payload).map_err(|e| RemoteError::Rejected(e.to_string()))?;
        self.push(priority, Envelope::Message(msg));
        Ok(())
    }

    fn deliver_wire_any(
        self: Arc<Self>,
        kind: &str,
        payload: &[u8],
        priority: Priority,
    ) -> Result<(), RemoteError> {
        let msg = match A::message_from_wire(kind, payload) {
            Some(decoded) => decoded.map_err(|e| RemoteError::Rejected(e.to_string()))?,
            None => {
                return Err(RemoteError::Rejected(format!(
                    "`{}` does not handle `{kind}`",
                    std::any::type_name::<A>()
                )))
            }
        };
        self.mailbox
            .admit(priority, false)
            .map_err(refused_remotely)?;
        self.push(priority, Envelope::Message(msg));
        Ok(())
    }

    fn call_wire(
        self: Arc<Self>,
        payload: &[u8],
        priority: Priority,
        reply: self::core::WireReply,
    ) -> Result<(), RemoteError> {
        let wire = crate::wire::of::<A>().map_err(|e| RemoteError::Rejected(e.to_string()))?;
        self.mailbox
            .admit(priority, false)
            .map_err(refused_remotely)?;
        let req = (wire.decode_call)(payload).map_err(|e| RemoteError::Rejected(e.to_string()))?;
        let encode_reply = wire.encode_reply;
        let reply_to = ReplyTo::from_fn(move |r: Result<A::Reply, CallError>| {
            reply(match r {
                Ok(value) => {
                    let mut buf = Vec::new();
                    encode_reply(&value, &mut buf)
                        .map(|()| buf)
                        .map_err(|e| RemoteError::Rejected(e.to_string()))
                }
                Err(CallError::NoReply) => Err(RemoteError::NoReply),
                Err(_) => Err(RemoteError::NoProcess),
            })
        });
        self.push(priority, Envelope::Call(req, reply_to));
        Ok(())
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn mailbox_stats(&self) -> (u8, [u32; 4], u64) {
        (
            self.mailbox.state(),
            self.mailbox.lengths(),
            self.mailbox.popped(),
        )
    }

    fn oldest_stamps(&self) -> [u32; 4] {
        self.mailbox.oldest_stamps()
    }

    fn kind(&self) -> &'static str {
        std::any::type_name::<A>()
    }
}

/// What polling a pending async handler gave.
enum Polled {
    /// Still pending.
    Pending,
    /// Done; the process stops if a reason is given.
    Done(Option<Reason>),
    /// It panicked: the process crashes.
    Crashed(guard::Crash),
}

fn refused_remotely(refused: Refused) -> RemoteError {
    match refused {
        Refused::Dead => RemoteError::NoProcess,
        Refused::Full => RemoteError::MailboxFull,
    }
}

/// What a system request shows of an actor's state.
fn state_view<A: Actor>(actor: &A) -> StateView {
    StateView {
        debug: actor.debug_state(),
        value: actor.state_value(),
    }
}
