//! Fluent assertions on what a unit-mode actor did: a builder narrows the recorded
//! effects (`should_send().to(&ledger).message(..)`), a terminal counts the matches
//! (`once`, `times`, `at_least`, `never`) and panics with the list of effects when the
//! count is wrong. Typed where the types allow: a message asserted on a handle of
//! actor `B` must be one `B` handles.

use std::any::type_name;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use ergo_runtime::effects;
use ergo_runtime::{
    Actor, ActorRef, Alias, Atom, Handles, Pid, Priority, Reason, Ref, Request, Target,
};
use serde::Serialize;

use super::capture::Capture;
use super::events::{published_value, EventWatch};
use super::record::{short, Effect, Recorder};
use super::Unit;

/// How many matching effects a terminal expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// Exactly this many.
    Exactly(usize),
    /// This many or more.
    AtLeast(usize),
}

type Filter<'u> = Box<dyn Fn(&Effect) -> bool + 'u>;
type OnMatch<'u> = Box<dyn Fn(&Effect) + 'u>;
type Detail<'u> = Box<dyn Fn(&Effect) -> Option<String> + 'u>;

/// The common part of every builder: what is looked for, and what to do with a match.
struct Check<'u> {
    recorder: &'u Arc<Recorder>,
    what: String,
    filters: Vec<Filter<'u>>,
    on_match: Vec<OnMatch<'u>>,
    /// Extra detail about an effect for the failure report (a message's value).
    detail: Option<Detail<'u>>,
}

impl<'u> Check<'u> {
    fn new(
        recorder: &'u Arc<Recorder>,
        what: impl Into<String>,
        kind: impl Fn(&Effect) -> bool + 'u,
    ) -> Self {
        Check {
            recorder,
            what: what.into(),
            filters: vec![Box::new(kind)],
            on_match: Vec::new(),
            detail: None,
        }
    }

    fn with(mut self, what: impl AsRef<str>, filter: impl Fn(&Effect) -> bool + 'u) -> Self {
        self.what.push(' ');
        self.what.push_str(what.as_ref());
        self.filters.push(Box::new(filter));
        self
    }

    #[track_caller]
    fn assert(self, times: Times) {
        let state = self.recorder.state.lock();
        let matches: Vec<&Effect> = state
            .effects
            .iter()
            .filter(|e| self.filters.iter().all(|f| f(e)))
            .collect();
        let ok = match times {
            Times::Exactly(n) => matches.len() == n,
            Times::AtLeast(n) => matches.len() >= n,
        };
        if !ok {
            let expected = match times {
                Times::Exactly(0) => "no".to_owned(),
                Times::Exactly(1) => "one".to_owned(),
                Times::Exactly(n) => format!("{n}"),
                Times::AtLeast(n) => format!("at least {n}"),
            };
            let mut report = format!(
                "unit mode: expected {expected} {}, found {}.\nWhat the actor did ({}):",
                self.what,
                matches.len(),
                state.effects.len()
            );
            for (i, e) in state.effects.iter().enumerate() {
                report.push_str(&format!("\n  {:>3}. {e:?}", i + 1));
                if let Some(detail) = self.detail.as_ref().and_then(|d| d(e)) {
                    report.push_str(&format!(": {detail}"));
                }
            }
            drop(state);
            panic!("{report}");
        }
        if let Some(last) = matches.last() {
            for f in &self.on_match {
                f(last);
            }
        }
    }
}

/// The terminals every builder has.
macro_rules! terminals {
    () => {
        /// Asserts exactly one matching effect.
        #[track_caller]
        pub fn once(self) {
            self.check.assert(Times::Exactly(1))
        }

        /// Asserts exactly `n` matching effects.
        #[track_caller]
        pub fn times(self, n: usize) {
            self.check.assert(Times::Exactly(n))
        }

        /// Asserts at least `n` matching effects.
        #[track_caller]
        pub fn at_least(self, n: usize) {
            self.check.assert(Times::AtLeast(n))
        }

        /// Asserts no matching effect.
        #[track_caller]
        pub fn never(self) {
            self.check.assert(Times::Exactly(0))
        }
    };
}

