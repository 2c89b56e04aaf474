//! What a unit-mode actor did ([`Effect`]), and the recorder that keeps it: the effects
//! sink its context and the handles it holds report to, with the injected failures
//! and scripted answers it gives back.

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use ergo_runtime::effects::{CallEffect, Effects, Refusal, SendEffect, SpawnEffect, TimerEffect};
use ergo_runtime::{
    Alias, Atom, CallError, LinkError, NameError, Node, Pid, Priority, Reason, Ref, SpawnError,
    Target,
};
use parking_lot::Mutex;

/// One thing the actor did, in the order it did it.
pub enum Effect {
    /// A message sent (typed through a handle, or untyped with `Context::send`).
    Send(Sent),
    /// A call made through a handle.
    Call(Called),
    /// A spawn (made, or refused by an injected failure).
    Spawn(Spawned),
    /// `Context::link`.
    Link(Pid),
    /// `Context::unlink`.
    Unlink(Pid),
    /// `Context::monitor`, with the reference it returned.
    Monitor {
        /// What is monitored.
        target: Target,
        /// The monitor's reference.
        monitor: Ref,
    },
    /// `Context::demonitor`.
    Demonitor(Ref),
    /// An exit signal sent (`Context::send_exit`, `ActorRef::exit`).
    Exit {
        /// To whom.
        to: Pid,
        /// Why.
        reason: Reason,
    },
    /// `Context::register` (the name was free).
    Register(Atom),
    /// `Context::unregister`.
    Unregister(Atom),
    /// `Context::create_alias`.
    Alias(Alias),
    /// `Context::delete_alias`.
    DeleteAlias(Alias),
    /// `send_after` / `send_every`.
    Timer(Armed),
    /// `TimerRef::cancel`.
    CancelTimer {
        /// The timer's id (as in [`Armed::id`]).
        id: u64,
        /// It had not fired yet.
        pending: bool,
    },
    /// A log line written through `tracing` while a handler ran.
    Log(LogLine),
    /// The actor stopped (a handler returned an error, asked to stop, panicked, or an
    /// exit signal ended it).
    Stop(Reason),
}

/// A message sent.
pub struct Sent {
    /// Where to.
    pub to: Target,
    /// The target's actor type (typed send), or `None` (untyped).
    pub actor: Option<&'static str>,
    /// The message's type (the target's `Message` enum for a typed send).
    pub message_type: &'static str,
    /// The message.
    pub message: Box<dyn Any + Send>,
    /// Its queue.
    pub priority: Priority,
    /// Sent with `send_important`.
    pub important: bool,
    /// Virtual time when it was sent.
    pub at: Duration,
}

/// A call made.
pub struct Called {
    /// Where to.
    pub to: Pid,
    /// The target's actor type.
    pub actor: &'static str,
    /// The request (the target's `Call` enum).
    pub request: Box<dyn Any + Send>,
    /// Its queue.
    pub priority: Priority,
    /// How long the caller was to wait.
    pub timeout: Duration,
    /// The error the caller got, if any.
    pub error: Option<CallError>,
    /// Virtual time when it was made.
    pub at: Duration,
}

/// A spawn.
pub struct Spawned {
    /// The new process's pid (`None`: the spawn failed).
    pub pid: Option<Pid>,
    /// The actor type.
    pub actor_type: &'static str,
    /// The actor value.
    pub actor: Box<dyn Any + Send>,
    /// Its init arguments.
    pub args: Box<dyn Any + Send>,
    /// The name it was to be registered under.
    pub name: Option<Atom>,
    /// Linked to the actor.
    pub link: bool,
    /// The injected failure it got.
    pub error: Option<SpawnError>,
}

/// A timer armed.
#[derive(Debug, Clone)]
pub struct Armed {
    /// The timer's id in this harness.
    pub id: u64,
    /// Who gets the message.
    pub to: Pid,
    /// The message's type.
    pub message_type: &'static str,
    /// After how long it fires first.
    pub delay: Duration,
    /// The period of a `send_every` timer.
    pub period: Option<Duration>,
    /// Virtual time when it was armed.
    pub at: Duration,
}

