//! OTP's system messages on any process ([`SystemRequest`], sent with
//! [`Node::system_request`](crate::Node::system_request)): what `sys:get_state/1`,
//! `sys:get_status/1`, `sys:suspend/1`, `sys:resume/1` and `sys:terminate/2` (hence
//! `gen_server:stop/1,3`) ask of a process. The runtime handles them between handlers,
//! whatever the actor; a suspended process handles nothing but system requests and
//! untrappable signals until it is resumed.

use std::fmt::Debug;

use crate::pid::{Atom, Pid};
use crate::reason::Reason;

/// A system request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SystemRequest {
    /// The actor's state (`sys:get_state/1`).
    GetState,
    /// The process's status (`sys:get_status/1`).
    GetStatus,
    /// Stop handling messages until resumed (`sys:suspend/1`); they wait, in order.
    Suspend,
    /// Handle messages again (`sys:resume/1`).
    Resume,
    /// Answer, then terminate with this reason, running `terminate` (`sys:terminate/2`).
    Terminate(Reason),
}

/// A process's state as a system request sees it.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct StateView {
    /// The `Debug` text, when the actor's type implements `Debug`.
    pub debug: Option<String>,
    /// The state as a value a distribution layer converts (see
    /// [`Actor::state_value`](crate::Actor::state_value)), when the actor offers one.
    pub value: Option<Box<dyn std::any::Any + Send>>,
}

/// The answer to a [`SystemRequest`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SystemReply {
    /// The state.
    State(StateView),
    /// The status.
    Status {
        /// The state, as for [`SystemReply::State`].
        state: StateView,
        /// True while suspended.
        suspended: bool,
        /// The parent (the supervisor or spawner that linked it), if any.
        parent: Option<Pid>,
        /// The registered name, if any.
        name: Option<Atom>,
    },
    /// Done (suspend, resume, terminate).
    Ok,
}

/// Where the answer to a system request goes (called once, unless the process is
/// gone).
pub type SystemAnswer = Box<dyn FnOnce(SystemReply) + Send>;

/// Not public API: the probe `#[actor]` uses to give an actor's `Debug` text when its
/// type implements `Debug` (autoref specialization: `(&&DebugProbe(x)).debug_text()`).
#[doc(hidden)]
pub struct DebugProbe<'a, T>(pub &'a T);

#[doc(hidden)]
pub trait ViaDebug {
    fn debug_text(&self) -> Option<String>;
}

impl<T: Debug> ViaDebug for &DebugProbe<'_, T> {
    fn debug_text(&self) -> Option<String> {
        Some(format!("{:?}", self.0))
    }
}

#[doc(hidden)]
pub trait NoDebug {
    fn debug_text(&self) -> Option<String>;
}

impl<T> NoDebug for DebugProbe<'_, T> {
    fn debug_text(&self) -> Option<String> {
        None
    }
}
