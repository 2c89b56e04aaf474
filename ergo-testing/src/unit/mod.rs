//! Unit mode: one actor's handlers run on the test's thread with a recording context —
//! no node processes, no scheduler threads, virtual time.
//!
//! [`Unit`] holds the actor. The test drives it ([`Unit::send`], [`Unit::cast`],
//! [`Unit::call`], [`Unit::exit`], [`Unit::down`], [`Unit::advance`] for timers) and
//! asserts on what it did, in the style of Go Ergo's `testing/unit`:
//! `unit.should_send().to(&ledger).message(..).once()`, [`Unit::should_spawn`],
//! [`Unit::should_call`], [`Unit::should_stop_with`], ... Everything the actor asks of
//! the runtime is recorded as an [`Effect`] instead of done:
//!
//! - sends and calls through handles the harness gave out ([`Unit::stub`], and the
//!   handles of spawned children) and untyped `Context::send`;
//! - spawns (the child is not run: its handle is a stub), links, monitors, exit
//!   signals, names, aliases;
//! - timers (`send_after`, `send_every`): they wait in virtual time until
//!   [`Unit::advance`] passes their instant, then their message is sent — to the actor
//!   itself, it is handled at once;
//! - `tracing` log lines written by handlers, and the stop reason;
//! - events: the harness's node has a real event registry; values the actor publishes
//!   to a watched event ([`Unit::watch_event`]) are recorded, and the test delivers
//!   values to an actor that subscribed with [`Unit::publish`].
//!
//! Calls the actor makes are answered at once: by a responder the test scripted
//! ([`Unit::answer`]), by an injected failure ([`Unit::fail_next_call`],
//! [`Unit::timeout_next_call`]), or, if neither, with `CallError::Timeout` (virtual
//! time moves by the call's timeout, as if nobody answered). Spawns succeed unless a
//! failure is injected ([`Unit::fail_next_spawn`]). Async handlers run to completion
//! on the test's thread.
//!
//! Messages to the actor itself (its own sends, fired timers, the test's casts) go to
//! its mailbox and are handled before the driving method returns, in order.
//!
//! ```
//! use std::time::Duration;
//! use ergo::prelude::*;
//! use ergo::testing::unit::{Capture, Unit};
//!
//! #[derive(Default)]
//! struct Ledger;
//!
//! #[actor]
//! impl Ledger {
//!     #[handle_cast]
//!     fn record(&mut self, amount: i64) {}
//!
//!     #[handle_call]
//!     fn approve(&mut self, amount: i64) -> bool { true }
//! }
//!
//! struct Account {
//!     balance: i64,
//!     ledger: ActorRef<Ledger>,
//! }
//!
//! #[actor]
//! impl Account {
//!     #[handle_call]
//!     fn deposit(&mut self, amount: i64) -> i64 {
//!         self.balance += amount;
//!         let _ = self.ledger.record(amount);
//!         self.balance
//!     }
//!
//!     /// Asks the ledger first (an async handler awaiting a call).
//!     #[handle_call]
//!     async fn withdraw(&mut self, amount: i64) -> Result<i64, String> {
//!         match self.ledger.approve(amount).await {
//!             Ok(true) => {
//!                 self.balance -= amount;
//!                 Ok(self.balance)
//!             }
//!             Ok(false) => Err("refused".into()),
//!             Err(e) => Err(e.to_string()),
//!         }
//!     }
//!
//!     /// Checks the balance again in an hour.
//!     #[handle_cast]
//!     fn audit_later(&mut self, ctx: &mut Context<Self>) {
//!         ctx.send_after(&ctx.myself(), Audit, Duration::from_secs(3600));
//!     }
//!
//!     #[handle_info(local)]
//!     fn audit(&mut self, ctx: &mut Context<Self>, _: Audit) {
//!         if self.balance < 0 {
//!             ctx.stop(Reason::error("overdrawn"));
//!         }
//!     }
//! }
//!
//! #[derive(Debug)]
//! struct Audit;
//!
//! // The ledger is a stub: what the account sends it is recorded, calls are scripted.
//! let mut unit = Unit::new_with(|stubs| Account { balance: 0, ledger: stubs.stub() });
//! let ledger = unit.actor().ledger.clone();
//! unit.answer(&ledger, |req| match req {
//!     LedgerCall::Approve(n) => Ok(LedgerReply::Approve(*n <= 100)),
//! });
//! unit.init().unwrap();
//!
//! assert_eq!(unit.call(|me| me.deposit(30)), Ok(30));
//! unit.should_send().to(&ledger).message(LedgerMessage::Record(30)).once();
//!
//! assert_eq!(unit.call(|me| me.withdraw(50)), Ok(-20));
//! unit.should_call().to(&ledger).request(ledger.approve(50)).once();
//!
//! // An injected failure reaches the handler as the caller's error.
//! unit.timeout_next_call(&ledger);
//! assert!(unit.call(|me| me.withdraw(1)).is_err());
//!
//! // Timers wait in virtual time.
//! let timer = Capture::new();
//! unit.cast(|me| me.audit_later());
//! unit.should_arm_timer().after(Duration::from_secs(3600)).capture(&timer).once();
//! unit.advance(Duration::from_secs(3599));
//! unit.should_not_stop();
//! unit.advance(Duration::from_secs(1));
//! unit.should_stop_with(Reason::error("overdrawn"));
//! # let _ = timer.get();
//! ```

