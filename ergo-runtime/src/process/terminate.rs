//! How a process ends: `terminate` runs, the actor is dropped, the process leaves the
//! tables, its links get exit signals, its monitors get `Down`, and what is left in its
//! mailbox is discarded (callers are answered with `NoProcess`).

use std::mem;
use std::sync::Arc;

use crate::actor::Actor;
use crate::context::Context;
use crate::node::Node;
use crate::pid::Pid;
use crate::reason::{Down, Exit, Reason};

use super::core::{flag, Core, Side, Signal};
use super::guard::{self, Crash};
use super::links::deliver_down;
use super::{Cell, Envelope, Slot};

impl<A: Actor> Cell<A> {
    /// Ends the process. Runs on the scheduler thread that ran its last handler.
    pub(crate) fn terminate(self: &Arc<Self>, ctx: &mut Context<A>, reason: Reason) {
        self.end(ctx, reason, true);
    }

    /// Ends the process after a handler panicked: the crash is logged once, here.
    pub(crate) fn crash(self: &Arc<Self>, ctx: &mut Context<A>, crash: Crash) {
        crash.log("process", self.core.pid(), self.core.name());
        self.end(ctx, crash.reason, false);
    }

    fn end(self: &Arc<Self>, ctx: &mut Context<A>, reason: Reason, log: bool) {
        // SAFETY: we still hold the `Running` state.
        let slot = unsafe { &mut *self.slot.get() };
        let pid = self.core.pid();
        // Reply tokens the actor still holds (deferred answers) are dropped in here:
        // their callers get `CallError::Exited(reason)`.
        guard::exiting(&reason, || {
            if let Slot::Ready(actor) = slot {
                if let Err(crash) = guard::run(|| actor.terminate(ctx, &reason)) {
                    crash.log("terminate", pid, self.core.name());
                }
            }
            let old = mem::replace(slot, Slot::Empty);
            if let Err(crash) = guard::run(|| drop(old)) {
                crash.log("dropping the actor", pid, self.core.name());
            }
        });
        self.core.set_flag(flag::AWAITING, false);
        if log && !self.core.has_flag(flag::CRASH_LOGGED) {
            log_exit(&self.core, &reason);
        }
        self.mailbox.kill_state();
        release(&self.core, &reason);
        self.mailbox.drain_dead(Envelope::discard);
        self.take_held().into_iter().for_each(Envelope::discard);
    }
}

fn log_exit(core: &Core, reason: &Reason) {
    let pid = core.pid();
    let name = core.name().map(|n| n.to_string()).unwrap_or_default();
    match reason {
        Reason::Normal | Reason::Shutdown => {
            tracing::debug!(%pid, %name, %reason, "process terminated")
        }
        Reason::Foreign(f) if f.shutdown => {
            tracing::debug!(%pid, %name, %reason, "process terminated")
        }
        _ => tracing::warn!(%pid, %name, %reason, "process terminated abnormally"),
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
    // Out of the table first (see `Node::watch_exit`): a mark set after this point is
    // refused there, one set before is seen here.
    crate::sync::fence(crate::sync::Ordering::SeqCst);
    if core.has_flag(super::core::flag::EXIT_HOOKS) {
        let hooks = node.inner().exit_hooks.read().clone();
        for hook in hooks {
            hook(node, pid, reason);
        }
    }
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
    // Monitors fire in the order they were set up (references are made in order).
    let mut monitors: Vec<_> = side.monitors.into_iter().collect();
    monitors.sort_unstable_by_key(|(reference, _)| reference.id());
    for (reference, monitor) in monitors {
        let down = Down {
            monitor: reference,
            pid,
            name: monitor.name,
            reason: reason.clone(),
        };
        deliver_down(node, monitor.watcher, down);
    }
}
