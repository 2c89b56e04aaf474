//! Typed errors of supervisors: a bad spec, an unknown child, a failed start, a
//! supervisor that is gone.

use thiserror::Error;

use ergo_runtime::Atom;
use ergo_runtime::SpawnError;

/// Why a supervisor operation failed.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The spec is not valid (the message says why).
    #[error("invalid supervisor spec: {0}")]
    InvalidSpec(String),
    /// No child with this id (or pid).
    #[error("no child '{0}'")]
    UnknownChild(String),
    /// A child with this id already exists.
    #[error("a child '{0}' already exists")]
    AlreadyPresent(Atom),
    /// The child is running (delete and restart need a stopped child).
    #[error("child '{0}' is running")]
    Running(Atom),
    /// The child could not be started.
    #[error("child '{id}' failed to start: {error}")]
    Start {
        /// The child's id.
        id: Atom,
        /// Why.
        error: SpawnError,
    },
    /// Simple-one-for-one arguments of the wrong type.
    #[error("wrong arguments for child '{id}': expected {expected}")]
    BadArgs {
        /// The child's id.
        id: Atom,
        /// The argument type the child's actor takes.
        expected: &'static str,
    },
    /// The operation does not apply to this strategy (e.g. `start_child` with
    /// arguments on a one-for-one supervisor).
    #[error("not supported by a {0} supervisor")]
    WrongStrategy(&'static str),
    /// The child runs another actor type than the one asked for.
    #[error("child '{id}' runs {actual}, not {expected}")]
    WrongType {
        /// The child's id.
        id: Atom,
        /// The type asked for.
        expected: &'static str,
        /// The type it runs.
        actual: &'static str,
    },
    /// The supervisor is not alive (or terminated before answering).
    #[error("the supervisor is not running")]
    NoSupervisor,
}

/// Why a [`ChildRef`](crate::supervisor::ChildRef) could not be resolved to a handle.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildError {
    /// No process is registered under the child's name right now (it is restarting,
    /// or stopped).
    #[error("child '{0}' is not running")]
    NotRunning(Atom),
    /// The name is held by a process of another actor type.
    #[error("'{0}' is registered to a process of another actor type")]
    WrongType(Atom),
}