/// A log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: tracing::Level,
    /// The message.
    pub message: String,
    /// The other fields, as `name=value`.
    pub fields: Vec<(String, String)>,
}

impl fmt::Debug for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Send(s) => write!(
                f,
                "send to {} of {}{}{}",
                target_text(&s.to),
                short(s.message_type),
                if s.priority == Priority::Normal {
                    String::new()
                } else {
                    format!(" ({:?} priority)", s.priority)
                },
                if s.important { " (important)" } else { "" }
            ),
            Effect::Call(c) => write!(
                f,
                "call to {} ({}){}",
                c.to,
                short(c.actor),
                c.error
                    .as_ref()
                    .map(|e| format!(" -> error: {e}"))
                    .unwrap_or_default()
            ),
            Effect::Spawn(s) => write!(
                f,
                "spawn of {}{}{}{}",
                short(s.actor_type),
                s.pid.map(|p| format!(" as {p}")).unwrap_or_default(),
                if s.link { " (linked)" } else { "" },
                s.error
                    .as_ref()
                    .map(|e| format!(" -> error: {e}"))
                    .unwrap_or_default()
            ),
            Effect::Link(p) => write!(f, "link to {p}"),
            Effect::Unlink(p) => write!(f, "unlink from {p}"),
            Effect::Monitor { target, monitor } => {
                write!(f, "monitor of {} ({monitor:?})", target_text(target))
            }
            Effect::Demonitor(r) => write!(f, "demonitor {r:?}"),
            Effect::Exit { to, reason } => write!(f, "exit signal to {to}: {reason}"),
            Effect::Register(n) => write!(f, "register as {n}"),
            Effect::Unregister(n) => write!(f, "unregister {n}"),
            Effect::Alias(a) => write!(f, "alias {a}"),
            Effect::DeleteAlias(a) => write!(f, "delete alias {a}"),
            Effect::Timer(t) => write!(
                f,
                "timer #{} to {} of {} after {:?}{}",
                t.id,
                t.to,
                short(t.message_type),
                t.delay,
                t.period
                    .map(|p| format!(" every {p:?}"))
                    .unwrap_or_default()
            ),
            Effect::CancelTimer { id, pending } => {
                write!(
                    f,
                    "cancel timer #{id}{}",
                    if *pending { "" } else { " (done)" }
                )
            }
            Effect::Log(l) => write!(f, "log {} {:?}", l.level, l.message),
            Effect::Stop(r) => write!(f, "stop: {r}"),
        }
    }
}

fn target_text(t: &Target) -> String {
    match t {
        Target::Pid(p) => p.to_string(),
        Target::Name(n) => format!("name {n}"),
        Target::Alias(a) => a.to_string(),
        Target::Remote { name, node } => format!("{name} on {node}"),
    }
}

/// A type's name without its module path (`bank::LedgerMessage` → `LedgerMessage`).
pub(crate) fn short(name: &str) -> &str {
    let end = name.find('<').unwrap_or(name.len());
    match name[..end].rfind("::") {
        Some(i) => &name[i + 2..],
        None => name,
    }
}

/// An answer a test scripts for the calls to one process.
pub(crate) type Responder =
    Box<dyn FnMut(&(dyn Any + Send)) -> Result<Box<dyn Any + Send>, CallError> + Send>;

/// A timer waiting in virtual time.
pub(crate) struct Timer {
    pub(crate) id: u64,
    pub(crate) due: Duration,
    pub(crate) period: Option<Duration>,
    pub(crate) fire: Option<Box<dyn FnMut() -> bool + Send>>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) effects: Vec<Effect>,
    /// Messages to the actor itself (its own sends, fired timers, the test's casts).
    pub(crate) mailbox: VecDeque<Box<dyn Any + Send>>,
    pub(crate) now: Duration,
    pub(crate) timers: Vec<Timer>,
    /// Timers that fired or were cancelled.
    pub(crate) finished: HashSet<u64>,
    next_timer: u64,
    /// Processes the harness made (stubs, spawns) and whether they are alive.
    pub(crate) alive: HashMap<Pid, bool>,
    pub(crate) responders: HashMap<Pid, Responder>,
    /// One-shot call failures per target (`None` error: a timeout).
    pub(crate) call_failures: HashMap<Pid, VecDeque<Option<CallError>>>,
    pub(crate) send_refusals: HashMap<Pid, VecDeque<Refusal>>,
    /// One-shot spawn failures: for an actor type (`None`: any).
    pub(crate) spawn_failures: VecDeque<(Option<&'static str>, SpawnError)>,
    pub(crate) taken_names: HashSet<Atom>,
    pub(crate) name: Option<Atom>,
    /// Monitors the actor holds.
    pub(crate) monitors: HashSet<Ref>,
    /// Set while the test itself sends to the actor: input, not an effect.
    pub(crate) driving: bool,
}