/// A value's JSON text, for comparing messages whose types derive `Serialize` (every
/// `#[actor]` enum does) and for showing them.
fn json<T: Serialize + ?Sized>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

fn sent(e: &Effect) -> Option<&super::Sent> {
    match e {
        Effect::Send(s) => Some(s),
        _ => None,
    }
}

fn called(e: &Effect) -> Option<&super::Called> {
    match e {
        Effect::Call(c) => Some(c),
        _ => None,
    }
}

fn spawned(e: &Effect) -> Option<&super::Spawned> {
    match e {
        Effect::Spawn(s) => Some(s),
        _ => None,
    }
}

/// `should_send()`: any send, until narrowed by a target.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldSend<'u> {
    check: Check<'u>,
}

impl<'u> ShouldSend<'u> {
    /// Sends through (or to the pid of) this handle; messages are then `B`'s.
    pub fn to<B: Actor>(self, to: &ActorRef<B>) -> ShouldSendTo<'u, B> {
        let pid = to.pid();
        let check = self.check.with(
            format!("to {pid} ({})", short(type_name::<B>())),
            move |e| sent(e).is_some_and(|s| s.to == Target::Pid(pid)),
        );
        ShouldSendTo {
            check,
            _b: std::marker::PhantomData,
        }
    }

    /// Sends to `to` by pid, name or alias, any message type (untyped).
    pub fn to_target(self, to: impl Into<Target>) -> ShouldSendUntyped<'u> {
        let to = to.into();
        ShouldSendUntyped {
            check: self.check.with(format!("to {to:?}"), move |e| {
                sent(e).is_some_and(|s| s.to == to)
            }),
        }
    }

    terminals!();
}

/// `should_send().to(&handle)`: sends to one process of actor type `B`.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldSendTo<'u, B: Actor> {
    check: Check<'u>,
    _b: std::marker::PhantomData<fn(B)>,
}

impl<'u, B: Actor> ShouldSendTo<'u, B> {
    /// The message equals `expected`: a value of any type `B` handles (its cast enum,
    /// or a `#[handle_info]` type), compared as `B`'s message. A type `B` does not
    /// handle does not compile.
    pub fn message<M>(self, expected: M) -> Self
    where
        B: Handles<M>,
        B::Message: Serialize,
    {
        let expected = json(&B::into_message(expected)).expect(
            "the expected message serializes (a `local` handler's message cannot be \
             compared: use `.matching(..)`)",
        );
        let text = expected.to_string();
        let mut check = self.check.with(format!("of {text}"), move |e| {
            sent(e)
                .and_then(|s| s.message.downcast_ref::<B::Message>())
                .and_then(json)
                .is_some_and(|m| m == expected)
        });
        // The failure report shows the value of every message of `B`.
        check.detail = Some(Box::new(|e| {
            let m = sent(e)?.message.downcast_ref::<B::Message>()?;
            json(m).map(|v| v.to_string())
        }));
        ShouldSendTo { check, _b: self._b }
    }

    /// The message passes `test`.
    pub fn matching(self, test: impl Fn(&B::Message) -> bool + 'u) -> Self {
        ShouldSendTo {
            check: self.check.with("matching a predicate", move |e| {
                sent(e)
                    .and_then(|s| s.message.downcast_ref::<B::Message>())
                    .is_some_and(&test)
            }),
            _b: self._b,
        }
    }

    /// Sent to the queue of `priority`.
    pub fn priority(self, priority: Priority) -> Self {
        ShouldSendTo {
            check: self
                .check
                .with(format!("with {priority:?} priority"), move |e| {
                    sent(e).is_some_and(|s| s.priority == priority)
                }),
            _b: self._b,
        }
    }

    /// Sent with `send_important`.
    pub fn important(self) -> Self {
        ShouldSendTo {
            check: self
                .check
                .with("as important", |e| sent(e).is_some_and(|s| s.important)),
            _b: self._b,
        }
    }

    terminals!();
}

/// `should_send().to_target(..)`: untyped sends (`Context::send`).
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldSendUntyped<'u> {
    check: Check<'u>,
}

