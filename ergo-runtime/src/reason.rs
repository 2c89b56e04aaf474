//! Why a process ended, and the signals that carry it: [`Reason`], [`Exit`], [`Down`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::pid::{Atom, Pid, Ref};

/// Why a process terminated (or, in an exit signal, why it should).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Reason {
    /// A clean stop. Linked processes ignore it unless they trap exits.
    Normal,
    /// An orderly shutdown (node stop, supervisor stop). Not a failure.
    Shutdown,
    /// An untrappable kill.
    Kill,
    /// A handler panicked; carries the panic message.
    Panic(String),
    /// A handler or init failed with this error.
    Error(String),
    /// The process did not exist (a link or monitor to a dead process).
    NoProcess,
    /// The connection to the process's node was lost.
    NoConnection,
    /// Something took longer than allowed (an init timeout).
    Timeout,
    /// A supervisor gave up: its children failed more often than its restart intensity
    /// allows, so it stopped them and itself. A shutdown, as in OTP (where the
    /// supervisor exits with `shutdown`, and Erlang peers see that atom): not a failure
    /// for its own supervisor's restart policy (a transient supervisor is not
    /// restarted; a permanent one is, and counts toward the parent's intensity), but
    /// a typed marker so code can tell why the supervisor ended.
    MaxRestartIntensity,
    /// A reason from another runtime that has no ergo counterpart (an Erlang term
    /// such as `{shutdown, tcp_closed}` or `{bad, #{code => 1}}`), carried opaquely in
    /// its own encoding so that it reaches links and monitors on either side unchanged.
    Foreign(Box<ForeignReason>),
}

/// An exit reason of another runtime, kept as its encoding (see [`Reason::Foreign`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ForeignReason {
    /// The reason as text (what `Display` shows), e.g. `{shutdown,tcp_closed}`.
    pub text: String,
    /// The encoded reason (for Erlang: the external term format, `131, ...`).
    pub encoded: Vec<u8>,
    /// True for an orderly shutdown (Erlang's `{shutdown, Term}`): not a failure.
    pub shutdown: bool,
}

impl Reason {
    /// `Normal`, `Shutdown` and `MaxRestartIntensity` are not failures: transient
    /// children are not restarted (and linked processes are not taken down by
    /// `Normal`).
    pub fn is_failure(&self) -> bool {
        match self {
            Reason::Normal | Reason::Shutdown | Reason::MaxRestartIntensity => false,
            Reason::Foreign(f) => !f.shutdown,
            _ => true,
        }
    }

    /// A user error as a reason.
    pub fn error(err: impl fmt::Display) -> Reason {
        Reason::Error(err.to_string())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Normal => f.write_str("normal"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::Kill => f.write_str("kill"),
            Reason::Panic(msg) => write!(f, "panic: {msg}"),
            Reason::Error(msg) => write!(f, "error: {msg}"),
            Reason::NoProcess => f.write_str("noproc"),
            Reason::NoConnection => f.write_str("noconnection"),
            Reason::Timeout => f.write_str("timeout"),
            Reason::MaxRestartIntensity => f.write_str("shutdown: reached max restart intensity"),
            Reason::Foreign(r) => f.write_str(&r.text),
        }
    }
}

/// An exit signal turned into a message, for a process that traps exits.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Exit {
    /// The process the signal came from (a linked process that died, or a `send_exit` caller).
    pub from: Pid,
    /// Why.
    pub reason: Reason,
}

/// What a monitor delivers, exactly once, when its target terminates.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Down {
    /// The reference `monitor` returned.
    pub monitor: Ref,
    /// The process that terminated.
    pub pid: Pid,
    /// The name it was monitored by, if it was monitored by name.
    pub name: Option<Atom>,
    /// Why it terminated (`NoProcess` if it was already dead).
    pub reason: Reason,
}
