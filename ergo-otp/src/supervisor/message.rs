//! [`SupervisorMessage`]: what a supervisor process handles — an orderly shutdown, and
//! the run-time operations, each carrying the channel its answer goes back on.

use std::fmt;

use tokio::sync::oneshot;

use crate::supervisor::child::{ChildSpec, DynArgs};
use crate::supervisor::error::SupervisorError;
use crate::supervisor::state::{ChildKey, SupervisorState};
use ergo_runtime::Node;
use ergo_runtime::Reason;
use ergo_runtime::{Atom, Pid};

/// The messages of every supervisor. Local only: they carry closures and channels.
pub enum SupervisorMessage {
    /// Stop the children in reverse start order, each within its shutdown, then
    /// terminate with `Shutdown`. What a parent supervisor or an application sends.
    Shutdown,
    /// A run-time operation (built by `SupervisorRef` and the generated handles).
    Request(SupervisorRequest),
}

impl fmt::Debug for SupervisorMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SupervisorMessage::Shutdown => f.write_str("Shutdown"),
            SupervisorMessage::Request(_) => f.write_str("Request(..)"),
        }
    }
}

pub(crate) type Answer<T> = oneshot::Sender<Result<T, SupervisorError>>;

/// A run-time operation on a supervisor (opaque: build it with `SupervisorRef`).
pub struct SupervisorRequest(pub(crate) Op);

pub(crate) type Inspect = Box<dyn FnOnce(&SupervisorState, &Node) + Send>;

pub(crate) enum Op {
    StartChild(ChildSpec, Answer<Pid>),
    StartInstance(Box<dyn DynArgs>, Answer<Pid>),
    Terminate(ChildKey, Answer<()>),
    Restart(Atom, Answer<Pid>),
    Delete(Atom, Answer<()>),
    Stop(Reason, Answer<()>),
    /// Runs inside the supervisor with read access to its state.
    Inspect(Inspect),
}