mod assert;
mod capture;
mod events;
mod exec;
mod log;
mod record;

use std::any::{type_name, Any};
use std::sync::Arc;
use std::time::Duration;

pub use ergo_runtime::effects::Refusal;
use ergo_runtime::effects::{self, Effects};
use ergo_runtime::{
    Actor, ActorRef, CallError, Context, Down, Exit, Handles, NoInitArgs, Node, Pid, Reason,
    ReplyTo, Request, SendError, SpawnError, Step,
};
use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};

pub use assert::{
    message_of, Should, ShouldCall, ShouldCallTo, ShouldLog, ShouldMonitor, ShouldPublish,
    ShouldSend, ShouldSendTo, ShouldSendUntyped, ShouldSpawn, ShouldTimer, Times,
};
pub use capture::Capture;
pub use events::{EventSink, EventWatch, SinkMessage};
pub use record::{Armed, Called, Effect, LogLine, Sent, Spawned, ToSelf};

use record::Recorder;

/// Messages to itself an actor may handle in a row before the harness calls it a loop.
const MAILBOX_ROUNDS: usize = 10_000;

/// One actor under test, run by hand (see the [module docs](self)).
pub struct Unit<A: Actor> {
    actor: Option<A>,
    ctx: Option<Context<A>>,
    recorder: Arc<Recorder>,
    me: ActorRef<A>,
    parent: Pid,
    logs: tracing::Dispatch,
    stopped: Option<Reason>,
    started: bool,
    // Declared last: dropped after the node and the handles that hold its handle.
    runtime: Option<tokio::runtime::Runtime>,
}

impl<A: Actor> Unit<A> {
    /// A harness holding `actor`, not yet initialised: inject failures and script
    /// answers, then call [`Unit::init`] (or [`Unit::init_with`]).
    pub fn new(actor: A) -> Self {
        Unit::new_with(|_| actor)
    }

