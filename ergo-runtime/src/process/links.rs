//! Links, monitors and exit signals between processes.
//!
//! Links are bidirectional, as in Erlang: when either side terminates, the other gets
//! an exit signal. We chose Erlang's links over Ergo's one-way ones because supervision
//! and Erlang interop rely on them, and a one-way watch is what a monitor already is.
//! Every link and monitor fires exactly once: the terminating process marks itself dead
//! under the same lock that adding a link or monitor takes.

use std::sync::Arc;

use crate::error::LinkError;
use crate::node::Node;
use crate::node::{RemoteRouter, RemoteTarget};
use crate::pid::{Atom, Pid, Ref, Target};
use crate::reason::{Down, Exit, Reason};

use super::core::{Monitor, Signal, Watcher};

fn local(node: &Node, pid: Pid) -> Result<(), LinkError> {
    if node.is_local(pid) {
        Ok(())
    } else {
        Err(LinkError::Remote(pid))
    }
}

/// The router for a pid on another node.
fn router(node: &Node, pid: Pid) -> Result<Arc<dyn RemoteRouter>, LinkError> {
    node.router_for(pid.node()).ok_or(LinkError::Remote(pid))
}

/// Sends an exit signal from `from` to `to`. `Kill` is untrappable.
pub(crate) fn exit_signal(node: &Node, from: Pid, to: Pid, reason: Reason) -> bool {
    if !node.is_local(to) {
        return match node.router_for(to.node()) {
            Some(router) => {
                router.send_exit(from, to, reason);
                true
            }
            None => false,
        };
    }
    let Some(process) = node.process(to) else {
        return false;
    };
    let signal = if reason == Reason::Kill {
        Signal::Kill
    } else {
        Signal::Exit(Exit { from, reason })
    };
    process.signal(signal)
}

/// Links `a` and `b`. If `b` is not alive, `a` gets an exit signal with `NoProcess`.
pub(crate) fn link(node: &Node, a: Pid, b: Pid) -> Result<(), LinkError> {
    local(node, a)?;
    if a == b {
        return Ok(());
    }
    if !node.is_local(b) {
        let router = router(node, b)?;
        let added = node.process(a).and_then(|pa| {
            pa.core().with_live_side(|side| {
                if !side.links.contains(&b) {
                    side.links.push(b);
                }
            })
        });
        if added.is_some() {
            router.link(a, b);
        }
        return Ok(());
    }
    let linked_b = node.process(b).and_then(|pb| {
        pb.core().with_live_side(|side| {
            if !side.links.contains(&a) {
                side.links.push(a);
            }
        })
    });
    if linked_b.is_none() {
        exit_signal(node, b, a, Reason::NoProcess);
        return Ok(());
    }
    let linked_a = node.process(a).and_then(|pa| {
        pa.core().with_live_side(|side| {
            if !side.links.contains(&b) {
                side.links.push(b);
            }
        })
    });
    if linked_a.is_none() {
        // `a` is terminating and did not see the link: undo it, tell `b`.
        unlink_one(node, b, a);
        exit_signal(node, a, b, Reason::NoProcess);
    }
    Ok(())
}

fn unlink_one(node: &Node, owner: Pid, other: Pid) {
    if let Some(p) = node.process(owner) {
        p.core()
            .with_live_side(|side| side.links.retain(|l| *l != other));
    }
}

/// Removes the link between `a` and `b`, if any.
pub(crate) fn unlink(node: &Node, a: Pid, b: Pid) {
    unlink_one(node, a, b);
    if node.is_local(b) {
        unlink_one(node, b, a);
    } else if let Some(router) = node.router_for(b.node()) {
        router.unlink(a, b);
    }
}

