//! How a node reaches processes on other nodes: [`RemoteRouter`]s (the native network,
//! Erlang distribution) registered on the node and consulted for every non-local pid.
//!
//! The node keeps the local half of every link and monitor; a router carries the remote
//! half and reports back through [`Node::deliver_exit`] and [`Node::deliver_down`]. On
//! connection loss a router tells every local process linked to or monitoring that
//! peer, with `Reason::NoConnection`, exactly once.

use std::any::Any;
use std::sync::Arc;

use crate::pid::{Atom, Pid, Ref};
use crate::process::core::Signal;
use crate::reason::{Down, Exit, Reason};

use super::Node;

/// A transport to other nodes.
pub trait RemoteRouter: Send + Sync + 'static {
    /// True if this router handles the node called `node`.
    fn reaches(&self, node: Atom) -> bool;
    /// A fallback router (the native network, which can try any node) is asked only
    /// when no other router reaches the node.
    fn is_fallback(&self) -> bool {
        false
    }
    /// Carries an exit signal from a local process to a remote one.
    fn send_exit(&self, from: Pid, to: Pid, reason: Reason);
    /// Asks the remote node to add its half of a link between `local` and `remote`.
    fn link(&self, local: Pid, remote: Pid);
    /// Removes the remote half of a link.
    fn unlink(&self, local: Pid, remote: Pid);
    /// Starts a monitor by `watcher` (local) of `target` (a remote pid, or a name on
    /// `node`). The remote `Down` comes back through [`Node::deliver_down`].
    fn monitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref);
    /// Stops a monitor.
    fn demonitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref);
    /// Carries a `Down` for a monitor a remote process holds on a local one.
    fn send_down(&self, watcher: Pid, down: Down);
    /// Sends an untyped message (each router decides what it can carry); gives it back
    /// if it cannot.
    fn send_any(
        &self,
        from: Option<Pid>,
        to: RemoteTarget,
        msg: Box<dyn Any + Send>,
    ) -> Result<(), Box<dyn Any + Send>>;
}

/// A process on another node: by pid or by registered name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RemoteTarget {
    /// A remote pid.
    Pid(Pid),
    /// A name registered on `node`.
    Name {
        /// The registered name.
        name: Atom,
        /// Its node.
        node: Atom,
    },
}

impl RemoteTarget {
    /// The node the target lives on.
    pub fn node(&self) -> Atom {
        match self {
            RemoteTarget::Pid(pid) => pid.node(),
            RemoteTarget::Name { node, .. } => *node,
        }
    }
}

impl Node {
    /// Registers a transport to other nodes.
    /// Registers a transport to other nodes.
    pub fn add_router(&self, router: Arc<dyn RemoteRouter>) {
        self.inner().routers.write().push(router);
    }

    /// The transport reaching `node`, if any: a specific one first (Erlang
    /// distribution for the Erlang nodes it is connected to), then a fallback.
    pub fn router_for(&self, node: Atom) -> Option<Arc<dyn RemoteRouter>> {
        let routers = self.inner().routers.read();
        routers
            .iter()
            .find(|r| !r.is_fallback() && r.reaches(node))
            .or_else(|| routers.iter().find(|r| r.is_fallback() && r.reaches(node)))
            .cloned()
    }

    /// Delivers an exit signal that arrived from a remote process `from` to the local
    /// process `to`, dropping the local half of their link first (a link fires once).
    pub fn deliver_exit(&self, from: Pid, to: Pid, reason: Reason) -> bool {
        let Some(process) = self.process(to) else {
            return false;
        };
        process
            .core()
            .with_live_side(|side| side.links.retain(|l| *l != from));
        let signal = if reason == Reason::Kill {
            Signal::Kill
        } else {
            Signal::Exit(Exit { from, reason })
        };
        process.signal(signal)
    }

    /// A remote process `remote` links to the local process `local`: adds the local half.
    /// False if `local` is not alive (the router answers with an exit `NoProcess`).
    pub fn accept_remote_link(&self, local: Pid, remote: Pid) -> bool {
        self.process(local)
            .and_then(|p| {
                p.core().with_live_side(|side| {
                    if !side.links.contains(&remote) {
                        side.links.push(remote);
                    }
                })
            })
            .is_some()
    }

    /// A remote process dropped its link to `local`.
    pub fn accept_remote_unlink(&self, local: Pid, remote: Pid) {
        if let Some(p) = self.process(local) {
            p.core()
                .with_live_side(|side| side.links.retain(|l| *l != remote));
        }
    }

    /// A remote `watcher` monitors a local process (by pid or registered name). Returns
    /// the monitored pid, or `None` if there is no such live process (the router then
    /// answers with a `Down` carrying `NoProcess`).
    pub fn accept_remote_monitor(
        &self,
        target: crate::pid::Target,
        watcher: Pid,
        reference: Ref,
    ) -> Option<Pid> {
        let name = match target {
            crate::pid::Target::Name(name) => Some(name),
            _ => None,
        };
        let pid = self.resolve(target)?;
        self.process(pid)?
            .core()
            .with_live_side(|side| {
                side.monitors.push(crate::process::core::Monitor {
                    reference,
                    watcher: crate::process::core::Watcher::Process(watcher),
                    name,
                })
            })
            .map(|_| pid)
    }

    /// A remote watcher dropped its monitor of a local process.
    pub fn accept_remote_demonitor(&self, target: Pid, reference: Ref) {
        crate::process::links::remove_monitor(self, None, target, reference);
    }

    /// Delivers the exit of a remote process linked to the local `to`: always trappable
    /// (a linked process killed elsewhere arrives as an `Exit` with `Kill`, as Erlang's
    /// `killed`), and drops the local half of the link.
    pub fn deliver_link_exit(&self, from: Pid, to: Pid, reason: Reason) -> bool {
        let Some(process) = self.process(to) else {
            return false;
        };
        process
            .core()
            .with_live_side(|side| side.links.retain(|l| *l != from));
        process.signal(Signal::Exit(Exit { from, reason }))
    }

    /// Delivers a `Down` for a monitor a local process holds on a remote one. Dropped if
    /// the watcher demonitored meanwhile (exactly once).
    pub fn deliver_down(&self, watcher: Pid, down: Down) -> bool {
        match self.process(watcher) {
            Some(process) => process.signal(Signal::Down(down)),
            None => false,
        }
    }
}
