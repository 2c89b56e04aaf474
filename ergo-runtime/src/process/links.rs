//! Links, monitors and exit signals between processes, local or on other nodes.
//!
//! Links are bidirectional, as in Erlang: when either side terminates, the other gets
//! an exit signal. We chose Erlang's links over Ergo's one-way ones because supervision
//! and Erlang interop rely on them, and a one-way watch is what a monitor already is.
//! Every link and monitor fires exactly once: the terminating process marks itself dead
//! under the same lock that adding a link or monitor takes. Links and monitors across
//! nodes are also booked per peer (`dist::Books`), so a lost peer fires them once.
//!
//! Through a transport that shares links (`Transport::shares_links`: the native
//! network), the local processes linked to one remote process are linked to it through
//! one wire link held by the node (pid 0): its end crosses once and fans out here. The
//! remote process sees that node's pid 0 as its link: an exit from one of ours reaches
//! it as a link exit from that process, it cannot unlink one of ours by itself, and a
//! lost connection reaches it as one exit from that node's pid 0. The wire link stays
//! when the last local one ends (a later link costs nothing) and goes with an unlink.

use std::sync::Arc;

use crate::dist::{LeftShared, RemoteTarget, Transport};
use crate::error::LinkError;
use crate::node::Node;
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

/// The transport for a pid on another node.
fn transport(node: &Node, pid: Pid) -> Result<Arc<dyn Transport>, LinkError> {
    node.transport_for(pid.node()).ok_or(LinkError::Remote(pid))
}