    /// As [`Unit::new`], for an actor made with stubs of the processes it is given
    /// (`Unit::new_with(|stubs| Account::new(stubs.stub(), stubs.stub()))`); the
    /// actor's fields hold their handles.
    pub fn new_with(make: impl FnOnce(&Stubs) -> A) -> Self {
        // The node's tokio handle backs what code on it spawns; nothing is run on it by
        // the harness. Inside a runtime (a `#[tokio::test]`) that runtime's is used.
        let (runtime, handle) = match tokio::runtime::Handle::try_current() {
            Ok(handle) => (None, handle),
            Err(_) => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the harness");
                let handle = rt.handle().clone();
                (Some(rt), handle)
            }
        };
        let node = Node::builder("unit@localhost")
            .detached(handle)
            .expect("a valid node name");
        let parent = effects::new_pid(&node);
        let me_pid = effects::new_pid(&node);
        let recorder = Arc::new(Recorder::new(node.clone(), me_pid));
        let sink: Arc<dyn Effects> = recorder.clone();
        let ctx = effects::context::<A>(&node, me_pid, sink.clone());
        let me = effects::handle::<A>(&node, me_pid, sink);
        let actor = make(&Stubs(recorder.clone()));
        Unit {
            actor: Some(actor),
            ctx: Some(ctx),
            logs: log::dispatch(recorder.clone()),
            recorder,
            me,
            parent,
            stopped: None,
            started: false,
            runtime,
        }
    }

    /// A harness with `actor` initialised (its init takes no arguments). Panics if
    /// init fails (use [`Unit::new`] and [`Unit::init`] to test that).
    pub fn start(actor: A) -> Self
    where
        A::Args: NoInitArgs,
    {
        let mut unit = Unit::new(actor);
        if let Err(reason) = unit.init() {
            panic!("unit mode: init of {} failed: {reason}", type_name::<A>());
        }
        unit
    }

    /// A harness with `actor` initialised with `args`. Panics if init fails.
    pub fn start_with(actor: A, args: A::Args) -> Self {
        let mut unit = Unit::new(actor);
        if let Err(reason) = unit.init_with(args) {
            panic!("unit mode: init of {} failed: {reason}", type_name::<A>());
        }
        unit
    }

    /// Runs the actor's init (no arguments). An error stops the actor with it (no
    /// `terminate`, as a failed spawn leaves nothing behind).
    pub fn init(&mut self) -> Result<(), Reason>
    where
        A::Args: NoInitArgs,
    {
        self.init_with(A::Args::none())
    }

    /// Runs the actor's init with `args`.
    pub fn init_with(&mut self, args: A::Args) -> Result<(), Reason> {
        assert!(!self.started, "unit mode: init runs once");
        self.started = true;
        let (mut actor, mut ctx) = self.take();
        let outcome = self.guarded(|| exec::block_on(actor.init(&mut ctx, args)));
        let result = match outcome {
            Ok(result) => result,
            Err(panic) => Err(panic),
        };
        self.put(actor, ctx);
        match &result {
            Ok(()) => self.drain(),
            Err(reason) => {
                self.stopped = Some(reason.clone());
                self.recorder.record(Effect::Stop(reason.clone()));
            }
        }
        result
    }

    // ---- driving ----

    /// Delivers a message (a cast enum value, or any type the actor handles with
    /// `#[handle_info]`, such as an `Event<M>` of an event it subscribed to), then
    /// what it sent itself.
    pub fn send<M>(&mut self, msg: M) -> &mut Self
    where
        A: Handles<M>,
    {
        let msg = A::into_message(msg);
        self.run(|actor, ctx| actor.handle_message(ctx, msg));
        self.drain();
        self
    }

    /// Casts through the actor's typed handle (`unit.cast(|me| me.deposit(5))`): the
    /// message goes to its mailbox and is handled.
    pub fn cast<M>(
        &mut self,
        cast: impl FnOnce(&ActorRef<A>) -> Result<(), SendError<M>>,
    ) -> &mut Self {
        let me = self.me.clone();
        if self.outside(|| cast(&me)).is_err() {
            panic!("unit mode: the cast was refused");
        }
        self
    }

    /// Runs `world` as the world outside the actor (code using [`Unit::node`] or the
    /// actor's handle: publishing to an event it subscribed to, sending it a message):
    /// what reaches the actor is input, not its effects, and it handles it before
    /// this returns.
    pub fn outside<T>(&mut self, world: impl FnOnce() -> T) -> T {
        self.recorder.state.lock().driving = true;
        let out = world();
        self.recorder.state.lock().driving = false;
        self.drain();
        out
    }

    /// Calls through the actor's typed handle (`unit.call(|me| me.balance())`) and
    /// returns the reply the handler gave. Panics if the handler kept the reply token
    /// without answering (use [`Unit::call_later`]).
    pub fn call<T, E>(
        &mut self,
        request: impl FnOnce(&ActorRef<A>) -> Request<A, T, E>,
    ) -> Result<T, CallError<E>> {
        let pending = self.call_later(request);
        match pending.reply() {
            Some(result) => result,
            None => panic!(
                "unit mode: the call was not answered by its handler (a deferred reply: use \
                 `call_later` and look at its reply later)"
            ),
        }
    }

    /// Calls through the actor's typed handle; the reply may come later (a handler
    /// that keeps its `ReplyTo` and answers from another handler).
    pub fn call_later<T, E>(
        &mut self,
        request: impl FnOnce(&ActorRef<A>) -> Request<A, T, E>,
    ) -> PendingReply<A, T, E> {
        let parts = effects::request_parts(request(&self.me)).expect("an unsent request");
        let slot: ReplySlot<A> = Arc::default();
        let answer = slot.clone();
        let reply = ReplyTo::from_fn(move |result| *answer.lock() = Some(result));
        self.run(|actor, ctx| actor.handle_call(ctx, parts.request, reply));
        self.drain();
        PendingReply {
            slot,
            map: parts.map,
        }
    }

    /// Delivers an exit signal from `from`, as the runtime does: handled by
    /// `handle_exit` while the actor traps exits (except from its parent); otherwise a
    /// `Normal` reason is ignored and any other stops the actor with it.
    pub fn exit(&mut self, from: Pid, reason: Reason) -> &mut Self {
        let trapping = self.ctx_ref().is_trapping_exits();
        if reason == Reason::Kill {
            self.finish(Reason::Kill);
        } else if trapping && from != self.parent {
            self.run(|actor, ctx| actor.handle_exit(ctx, Exit { from, reason }));
            self.drain();
        } else if reason != Reason::Normal {
            self.finish(reason);
        }
        self
    }

    /// Delivers a monitor's `Down` to `handle_down`, if the actor holds that monitor
    /// (a demonitored one is dropped, as the runtime does).
    pub fn down(&mut self, down: Down) -> &mut Self {
        if self.recorder.state.lock().monitors.remove(&down.monitor) {
            self.run(|actor, ctx| actor.handle_down(ctx, down));
            self.drain();
        }
        self
    }

    /// Moves virtual time forward by `by`, firing the timers due on the way in order
    /// (each at its instant, a periodic one every period); messages they send to the
    /// actor are handled as they fire.
    pub fn advance(&mut self, by: Duration) -> &mut Self {
        let until = self.now() + by;
        while self.stopped.is_none() && self.fire_next_before(until) {}
        self.recorder.state.lock().now = until;
        self
    }

    /// Moves virtual time to the next timer and fires it; false if none is armed.
    pub fn fire_next_timer(&mut self) -> bool {
        self.fire_next_before(Duration::MAX)
    }

    /// Stops the actor as a supervisor would (`terminate` runs with `reason`).
    pub fn stop(&mut self, reason: Reason) {
        self.finish(reason);
    }

    // ---- scripting what the actor meets ----

    /// A handle to a stand-in process of actor type `B`: what the actor sends or calls
    /// through it is recorded (and calls answered as scripted). Hand it to the actor
    /// in a message, its init arguments or its state.
    pub fn stub<B: Actor>(&self) -> ActorRef<B> {
        Stubs(self.recorder.clone()).stub()
    }

    /// Answers every call the actor makes to `to` with `answer` (a reply of `B`'s
    /// reply enum, or an error). Replaces an earlier responder.
    pub fn answer<B: Actor>(
        &mut self,
        to: &ActorRef<B>,
        mut answer: impl FnMut(&B::Call) -> Result<B::Reply, CallError> + Send + 'static,
    ) -> &mut Self {
        let responder: record::Responder = Box::new(move |req: &(dyn Any + Send)| {
            let req = req
                .downcast_ref::<B::Call>()
                .expect("a request of the target's type");
            answer(req).map(|reply| Box::new(reply) as Box<dyn Any + Send>)
        });
        self.recorder
            .state
            .lock()
            .responders
            .insert(to.pid(), responder);
        self
    }

    /// The next call the actor makes to `to` fails with `err` (then calls are answered
    /// as before).
    pub fn fail_next_call<B: Actor>(&mut self, to: &ActorRef<B>, err: CallError) -> &mut Self {
        self.push_call_failure(to.pid(), Some(err))
    }

    /// The next call the actor makes to `to` times out (`CallError::Timeout` with the
    /// call's timeout; virtual time moves by it).
    pub fn timeout_next_call<B: Actor>(&mut self, to: &ActorRef<B>) -> &mut Self {
        self.push_call_failure(to.pid(), None)
    }

    /// The next spawn of an actor of type `B` fails with `err`.
    pub fn fail_next_spawn<B: Actor>(&mut self, err: SpawnError) -> &mut Self {
        self.recorder
            .state
            .lock()
            .spawn_failures
            .push_back((Some(type_name::<B>()), err));
        self
    }

    /// The next send the actor makes to `to` is refused (the sender gets its message
    /// back in the matching `SendError`; a refused send is not recorded).
    pub fn refuse_next_send(&mut self, to: Pid, refusal: Refusal) -> &mut Self {
        self.recorder
            .state
            .lock()
            .send_refusals
            .entry(to)
            .or_default()
            .push_back(refusal);
        self
    }

    /// Marks a process the harness made as ended (`ActorRef::is_alive` is false).
    pub fn kill_stub(&mut self, pid: Pid) -> &mut Self {
        self.recorder.state.lock().alive.insert(pid, false);
        self
    }

    /// Makes `name` taken: the actor's `Context::register(name)` fails.
    pub fn take_name(&mut self, name: &str) -> &mut Self {
        self.recorder
            .state
            .lock()
            .taken_names
            .insert(ergo_runtime::Atom::new(name));
        self
    }

    // ---- looking ----

    /// The actor's state.
    pub fn actor(&self) -> &A {
        self.actor
            .as_ref()
            .expect("the actor is present between handlers")
    }

    /// The actor's state, to change it.
    pub fn actor_mut(&mut self) -> &mut A {
        self.actor
            .as_mut()
            .expect("the actor is present between handlers")
    }

    /// The actor's pid.
    pub fn pid(&self) -> Pid {
        self.recorder.me
    }

    /// A handle to the actor (what `Context::myself` gives it).
    pub fn me(&self) -> &ActorRef<A> {
        &self.me
    }

    /// The pid of the actor's parent (its exit signals cannot be trapped).
    pub fn parent(&self) -> Pid {
        self.parent
    }

    /// The node the actor sees as its own (`Context::node`): set env on it before init.
    pub fn node(&self) -> &Node {
        &self.recorder.node
    }

    /// Virtual time since the harness was made.
    pub fn now(&self) -> Duration {
        self.recorder.state.lock().now
    }

    /// Why the actor stopped, if it did.
    pub fn stopped(&self) -> Option<&Reason> {
        self.stopped.as_ref()
    }

    /// Everything the actor did since the start (or the last [`Unit::clear`]). The
    /// guard locks the harness: drop it before driving or asserting again.
    pub fn effects(&self) -> MappedMutexGuard<'_, [Effect]> {
        MutexGuard::map(self.recorder.state.lock(), |s| s.effects.as_mut_slice())
    }

    /// Forgets the effects recorded so far (scripts, timers and time stay).
    pub fn clear(&mut self) -> &mut Self {
        self.recorder.state.lock().effects.clear();
        self
    }

    /// The timers armed and not yet fired or cancelled: (id, virtual instant due).
    pub fn timers(&self) -> Vec<(u64, Duration)> {
        let state = self.recorder.state.lock();
        let mut timers: Vec<_> = state.timers.iter().map(|t| (t.id, t.due)).collect();
        timers.sort_by_key(|t| (t.1, t.0));
        timers
    }

    // ---- internals ----

    fn ctx_ref(&self) -> &Context<A> {
        self.ctx
            .as_ref()
            .expect("the context is present between handlers")
    }

    fn push_call_failure(&mut self, to: Pid, err: Option<CallError>) -> &mut Self {
        self.recorder
            .state
            .lock()
            .call_failures
            .entry(to)
            .or_default()
            .push_back(err);
        self
    }

    fn take(&mut self) -> (A, Context<A>) {
        if let Some(reason) = &self.stopped {
            panic!("unit mode: the actor has stopped ({reason}); it handles nothing more");
        }
        (
            self.actor
                .take()
                .expect("the actor is present between handlers"),
            self.ctx
                .take()
                .expect("the context is present between handlers"),
        )
    }

    fn put(&mut self, actor: A, ctx: Context<A>) {
        self.actor = Some(actor);
        self.ctx = Some(ctx);
    }

    /// Runs `f` under the log capture and catches a panic as the runtime does
    /// (`Reason::Panic` with its message).
    fn guarded<T>(&self, f: impl FnOnce() -> T) -> Result<T, Reason> {
        let _runtime = self.runtime.as_ref().map(|rt| rt.enter());
        tracing::dispatcher::with_default(&self.logs, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned());
                Reason::Panic(text)
            })
        })
    }

    /// Runs one handler (sync, or async to completion) and applies its outcome.
    fn run(&mut self, handler: impl FnOnce(&mut A, &mut Context<A>) -> Step<A>) {
        let (mut actor, mut ctx) = self.take();
        let step = self.guarded(|| handler(&mut actor, &mut ctx));
        let stop = match step {
            Err(panic) => Some(panic),
            Ok(Step::Continue) => effects::take_stop(&mut ctx),
            Ok(Step::Stop(reason)) => Some(reason),
            Ok(Step::Await(start)) => {
                let early = effects::take_stop(&mut ctx);
                match self.guarded(move || exec::block_on(start(actor, ctx))) {
                    Ok((a, mut c)) => {
                        let stop = effects::take_stop(&mut c).or(early);
                        actor = a;
                        ctx = c;
                        stop
                    }
                    Err(panic) => {
                        // The actor was inside the future and went with it.
                        self.stopped = Some(panic.clone());
                        self.recorder.record(Effect::Stop(panic));
                        return;
                    }
                }
            }
        };
        self.put(actor, ctx);
        if let Some(reason) = stop {
            self.finish(reason);
        }
    }

    /// Ends the actor: `terminate` runs, the stop is recorded.
    fn finish(&mut self, reason: Reason) {
        if self.stopped.is_some() {
            return;
        }
        let (mut actor, mut ctx) = self.take();
        let _ = self.guarded(|| actor.terminate(&mut ctx, &reason));
        self.put(actor, ctx);
        self.recorder.record(Effect::Stop(reason.clone()));
        self.stopped = Some(reason);
    }

    /// Handles what the actor's mailbox holds (its own sends, fired timers, casts).
    fn drain(&mut self) {
        for _ in 0..MAILBOX_ROUNDS {
            if self.stopped.is_some() {
                self.recorder.state.lock().mailbox.clear();
                return;
            }
            let Some(next) = self.recorder.state.lock().mailbox.pop_front() else {
                return;
            };
            let msg = match next.downcast::<A::Message>() {
                Ok(msg) => *msg,
                Err(other) => match A::message_from_any(other) {
                    Ok(msg) => msg,
                    Err(_) => continue, // a type it does not handle: dropped, as a node does
                },
            };
            self.run(|actor, ctx| actor.handle_message(ctx, msg));
        }
        panic!("unit mode: the actor sent itself messages {MAILBOX_ROUNDS} times in a row");
    }

    /// Fires the earliest timer due at or before `until`; false if there is none.
    fn fire_next_before(&mut self, until: Duration) -> bool {
        let (id, fire) = {
            let mut state = self.recorder.state.lock();
            let Some(i) = (0..state.timers.len())
                .filter(|&i| state.timers[i].due <= until)
                .min_by_key(|&i| (state.timers[i].due, state.timers[i].id))
            else {
                return false;
            };
            let due = state.timers[i].due;
            state.now = state.now.max(due);
            let timer = &mut state.timers[i];
            let (id, fire) = (timer.id, timer.fire.take());
            match timer.period {
                Some(period) => timer.due += period.max(Duration::from_nanos(1)),
                None => {
                    state.timers.remove(i);
                    state.finished.insert(id);
                }
            }
            (id, fire)
        };
        // Sent outside the lock: the send comes back to the recorder.
        let kept = fire.and_then(|mut fire| fire().then_some(fire));
        {
            let mut state = self.recorder.state.lock();
            if let Some(timer) = state.timers.iter_mut().find(|t| t.id == id) {
                match kept {
                    // A periodic timer keeps its message for the next period.
                    Some(fire) => timer.fire = Some(fire),
                    // Its target is gone: it ends.
                    None => {
                        state.timers.retain(|t| t.id != id);
                        state.finished.insert(id);
                    }
                }
            }
        }
        self.drain();
        true
    }
}