/// Starts a monitor of `target` for `watcher`. If the target is not alive, the `Down`
/// (with `NoProcess`) is delivered at once.
pub(crate) fn monitor(node: &Node, watcher: Watcher, target: Target) -> Result<Ref, LinkError> {
    let (pid, name): (Option<Pid>, Option<Atom>) = match target {
        Target::Pid(pid) if !node.is_local(pid) => {
            let router = router(node, pid)?;
            let Watcher::Process(w) = watcher else {
                return Err(LinkError::Remote(pid));
            };
            let reference = node.make_ref();
            let watching = node.process(w).and_then(|p| {
                p.core()
                    .with_live_side(|side| side.watching.push((reference, pid)))
            });
            if watching.is_some() {
                router.monitor(w, RemoteTarget::Pid(pid), reference);
            }
            return Ok(reference);
        }
        Target::Remote { name, node: at } if at != node.name() => {
            let router = node.router_for(at).ok_or(LinkError::Unknown(target))?;
            let Watcher::Process(w) = watcher else {
                return Err(LinkError::Unknown(target));
            };
            let reference = node.make_ref();
            let placeholder = Pid::new(at, 0, 0);
            let watching = node.process(w).and_then(|p| {
                p.core()
                    .with_live_side(|side| side.watching.push((reference, placeholder)))
            });
            if watching.is_some() {
                router.monitor(w, RemoteTarget::Name { name, node: at }, reference);
            }
            return Ok(reference);
        }
        Target::Remote { name, .. } => (node.whereis(name), Some(name)),
        Target::Pid(pid) => (Some(pid), None),
        Target::Name(name) => (node.whereis(name), Some(name)),
        Target::Alias(alias) => (node.alias_owner(alias), None),
    };
    let reference = node.make_ref();
    if let Watcher::Process(w) = &watcher {
        if let Some(p) = node.process(*w) {
            let target_pid = pid.unwrap_or(*w);
            p.core()
                .with_live_side(|side| side.watching.push((reference, target_pid)));
        }
    }
    let mut watcher = Some(watcher);
    if let Some(pid) = pid {
        if let Some(process) = node.process(pid) {
            process.core().with_live_side(|side| {
                side.monitors.push(Monitor {
                    reference,
                    watcher: watcher.take().expect("taken once"),
                    name,
                })
            });
        }
    }
    if let Some(watcher) = watcher {
        let down = Down {
            monitor: reference,
            pid: pid.unwrap_or_else(|| node.pid_of(0)),
            name,
            reason: Reason::NoProcess,
        };
        deliver_down(node, watcher, down);
    }
    Ok(reference)
}

/// Removes a monitor held by `watcher` (a process, or `None` for node-level monitors,
/// which need the target). No `Down` for it is delivered afterwards.
pub(crate) fn demonitor(node: &Node, watcher: Option<Pid>, reference: Ref) -> bool {
    let mut target = None;
    if let Some(w) = watcher.and_then(|w| node.process(w)) {
        w.core().with_live_side(|side| {
            if let Some(i) = side.watching.iter().position(|(r, _)| *r == reference) {
                target = Some(side.watching.swap_remove(i).1);
            }
        });
    }
    let Some(target) = target else {
        return false;
    };
    remove_monitor(node, watcher, target, reference);
    true
}

/// Drops the target's half of a monitor (routed if the target is remote).
pub(crate) fn remove_monitor(node: &Node, watcher: Option<Pid>, target: Pid, reference: Ref) {
    if !node.is_local(target) {
        if let (Some(router), Some(w)) = (node.router_for(target.node()), watcher) {
            router.demonitor(w, RemoteTarget::Pid(target), reference);
        }
        return;
    }
    if let Some(p) = node.process(target) {
        p.core()
            .with_live_side(|side| side.monitors.retain(|m| m.reference != reference));
    }
}

/// Delivers a `Down` to a watcher.
pub(crate) fn deliver_down(node: &Node, watcher: Watcher, down: Down) {
    match watcher {
        Watcher::Process(pid) if !node.is_local(pid) => {
            if let Some(router) = node.router_for(pid.node()) {
                router.send_down(pid, down);
            }
        }
        Watcher::Process(pid) => {
            if let Some(p) = node.process(pid) {
                p.signal(Signal::Down(down));
            }
        }
        Watcher::Node(tx) => drop(tx.send(down)),
    }
}