impl<'u> ShouldSendUntyped<'u> {
    /// The message is a `M` equal to `expected`.
    pub fn message<M: PartialEq + Debug + Send + 'static>(self, expected: M) -> Self {
        ShouldSendUntyped {
            check: self.check.with(format!("of {expected:?}"), move |e| {
                sent(e)
                    .and_then(|s| s.message.downcast_ref::<M>())
                    .is_some_and(|m| *m == expected)
            }),
        }
    }

    /// The message is a `M` passing `test`.
    pub fn matching<M: 'static>(self, test: impl Fn(&M) -> bool + 'u) -> Self {
        ShouldSendUntyped {
            check: self.check.with(
                format!("of a {} matching a predicate", short(type_name::<M>())),
                move |e| {
                    sent(e)
                        .and_then(|s| s.message.downcast_ref::<M>())
                        .is_some_and(&test)
                },
            ),
        }
    }

    terminals!();
}

/// `should_call()`: any call, until narrowed by a target.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldCall<'u> {
    check: Check<'u>,
}

impl<'u> ShouldCall<'u> {
    /// Calls through (or to the pid of) this handle; requests are then `B`'s.
    pub fn to<B: Actor>(self, to: &ActorRef<B>) -> ShouldCallTo<'u, B> {
        let pid = to.pid();
        let check = self.check.with(
            format!("to {pid} ({})", short(type_name::<B>())),
            move |e| called(e).is_some_and(|c| c.to == pid),
        );
        ShouldCallTo {
            check,
            _b: std::marker::PhantomData,
        }
    }

    terminals!();
}

/// `should_call().to(&handle)`: calls to one process of actor type `B`.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldCallTo<'u, B: Actor> {
    check: Check<'u>,
    _b: std::marker::PhantomData<fn(B)>,
}

impl<'u, B: Actor> ShouldCallTo<'u, B> {
    /// The request is the one `request` would make: build it with the handle's
    /// method (`.request(ledger.balance())`), which sends nothing.
    pub fn request<T, E>(self, request: Request<B, T, E>) -> Self
    where
        B::Call: Serialize,
    {
        let parts = effects::request_parts(request).expect("an unsent request");
        let expected = json(&parts.request).expect(
            "the expected request serializes (a `local` handler's request cannot be \
             compared: use `.matching(..)`)",
        );
        let mut check = self.check.with(format!("with {expected}"), move |e| {
            called(e)
                .and_then(|c| c.request.downcast_ref::<B::Call>())
                .and_then(json)
                .is_some_and(|r| r == expected)
        });
        check.detail = Some(Box::new(|e| {
            let r = called(e)?.request.downcast_ref::<B::Call>()?;
            json(r).map(|v| v.to_string())
        }));
        ShouldCallTo { check, _b: self._b }
    }

    /// The request passes `test`.
    pub fn matching(self, test: impl Fn(&B::Call) -> bool + 'u) -> Self {
        ShouldCallTo {
            check: self.check.with("matching a predicate", move |e| {
                called(e)
                    .and_then(|c| c.request.downcast_ref::<B::Call>())
                    .is_some_and(&test)
            }),
            _b: self._b,
        }
    }

    /// The call failed (an injected failure, a timeout, no responder).
    pub fn failed(self) -> Self {
        ShouldCallTo {
            check: self.check.with("that failed", |e| {
                called(e).is_some_and(|c| c.error.is_some())
            }),
            _b: self._b,
        }
    }

    /// The call was answered.
    pub fn answered(self) -> Self {
        ShouldCallTo {
            check: self.check.with("that was answered", |e| {
                called(e).is_some_and(|c| c.error.is_none())
            }),
            _b: self._b,
        }
    }

    terminals!();
}

/// `should_spawn::<B>()`: spawns of actor type `B`.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldSpawn<'u, B: Actor> {
    check: Check<'u>,
    _b: std::marker::PhantomData<fn(B)>,
}

impl<'u, B: Actor> ShouldSpawn<'u, B> {
    /// Linked to the actor (`spawn_link`, `SpawnOptions::link`).
    pub fn linked(self) -> Self {
        ShouldSpawn {
            check: self
                .check
                .with("linked", |e| spawned(e).is_some_and(|s| s.link)),
            _b: self._b,
        }
    }

