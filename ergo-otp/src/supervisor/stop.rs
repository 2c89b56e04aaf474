//! Stopping one child, as OTP does: unlink, monitor, ask it to shut down (a supervisor
//! through its own orderly shutdown, a worker with a `Shutdown` exit signal), wait for
//! its `Down` up to the shutdown timeout, then kill it and wait again. The child has
//! terminated (its name released) when this returns.

use std::pin::pin;

use crate::supervisor::spec::{ChildKind, Shutdown};
use crate::supervisor::SupervisorMessage;
use ergo_runtime::Node;
use ergo_runtime::Pid;
use ergo_runtime::Priority;
use ergo_runtime::Reason;

/// Stops `pid` on behalf of `parent` (`None`: the node, for an application's root).
pub(crate) async fn stop_child(
    node: &Node,
    parent: Option<Pid>,
    pid: Pid,
    kind: ChildKind,
    shutdown: Shutdown,
) {
    if let Some(parent) = parent {
        node.unlink(parent, pid);
    }
    let Ok(monitor) = node.monitor(pid) else {
        return;
    };

    if shutdown == Shutdown::BrutalKill {
        exit(node, parent, pid, Reason::Kill);
        monitor.down().await;
        return;
    }
    let asked = kind == ChildKind::Supervisor
        && node
            .send_with_priority(pid, SupervisorMessage::Shutdown, Priority::Urgent)
            .is_ok();
    if !asked {
        exit(node, parent, pid, Reason::Shutdown);
    }
    let mut down = pin!(monitor.down());
    if let Shutdown::Timeout(timeout) = shutdown {
        if tokio::time::timeout(timeout, &mut down).await.is_ok() {
            return;
        }
        tracing::warn!(%pid, ?timeout, "child did not shut down in time: killing it");
        exit(node, parent, pid, Reason::Kill);
    }
    down.await;
}

/// An exit signal to `pid` from its parent (untrappable), or from the node.
fn exit(node: &Node, parent: Option<Pid>, pid: Pid, reason: Reason) {
    match parent {
        Some(parent) => node.send_exit_from(parent, pid, reason),
        None => node.send_exit(pid, reason),
    };
}