/// Sends an exit signal from `from` to `to`. `Kill` is untrappable. To a remote
/// process, a signal between linked processes travels as the link firing.
pub(crate) fn exit_signal(node: &Node, from: Pid, to: Pid, reason: Reason) -> bool {
    if !node.is_local(to) {
        if to.node() == node.name() {
            return false; // a pid of a former incarnation of this node
        }
        return match node.transport_for(to.node()) {
            Some(transport) => {
                let books = &node.inner().books;
                // A shared link keeps its wire link (held by pid 0) for the others.
                let link = books.leave_shared_link(from, to, false) != LeftShared::NotLinked
                    || books.remove_link(from, to);
                transport.exit(from, to, reason, link);
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

fn add_link_half(node: &Node, owner: Pid, other: Pid) -> bool {
    node.process(owner)
        .and_then(|p| {
            p.core().with_live_side(|side| {
                if !side.links.contains(&other) {
                    side.links.push(other);
                }
            })
        })
        .is_some()
}

/// Links `a` and `b`. If `b` is not alive, `a` gets an exit signal with `NoProcess`.
pub(crate) fn link(node: &Node, a: Pid, b: Pid) -> Result<(), LinkError> {
    local(node, a)?;
    if a == b {
        return Ok(());
    }
    if !node.is_local(b) {
        if b.node() == node.name() {
            exit_signal(node, b, a, Reason::NoProcess);
            return Ok(());
        }
        let transport = transport(node, b)?;
        if add_link_half(node, a, b) {
            if !transport.shares_links() {
                node.inner().books.add_link(a, b);
                transport.link(a, b);
            } else if node.inner().books.add_shared_link(a, b) {
                // The first local link to `b`: the node links to it for everyone.
                transport.link(node.pid_of(0), b);
            }
        }
        return Ok(());
    }
    if !add_link_half(node, b, a) {
        exit_signal(node, b, a, Reason::NoProcess);
        return Ok(());
    }
    if !add_link_half(node, a, b) {
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
        return;
    }
    let books = &node.inner().books;
    let wire = match books.leave_shared_link(a, b, true) {
        LeftShared::Last => Some(node.pid_of(0)),
        LeftShared::Stays => None,
        LeftShared::NotLinked => books.remove_link(a, b).then_some(a),
    };
    if let Some(local) = wire {
        if let Some(transport) = node.transport_for(b.node()) {
            transport.unlink(local, b);
        }
    }
}

/// Starts a monitor of `target` for `watcher`. If the target is not alive, the `Down`
/// (with `NoProcess`) is delivered at once.
pub(crate) fn monitor(node: &Node, watcher: Watcher, target: Target) -> Result<Ref, LinkError> {
    let (pid, name): (Option<Pid>, Option<Atom>) = match target {
        Target::Pid(pid) if !node.is_local(pid) && pid.node() != node.name() => {
            let transport = transport(node, pid)?;
            return Ok(monitor_remote(
                node,
                transport,
                watcher,
                RemoteTarget::Pid(pid),
                pid,
            ));
        }
        Target::Remote { name, node: at } if at != node.name() => {
            let transport = node.transport_for(at).ok_or(LinkError::Unknown(target))?;
            let placeholder = Pid::new(at, 0, 0);
            let remote = RemoteTarget::Name { name, node: at };
            return Ok(monitor_remote(
                node,
                transport,
                watcher,
                remote,
                placeholder,
            ));
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
                .with_live_side(|side| side.watching.insert(reference, target_pid));
        }
    }
    let mut watcher = Some(watcher);
    if let Some(pid) = pid {
        if let Some(process) = node.process(pid) {
            process.core().with_live_side(|side| {
                let watcher = watcher.take().expect("taken once");
                side.monitors.insert(reference, Monitor { watcher, name })
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

/// A monitor of a process on another node: booked for its peer; the monitor crosses
/// the network only if it is the first of that process from this node (a name's
/// monitor always does). Shared ones are held by the node (pid 0) on the wire.
fn monitor_remote(
    node: &Node,
    transport: Arc<dyn Transport>,
    watcher: Watcher,
    target: RemoteTarget,
    target_pid: Pid,
) -> Ref {
    let reference = node.make_ref();
    let by_name = matches!(target, RemoteTarget::Name { .. });
    let watcher_pid = match &watcher {
        Watcher::Process(w) => {
            let watching = node.process(*w).and_then(|p| {
                p.core()
                    .with_live_side(|side| side.watching.insert(reference, target_pid))
            });
            if watching.is_none() {
                return reference; // the watcher is terminating
            }
            *w
        }
        Watcher::Node(_) => node.pid_of(0),
    };
    let wire_watcher = if by_name { watcher_pid } else { node.pid_of(0) };
    let wire = node
        .inner()
        .books
        .add_watching(reference, watcher, target_pid, by_name);
    if let Some(wire) = wire {
        transport.monitor(wire_watcher, target, wire);
    }
    reference
}

/// Removes a monitor held by `watcher` (a process, or `None` for node-level monitors,
/// which need the target). No `Down` for it is delivered afterwards.
pub(crate) fn demonitor(node: &Node, watcher: Option<Pid>, reference: Ref) -> bool {
    let mut target = None;
    if let Some(w) = watcher.and_then(|w| node.process(w)) {
        w.core().with_live_side(|side| {
            target = side.watching.remove(&reference);
        });
    }
    let Some(target) = target else {
        return false;
    };
    remove_monitor(node, watcher, target, reference);
    true
}

/// Drops the target's half of a monitor (through its transport if the target is
/// remote).
pub(crate) fn remove_monitor(node: &Node, watcher: Option<Pid>, target: Pid, reference: Ref) {
    if !node.is_local(target) {
        let dropped = node.inner().books.take_watching(target.node(), reference);
        // The wire monitor goes with the last local one of its target.
        if let Some(cancel) = dropped.and_then(|d| d.cancel) {
            if let Some(transport) = node.transport_for(target.node()) {
                let by_name = target.id() == 0;
                let wire_watcher = match watcher {
                    Some(w) if by_name => w,
                    _ => node.pid_of(0),
                };
                transport.demonitor(wire_watcher, RemoteTarget::Pid(target), cancel);
            }
        }
        return;
    }
    if let Some(p) = node.process(target) {
        p.core()
            .with_live_side(|side| side.monitors.remove(&reference));
    }
}

/// Delivers a `Down` to a watcher.
pub(crate) fn deliver_down(node: &Node, watcher: Watcher, down: Down) {
    match watcher {
        Watcher::Process(pid) if !node.is_local(pid) => {
            if node
                .inner()
                .books
                .take_watched(pid.node(), down.monitor)
                .is_some()
            {
                if let Some(transport) = node.transport_for(pid.node()) {
                    transport.down(pid, down);
                }
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
