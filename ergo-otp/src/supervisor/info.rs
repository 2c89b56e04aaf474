//! What `which_children` and `count_children` report.

use crate::supervisor::spec::{ChildKind, Restart};
use ergo_runtime::{Atom, Pid};

/// One child of a supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildInfo {
    /// Its id in the supervisor.
    pub id: Atom,
    /// Its current pid; `None` while it is not running.
    pub pid: Option<Pid>,
    /// The name its instances are registered under.
    pub name: Option<Atom>,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Its restart policy.
    pub restart: Restart,
    /// Whether it is significant.
    pub significant: bool,
    /// Its actor type.
    pub actor: &'static str,
}

/// Counts of a supervisor's children (OTP's `count_children`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildCounts {
    /// Child specs (simple-one-for-one: instances).
    pub specs: usize,
    /// Children running now.
    pub active: usize,
    /// Children that are supervisors.
    pub supervisors: usize,
    /// Children that are workers.
    pub workers: usize,
    /// Restarts done since the supervisor started.
    pub restarts: u64,
}