    /// To be registered as `name`.
    pub fn named(self, name: &str) -> Self {
        let name = Atom::new(name);
        ShouldSpawn {
            check: self.check.with(format!("named {name}"), move |e| {
                spawned(e).is_some_and(|s| s.name == Some(name))
            }),
            _b: self._b,
        }
    }

    /// The actor value passes `test`.
    pub fn matching(self, test: impl Fn(&B) -> bool + 'u) -> Self {
        ShouldSpawn {
            check: self.check.with("matching a predicate", move |e| {
                spawned(e)
                    .and_then(|s| s.actor.downcast_ref::<B>())
                    .is_some_and(&test)
            }),
            _b: self._b,
        }
    }

    /// The init arguments pass `test`.
    pub fn args(self, test: impl Fn(&B::Args) -> bool + 'u) -> Self {
        ShouldSpawn {
            check: self.check.with("with matching arguments", move |e| {
                spawned(e)
                    .and_then(|s| s.args.downcast_ref::<B::Args>())
                    .is_some_and(&test)
            }),
            _b: self._b,
        }
    }

    /// The spawn failed (an injected failure).
    pub fn failed(self) -> Self {
        ShouldSpawn {
            check: self.check.with("that failed", |e| {
                spawned(e).is_some_and(|s| s.error.is_some())
            }),
            _b: self._b,
        }
    }

    /// Captures the handle of the (last) matching child: a stub, as any handle the
    /// harness gives out.
    pub fn capture(mut self, into: &Capture<ActorRef<B>>) -> Self {
        let into = into.clone();
        let recorder = self.check.recorder;
        self.check.on_match.push(Box::new(move |e| {
            if let Some(pid) = spawned(e).and_then(|s| s.pid) {
                into.set(effects::handle(&recorder.node, pid, recorder.clone()));
            }
        }));
        self
    }

    terminals!();
}

/// An assertion on a simple effect (link, unlink, demonitor, exit, names, aliases).
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct Should<'u> {
    check: Check<'u>,
}

impl Should<'_> {
    terminals!();
}

/// `should_monitor(..)`: monitors taken.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldMonitor<'u> {
    check: Check<'u>,
}

impl ShouldMonitor<'_> {
    /// Captures the monitor's reference (to deliver its `Down` later).
    pub fn capture(mut self, into: &Capture<Ref>) -> Self {
        let into = into.clone();
        self.check.on_match.push(Box::new(move |e| {
            if let Effect::Monitor { monitor, .. } = e {
                into.set(*monitor);
            }
        }));
        self
    }

    terminals!();
}

/// `should_arm_timer()`: timers armed with `send_after` / `send_every`.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldTimer<'u> {
    check: Check<'u>,
}

fn armed(e: &Effect) -> Option<&super::Armed> {
    match e {
        Effect::Timer(t) => Some(t),
        _ => None,
    }
}

impl<'u> ShouldTimer<'u> {
    /// For the process `to`.
    pub fn to(self, to: Pid) -> Self {
        ShouldTimer {
            check: self.check.with(format!("to {to}"), move |e| {
                armed(e).is_some_and(|t| t.to == to)
            }),
        }
    }

    /// Firing (first) after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        ShouldTimer {
            check: self.check.with(format!("after {delay:?}"), move |e| {
                armed(e).is_some_and(|t| t.delay == delay)
            }),
        }
    }

    /// Repeating every `period`.
    pub fn every(self, period: Duration) -> Self {
        ShouldTimer {
            check: self.check.with(format!("every {period:?}"), move |e| {
                armed(e).is_some_and(|t| t.period == Some(period))
            }),
        }
    }

    /// Carrying a message of type `M`.
    pub fn message<M: 'static>(self) -> Self {
        let name = type_name::<M>();
        ShouldTimer {
            check: self.check.with(format!("of {}", short(name)), move |e| {
                armed(e).is_some_and(|t| t.message_type == name)
            }),
        }
    }

    /// Captures the timer's id (see [`Unit::timers`]).
    pub fn capture(mut self, into: &Capture<u64>) -> Self {
        let into = into.clone();
        self.check.on_match.push(Box::new(move |e| {
            if let Some(t) = armed(e) {
                into.set(t.id);
            }
        }));
        self
    }

    terminals!();
}

