//! Stopping one child, as OTP does: unlink, monitor, ask it to shut down (a supervisor
//! through its own orderly shutdown, a worker with a `Shutdown` exit signal), wait for
//! its `Down` up to the shutdown timeout, then kill it and wait again. The child has
//! terminated (its name released) when this returns.

use std::pin::pin;

use crate::mailbox::Priority;
use crate::node::Node;
use crate::pid::Pid;
use crate::process::links;
use crate::reason::Reason;
use crate::supervisor::spec::{ChildKind, Shutdown};
use crate::supervisor::SupervisorMessage;

/// Stops `pid` on behalf of `parent` (`None`: the node, for an application's root).
pub(crate) async fn stop_child(
    node: &Node,
    parent: Option<Pid>,
    pid: Pid,
    kind: ChildKind,
    shutdown: Shutdown,
) {
    if let Some(parent) = parent {
        links::unlink(node, parent, pid);
    }
    let Ok(monitor) = node.monitor(pid) else {
        return;
    };
    let from = parent.unwrap_or_else(|| node.pid_of(0));
    if shutdown == Shutdown::BrutalKill {
        links::exit_signal(node, from, pid, Reason::Kill);
        monitor.down().await;
        return;
    }
    let asked = kind == ChildKind::Supervisor
        && node
            .send_with_priority(pid, SupervisorMessage::Shutdown, Priority::Urgent)
            .is_ok();
    if !asked {
        links::exit_signal(node, from, pid, Reason::Shutdown);
    }
    let mut down = pin!(monitor.down());
    if let Shutdown::Timeout(timeout) = shutdown {
        if tokio::time::timeout(timeout, &mut down).await.is_ok() {
            return;
        }
        tracing::warn!(%pid, ?timeout, "child did not shut down in time: killing it");
        links::exit_signal(node, from, pid, Reason::Kill);
    }
    down.await;
}