/// The effects sink of one harness.
pub(crate) struct Recorder {
    pub(crate) me: Pid,
    pub(crate) node: Node,
    pub(crate) state: Mutex<State>,
}

impl Recorder {
    pub(crate) fn new(node: Node, me: Pid) -> Self {
        Recorder {
            me,
            node,
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn record(&self, effect: Effect) {
        self.state.lock().effects.push(effect);
    }

    /// A new pid for a process the harness stands in for.
    pub(crate) fn new_process(&self) -> Pid {
        let pid = ergo_runtime::effects::new_pid(&self.node);
        self.state.lock().alive.insert(pid, true);
        pid
    }

    fn is_me(&self, target: &Target) -> bool {
        match target {
            Target::Pid(pid) => *pid == self.me,
            Target::Name(name) => self.state.lock().name == Some(*name),
            _ => false,
        }
    }
}

impl Effects for Recorder {
    fn send(&self, send: SendEffect<'_>) -> Result<(), Refusal> {
        if let Target::Pid(pid) = send.to {
            let refused = self
                .state
                .lock()
                .send_refusals
                .get_mut(&pid)
                .and_then(VecDeque::pop_front);
            if let Some(refused) = refused {
                return Err(refused);
            }
        }
        let to_me = self.is_me(&send.to);
        let mut state = self.state.lock();
        if to_me && state.driving {
            state.mailbox.push_back((send.message)());
            return Ok(());
        }
        let message = (send.message)();
        if to_me {
            // A send to itself: the mailbox takes the message (the actor handles it),
            // the record keeps its type and the `ToSelf` marker.
            state.mailbox.push_back(message);
            let at = state.now;
            state.effects.push(Effect::Send(Sent {
                to: send.to,
                actor: send.actor,
                message_type: send.message_type,
                message: Box::new(ToSelf),
                priority: send.priority,
                important: send.important,
                at,
            }));
            return Ok(());
        }
        let at = state.now;
        state.effects.push(Effect::Send(Sent {
            to: send.to,
            actor: send.actor,
            message_type: send.message_type,
            message,
            priority: send.priority,
            important: send.important,
            at,
        }));
        Ok(())
    }

    fn call(&self, call: CallEffect) -> Result<Box<dyn Any + Send>, CallError> {
        let result = if call.to == self.me {
            Err(CallError::CallToSelf)
        } else {
            let injected = self
                .state
                .lock()
                .call_failures
                .get_mut(&call.to)
                .and_then(VecDeque::pop_front);
            match injected {
                Some(Some(err)) => Err(err),
                Some(None) => Err(CallError::Timeout(call.timeout)),
                None => {
                    let responder = self.state.lock().responders.remove(&call.to);
                    match responder {
                        Some(mut answer) => {
                            let result = answer(call.request.as_ref());
                            self.state.lock().responders.insert(call.to, answer);
                            result
                        }
                        // Nobody answers: the caller waits its timeout out.
                        None => Err(CallError::Timeout(call.timeout)),
                    }
                }
            }
        };
        let mut state = self.state.lock();
        if let Err(CallError::Timeout(d)) = &result {
            state.now += *d;
        }
        let at = state.now;
        state.effects.push(Effect::Call(Called {
            to: call.to,
            actor: call.actor,
            request: call.request,
            priority: call.priority,
            timeout: call.timeout,
            error: result.as_ref().err().cloned(),
            at,
        }));
        result
    }

    fn spawn(&self, spawn: SpawnEffect) -> Result<Pid, SpawnError> {
        let mut state = self.state.lock();
        let failure = state
            .spawn_failures
            .iter()
            .position(|(ty, _)| ty.is_none_or(|ty| ty == spawn.actor_type))
            .and_then(|i| state.spawn_failures.remove(i))
            .map(|(_, err)| err);
        let pid = match failure {
            Some(_) => None,
            None => {
                let pid = ergo_runtime::effects::new_pid(&self.node);
                state.alive.insert(pid, true);
                Some(pid)
            }
        };
        state.effects.push(Effect::Spawn(Spawned {
            pid,
            actor_type: spawn.actor_type,
            actor: spawn.actor,
            args: spawn.args,
            name: spawn.name,
            link: spawn.link,
            error: failure.clone(),
        }));
        match (pid, failure) {
            (Some(pid), _) => Ok(pid),
            (None, Some(err)) => Err(err),
            (None, None) => unreachable!("a spawn either fails or gets a pid"),
        }
    }

    fn link(&self, to: Pid) -> Result<(), LinkError> {
        self.record(Effect::Link(to));
        Ok(())
    }

    fn unlink(&self, to: Pid) {
        self.record(Effect::Unlink(to));
    }

    fn monitor(&self, target: Target) -> Result<Ref, LinkError> {
        let monitor = self.node.make_ref();
        let mut state = self.state.lock();
        state.monitors.insert(monitor);
        state.effects.push(Effect::Monitor { target, monitor });
        Ok(monitor)
    }

    fn demonitor(&self, monitor: Ref) -> bool {
        let mut state = self.state.lock();
        state.effects.push(Effect::Demonitor(monitor));
        state.monitors.remove(&monitor)
    }

    fn exit(&self, to: Pid, reason: Reason) -> bool {
        self.record(Effect::Exit { to, reason });
        true
    }

    fn register(&self, name: Atom) -> Result<(), NameError> {
        let mut state = self.state.lock();
        if state.taken_names.contains(&name) {
            return Err(NameError::Taken(name));
        }
        if let Some(old) = state.name {
            return Err(NameError::AlreadyNamed(old));
        }
        state.name = Some(name);
        state.effects.push(Effect::Register(name));
        Ok(())
    }

    fn unregister(&self) -> Result<(), NameError> {
        let mut state = self.state.lock();
        let name = state.name.take().ok_or(NameError::Unknown)?;
        state.effects.push(Effect::Unregister(name));
        Ok(())
    }

    fn create_alias(&self) -> Alias {
        let alias = ergo_runtime::effects::new_alias(&self.node);
        self.record(Effect::Alias(alias));
        alias
    }

    fn delete_alias(&self, alias: Alias) -> Result<(), NameError> {
        self.record(Effect::DeleteAlias(alias));
        Ok(())
    }

    fn arm_timer(&self, timer: TimerEffect) -> u64 {
        let mut state = self.state.lock();
        state.next_timer += 1;
        let id = state.next_timer;
        let at = state.now;
        state.timers.push(Timer {
            id,
            due: at + timer.delay,
            period: timer.period,
            fire: Some(timer.fire),
        });
        state.effects.push(Effect::Timer(Armed {
            id,
            to: timer.to,
            message_type: timer.message_type,
            delay: timer.delay,
            period: timer.period,
            at,
        }));
        id
    }

    fn cancel_timer(&self, id: u64) -> bool {
        let mut state = self.state.lock();
        let before = state.timers.len();
        state.timers.retain(|t| t.id != id);
        let pending = state.timers.len() < before;
        state.finished.insert(id);
        state.effects.push(Effect::CancelTimer { id, pending });
        pending
    }

    fn timer_finished(&self, id: u64) -> bool {
        self.state.lock().finished.contains(&id)
    }

    fn is_alive(&self, pid: Pid) -> bool {
        pid == self.me || self.state.lock().alive.get(&pid).copied().unwrap_or(false)
    }
}

/// What a [`Sent`] record holds for a message the actor sent to itself: the message
/// went to its mailbox (the actor handles it), the record keeps its type.
#[derive(Debug)]
pub struct ToSelf;