/// `should_log()`: log lines written by handlers.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldLog<'u> {
    check: Check<'u>,
}

fn logged(e: &Effect) -> Option<&super::LogLine> {
    match e {
        Effect::Log(l) => Some(l),
        _ => None,
    }
}

impl ShouldLog<'_> {
    /// At `level`.
    pub fn level(self, level: tracing::Level) -> Self {
        ShouldLog {
            check: self.check.with(format!("at {level}"), move |e| {
                logged(e).is_some_and(|l| l.level == level)
            }),
        }
    }

    /// Whose message contains `text`.
    pub fn containing(self, text: &str) -> Self {
        let text = text.to_owned();
        ShouldLog {
            check: self.check.with(format!("containing {text:?}"), move |e| {
                logged(e).is_some_and(|l| l.message.contains(&text))
            }),
        }
    }

    terminals!();
}

/// `should_publish(&watch)`: values published to a watched event.
#[must_use = "an assertion checks nothing until a terminal (`once`, `times`, `never`, ..)"]
pub struct ShouldPublish<'u, M: Send + 'static> {
    check: Check<'u>,
    watch: &'u EventWatch<M>,
}

impl<'u, M: Clone + Send + 'static> ShouldPublish<'u, M> {
    /// The value equals `expected`.
    pub fn message(self, expected: M) -> Self
    where
        M: PartialEq + Debug,
    {
        let watch = self.watch;
        ShouldPublish {
            check: self.check.with(format!("of {expected:?}"), move |e| {
                published_value(watch, e).is_some_and(|m| *m == expected)
            }),
            watch,
        }
    }

    /// The value passes `test`.
    pub fn matching(self, test: impl Fn(&M) -> bool + 'u) -> Self {
        let watch = self.watch;
        ShouldPublish {
            check: self.check.with("matching a predicate", move |e| {
                published_value(watch, e).is_some_and(&test)
            }),
            watch,
        }
    }

    terminals!();
}

