//! How a process ends: `terminate` runs, the actor is dropped, the process leaves the
//! tables, its links get exit signals, its monitors get `Down`, and what is left in its
//! mailbox is discarded (callers are answered with `NoProcess`).

use std::mem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::actor::Actor;
use crate::context::Context;
use crate::node::Node;
use crate::pid::Pid;
use crate::reason::{Down, Exit, Reason};

use super::core::{flag, Core, Side, Signal};
use super::links::deliver_down;
use super::{Cell, Envelope, Slot};

impl<A: Actor> Cell<A> {
    /// Ends the process. Runs on the scheduler thread that ran its last handler.
    pub(crate) fn terminate(self: &Arc<Self>, ctx: &mut Context<A>, reason: Reason) {
        // SAFETY: we still hold the `Running` state.
        let slot = unsafe { &mut *self.slot.get() };
        if let Slot::Ready(actor) = slot {
            let ran = catch_unwind(AssertUnwindSafe(|| actor.terminate(ctx, &reason)));
            if ran.is_err() {
                tracing::error!(pid = %self.core.pid(), "terminate panicked");
            }
        }
        let old = mem::replace(slot, Slot::Empty);
        if catch_unwind(AssertUnwindSafe(|| drop(old))).is_err() {
            tracing::error!(pid = %self.core.pid(), "dropping the actor panicked");
        }
        self.core.set_flag(flag::AWAITING, false);
        log_exit(&self.core, &reason);
        self.mailbox.kill_state();
        release(&self.core, &reason);
        self.mailbox.drain_dead(Envelope::discard);
    }
}

fn log_exit(core: &Core, reason: &Reason) {
    let pid = core.pid();
    match reason {
        Reason::Normal | Reason::Shutdown => {
            tracing::debug!(%pid, %reason, "process terminated")
        }
        _ => tracing::warn!(%pid, %reason, "process terminated abnormally"),
    }
}

/// Takes the process out of every table and tells its links and monitors. Also used
/// when init fails.
pub(crate) fn release(core: &Core, reason: &Reason) {
    let node = &core.node;
    let pid = core.pid();
    // Mark the side dead (allocating it if needed) under its lock: a link or monitor
    // racing this death either got in before, and is notified below, or sees `dead`.
    let side = {
        let mut side = core.side_or_init().lock();
        let taken = mem::take(&mut *side);
        side.dead = true;
        side.parent = taken.parent;
        taken
    };
    node.remove_process(core.id);
    notify(node, pid, side, reason);
}

fn notify(node: &Node, pid: Pid, side: Side, reason: &Reason) {
    if let Some(name) = side.name {
        node.forget_name(name, pid);
    }
    for alias in side.aliases {
        node.forget_alias(alias);
    }
    for timer in side.timers {
        timer.abort();
    }
    // Monitors this process held on others are dropped first (no Down for a dead watcher).
    for (reference, target) in side.watching {
        super::links::remove_monitor(node, Some(pid), target, reference);
    }
    for linked in side.links {
        if !node.is_local(linked) {
            super::links::exit_signal(node, pid, linked, reason.clone());
            continue;
        }
        if let Some(p) = node.process(linked) {
            p.core().with_live_side(|s| s.links.retain(|l| *l != pid));
            p.signal(Signal::Exit(Exit {
                from: pid,
                reason: reason.clone(),
            }));
        }
    }
    for (reference, monitor) in side.monitors {
        let down = Down {
            monitor: reference,
            pid,
            name: monitor.name,
            reason: reason.clone(),
        };
        deliver_down(node, monitor.watcher, down);
    }
}
