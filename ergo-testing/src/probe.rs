//! How many messages a process has handled, read from the counters the runtime keeps
//! for every process ([`ProcessInfo::messages_in`](ergo_runtime::ProcessInfo)).

use std::time::Duration;

use ergo_runtime::{Node, Pid, ProcessState};

use crate::eventually::{eventually, NotReached};

/// How many messages `pid` has handled to the end: everything taken from its mailbox
/// (casts, calls, info messages, exit and down signals, system requests) except the one
/// it is handling now. `None` if `pid` is not a live process of `node`.
pub fn handled(node: &Node, pid: Pid) -> Option<u64> {
    // The counter first, the state second: a process idle *after* the counter was read
    // has finished every message counted.
    let taken = node.process_info(pid)?.messages_in;
    let state = node.process_info(pid)?.state;
    let busy = matches!(
        state,
        ProcessState::Running | ProcessState::Awaiting | ProcessState::Init
    );
    Some(if busy { taken.saturating_sub(1) } else { taken })
}

/// Waits until `pid` has handled at least `n` messages (see [`handled`]):
/// `wait_handled(&node, pid, 3).within(d).await`.
pub fn wait_handled(node: &Node, pid: Pid, n: u64) -> HandledWait<'_> {
    HandledWait { node, pid, n }
}

/// A wait for a message count; see [`wait_handled`].
#[must_use = "nothing is waited for until `.within(bound).await`"]
pub struct HandledWait<'a> {
    node: &'a Node,
    pid: Pid,
    n: u64,
}

impl HandledWait<'_> {
    /// Waits up to `bound`; the error says the count was not reached (or the process
    /// ended before reaching it).
    pub async fn within(self, bound: Duration) -> Result<(), NotReached> {
        let (node, pid, n) = (self.node, self.pid, self.n);
        eventually(|| handled(node, pid).is_none_or(|h| h >= n))
            .within(bound)
            .await?;
        match handled(node, pid) {
            Some(_) => Ok(()),
            None => Err(NotReached { bound, looks: 0 }),
        }
    }
}