impl<A: Actor> Unit<A> {
    /// Asserts on the values published to a watched event.
    pub fn should_publish<'u, M: Clone + Send + 'static>(
        &'u self,
        watch: &'u EventWatch<M>,
    ) -> ShouldPublish<'u, M> {
        ShouldPublish {
            check: Check::new(
                &self.recorder,
                format!("publish to {}", watch.name()),
                move |e| published_value(watch, e).is_some(),
            ),
            watch,
        }
    }

    /// Asserts on the messages the actor sent.
    pub fn should_send(&self) -> ShouldSend<'_> {
        ShouldSend {
            check: Check::new(&self.recorder, "send", |e| matches!(e, Effect::Send(_))),
        }
    }

    /// Asserts on the calls the actor made.
    pub fn should_call(&self) -> ShouldCall<'_> {
        ShouldCall {
            check: Check::new(&self.recorder, "call", |e| matches!(e, Effect::Call(_))),
        }
    }

    /// Asserts on the spawns of actors of type `B`.
    pub fn should_spawn<B: Actor>(&self) -> ShouldSpawn<'_, B> {
        let name = type_name::<B>();
        ShouldSpawn {
            check: Check::new(
                &self.recorder,
                format!("spawn of {}", short(name)),
                move |e| spawned(e).is_some_and(|s| s.actor_type == name),
            ),
            _b: std::marker::PhantomData,
        }
    }

    /// Asserts on links to `to`.
    pub fn should_link(&self, to: Pid) -> Should<'_> {
        Should {
            check: Check::new(
                &self.recorder,
                format!("link to {to}"),
                move |e| matches!(e, Effect::Link(p) if *p == to),
            ),
        }
    }

    /// Asserts on unlinks from `to`.
    pub fn should_unlink(&self, to: Pid) -> Should<'_> {
        Should {
            check: Check::new(
                &self.recorder,
                format!("unlink from {to}"),
                move |e| matches!(e, Effect::Unlink(p) if *p == to),
            ),
        }
    }

    /// Asserts on monitors of `target` (a pid, name or alias).
    pub fn should_monitor(&self, target: impl Into<Target>) -> ShouldMonitor<'_> {
        let target = target.into();
        ShouldMonitor {
            check: Check::new(
                &self.recorder,
                format!("monitor of {target:?}"),
                move |e| matches!(e, Effect::Monitor { target: t, .. } if *t == target),
            ),
        }
    }

    /// Asserts on demonitors of `monitor`.
    pub fn should_demonitor(&self, monitor: Ref) -> Should<'_> {
        Should {
            check: Check::new(
                &self.recorder,
                format!("demonitor of {monitor:?}"),
                move |e| matches!(e, Effect::Demonitor(r) if *r == monitor),
            ),
        }
    }

    /// Asserts on exit signals sent to `to` with `reason`.
    pub fn should_send_exit(&self, to: Pid, reason: Reason) -> Should<'_> {
        Should {
            check: Check::new(
                &self.recorder,
                format!("exit signal to {to} ({reason})"),
                move |e| matches!(e, Effect::Exit { to: t, reason: r } if *t == to && *r == reason),
            ),
        }
    }

    /// Asserts on registrations under `name`.
    pub fn should_register(&self, name: &str) -> Should<'_> {
        let name = Atom::new(name);
        Should {
            check: Check::new(
                &self.recorder,
                format!("registration as {name}"),
                move |e| matches!(e, Effect::Register(n) if *n == name),
            ),
        }
    }

    /// Asserts on unregistrations.
    pub fn should_unregister(&self) -> Should<'_> {
        Should {
            check: Check::new(&self.recorder, "unregistration", |e| {
                matches!(e, Effect::Unregister(_))
            }),
        }
    }

    /// Asserts on aliases created; `capture` takes the alias.
    pub fn should_create_alias(&self, capture: &Capture<Alias>) -> Should<'_> {
        let into = capture.clone();
        let mut check = Check::new(&self.recorder, "alias", |e| matches!(e, Effect::Alias(_)));
        check.on_match.push(Box::new(move |e| {
            if let Effect::Alias(a) = e {
                into.set(*a);
            }
        }));
        Should { check }
    }

    /// Asserts on timers armed.
    pub fn should_arm_timer(&self) -> ShouldTimer<'_> {
        ShouldTimer {
            check: Check::new(&self.recorder, "timer", |e| matches!(e, Effect::Timer(_))),
        }
    }

    /// Asserts on timers cancelled while pending (`id` as captured).
    pub fn should_cancel_timer(&self, id: u64) -> Should<'_> {
        Should {
            check: Check::new(
                &self.recorder,
                format!("cancel of timer #{id}"),
                move |e| matches!(e, Effect::CancelTimer { id: i, pending: true } if *i == id),
            ),
        }
    }

    /// Asserts on log lines.
    pub fn should_log(&self) -> ShouldLog<'_> {
        ShouldLog {
            check: Check::new(&self.recorder, "log line", |e| matches!(e, Effect::Log(_))),
        }
    }

    /// Asserts the actor stopped, with `reason`.
    #[track_caller]
    pub fn should_stop_with(&self, reason: Reason) {
        match &self.stopped {
            Some(r) if *r == reason => {}
            Some(r) => {
                panic!("unit mode: expected a stop with {reason}, the actor stopped with {r}")
            }
            None => panic!("unit mode: expected a stop with {reason}, the actor is running"),
        }
    }

    /// Asserts the actor is still running.
    #[track_caller]
    pub fn should_not_stop(&self) {
        if let Some(r) = &self.stopped {
            panic!("unit mode: expected the actor running, it stopped with {r}");
        }
    }
}

/// A message sent to a handle's actor, if it is one of `B`'s (for custom checks over
/// [`Unit::effects`]).
pub fn message_of<B: Actor>(effect: &Effect) -> Option<&B::Message> {
    sent(effect).and_then(|s| s.message.downcast_ref::<B::Message>())
}
