//! The native network as a [`RemoteRouter`]: links, monitors and exit signals to
//! processes on other ergo nodes become frames.

use std::any::Any;
use std::sync::Weak;

use crate::node::{RemoteRouter, RemoteTarget};
use crate::pid::{Atom, Pid, Ref};
use crate::reason::{Down, Reason};

use super::frame::{Header, WireTarget};
use super::{key_of, Network};

pub(crate) struct NetRouter(pub(crate) Weak<Network>);

impl RemoteRouter for NetRouter {
    fn reaches(&self, _node: Atom) -> bool {
        // The native network can try any node; specific transports (Erlang
        // distribution) are asked first.
        self.0.strong_count() > 0
    }

    fn is_fallback(&self) -> bool {
        true
    }

    fn send_exit(&self, from: Pid, to: Pid, reason: Reason) {
        let Some(net) = self.0.upgrade() else { return };
        let link = net.peer(to.node()).links.lock().remove(&(from, to));
        let exit = Header::Exit {
            from: from.id(),
            to: to.id(),
            reason,
            link,
        };
        net.write_control(to.node(), key_of(Some(from), to.id()), exit);
    }

    fn link(&self, local: Pid, remote: Pid) {
        let Some(net) = self.0.upgrade() else { return };
        net.connected_peer(remote.node())
            .links
            .lock()
            .insert((local, remote));
        let link = Header::Link {
            from: local.id(),
            to: remote.id(),
        };
        net.write_control(remote.node(), key_of(Some(local), remote.id()), link);
    }

    fn unlink(&self, local: Pid, remote: Pid) {
        let Some(net) = self.0.upgrade() else { return };
        net.peer(remote.node())
            .links
            .lock()
            .remove(&(local, remote));
        let unlink = Header::Unlink {
            from: local.id(),
            to: remote.id(),
        };
        net.write_control(remote.node(), key_of(Some(local), remote.id()), unlink);
    }

    fn monitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref) {
        let Some(net) = self.0.upgrade() else { return };
        let (node, wire, target_pid, key) = match target {
            RemoteTarget::Pid(pid) => (pid.node(), Network::target_of(pid), pid, pid.id()),
            RemoteTarget::Name { name, node } => (
                node,
                WireTarget::Name(name),
                Pid::new(node, 0, 0),
                u64::from(crc32fast::hash(name.as_str().as_bytes())),
            ),
        };
        let reference_id = ref_id(reference);
        net.connected_peer(node)
            .watching
            .lock()
            .insert(reference_id, (watcher, target_pid));
        let monitor = Header::Monitor {
            watcher: watcher.id(),
            target: wire,
            reference: reference_id,
        };
        net.write_control(node, key_of(Some(watcher), key), monitor);
    }

    fn demonitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref) {
        let Some(net) = self.0.upgrade() else { return };
        let RemoteTarget::Pid(pid) = target else {
            return;
        };
        let reference_id = ref_id(reference);
        net.peer(pid.node()).watching.lock().remove(&reference_id);
        let demonitor = Header::Demonitor {
            watcher: watcher.id(),
            target: pid.id(),
            reference: reference_id,
        };
        net.write_control(pid.node(), key_of(Some(watcher), pid.id()), demonitor);
    }

    fn send_down(&self, watcher: Pid, down: Down) {
        let Some(net) = self.0.upgrade() else { return };
        let reference_id = ref_id(down.monitor);
        net.peer(watcher.node())
            .watched
            .lock()
            .remove(&reference_id);
        let frame = Header::Down {
            watcher: watcher.id(),
            reference: reference_id,
            pid: down.pid.id(),
            name: down.name,
            reason: down.reason,
        };
        net.write_control(watcher.node(), key_of(Some(down.pid), watcher.id()), frame);
    }

    fn send_any(
        &self,
        _from: Option<Pid>,
        _to: RemoteTarget,
        msg: Box<dyn Any + Send>,
    ) -> Result<(), Box<dyn Any + Send>> {
        // Untyped messages have no wire format; remote sends go through a typed ActorRef.
        Err(msg)
    }
}

fn ref_id(reference: Ref) -> u64 {
    reference.id()
}