impl<A: Actor> Drop for Unit<A> {
    fn drop(&mut self) {
        // Inside an async test a runtime may not be dropped in place.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Makes stubs before the actor exists (see [`Unit::new_with`]).
pub struct Stubs(Arc<Recorder>);

impl Stubs {
    /// A handle to a stand-in process of actor type `B` (see [`Unit::stub`]).
    pub fn stub<B: Actor>(&self) -> ActorRef<B> {
        let pid = self.0.new_process();
        effects::handle(&self.0.node, pid, self.0.clone())
    }
}

/// Where the reply of a call the test made lands.
type ReplySlot<A> = Arc<Mutex<Option<Result<<A as Actor>::Reply, CallError>>>>;

/// A call made with [`Unit::call_later`]: its reply, once the actor gave one.
pub struct PendingReply<A: Actor, T, E> {
    slot: ReplySlot<A>,
    map: fn(A::Reply) -> Result<T, CallError<E>>,
}

impl<A: Actor, T, E> PendingReply<A, T, E> {
    /// The reply (taken), if the actor answered; `CallError::NoReply` if it dropped
    /// the token, `CallError::Exited` if it ended holding it.
    pub fn reply(&self) -> Option<Result<T, CallError<E>>> {
        let answer = self.slot.lock().take()?;
        Some(match answer {
            Ok(reply) => (self.map)(reply),
            Err(err) => Err(err.widen()),
        })
    }
}
