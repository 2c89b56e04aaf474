//! The native network as a [`Transport`]: sends, calls, links, monitors and exit
//! signals to processes on other ergo nodes become frames.

use std::sync::{Arc, Weak};
use std::time::Duration;

use ergo_runtime::dist::{Answer, BoxFuture, NetError, Payload, Reach, RemoteTarget, Transport};
use ergo_runtime::{Atom, Pid, Priority, Reason, Ref, SendError};

use crate::dispatch::priority_byte;
use crate::frame::{Header, WireName, WireTarget};
use crate::peer::PendingError;
use crate::{await_answer, key_of, Network};

pub(crate) struct NetTransport(pub(crate) Weak<Network>);

impl NetTransport {
    fn net(&self) -> Result<Arc<Network>, NetError> {
        self.0.upgrade().ok_or(NetError::NotStarted)
    }
}

/// The wire form of a remote target, and the id its frames are keyed by.
fn wire_target(target: RemoteTarget) -> (WireTarget, u64) {
    match target {
        RemoteTarget::Pid(pid) => (Network::target_of(pid), pid.id()),
        RemoteTarget::Name { name, .. } => (
            WireTarget::Name(WireName::of(name)),
            u64::from(crc32fast::hash(name.as_str().as_bytes())),
        ),
    }
}

impl Transport for NetTransport {
    fn name(&self) -> &'static str {
        "native"
    }

    fn reaches(&self, _node: Atom) -> bool {
        // The native network can try any node; specific transports (Erlang
        // distribution) are asked first.
        self.0.strong_count() > 0
    }

    fn is_fallback(&self) -> bool {
        true
    }

    /// Known: a peer connected or being dialled, or one a static route or an address
    /// it told us points to; can try: any other node (through the registrars).
    fn reach(&self, node: Atom) -> Reach {
        match self.0.upgrade() {
            Some(net) if net.knows(node) => Reach::Known,
            Some(_) => Reach::CanTry,
            None => Reach::No,
        }
    }

    fn send(
        &self,
        from: Option<Pid>,
        to: RemoteTarget,
        priority: Priority,
        payload: Payload<'_>,
        ack: Option<Answer>,
    ) -> Result<(), NetError> {
        let net = self.net()?;
        let peer = net.connected_peer(to.node())?;
        let tag = match ack {
            Some(answer) => {
                let tag = net.tag();
                peer.add_pending(
                    tag,
                    Box::new(move |result| {
                        answer(result.map_err(|e| match e {
                            PendingError::Remote(e) => NetError::Remote(e),
                            PendingError::Lost(e) => e,
                        }))
                    }),
                );
                tag
            }
            None => 0,
        };
        let (target, id) = wire_target(to);
        let header = Header::Send {
            from: from.map_or(0, |p| p.id()),
            to: target,
            priority: priority_byte(priority),
            ack: tag,
        };
        let written = net.write(&peer, key_of(from, id), &header, payload);
        if let Err(e) = written {
            if tag != 0 {
                peer.take_pending(tag);
            }
            return Err(e);
        }
        Ok(())
    }

    fn send_any(
        &self,
        from: Option<Pid>,
        to: RemoteTarget,
        priority: Priority,
        msg: Box<dyn std::any::Any + Send>,
    ) -> Result<(), SendError<Box<dyn std::any::Any + Send>>> {
        let Some(encoder) = ergo_runtime::wire::message_encoder((*msg).type_id()) else {
            return Err(SendError::NotRemote(msg));
        };
        let Ok(net) = self.net() else {
            return Err(SendError::NoConnection(msg));
        };
        let peer = match net.connected_peer(to.node()) {
            Ok(peer) => peer,
            Err(_) => return Err(SendError::NoConnection(msg)),
        };
        let (target, id) = wire_target(to);
        let header = Header::SendAny {
            from: from.map_or(0, |p| p.id()),
            to: target,
            priority: priority_byte(priority),
            kind: encoder.kind.to_owned(),
        };
        let written = net.write(&peer, key_of(from, id), &header, |buf| {
            (encoder.encode)(&*msg, buf)
        });
        match written {
            Ok(()) => Ok(()),
            Err(NetError::Busy(_)) => Err(SendError::Busy(msg)),
            Err(NetError::NoConnection(_)) => Err(SendError::NoConnection(msg)),
            Err(e) => Err(SendError::Encode(e.to_string())),
        }
    }

    fn call(
        &self,
        from: Option<Pid>,
        to: Pid,
        priority: Priority,
        payload: Payload<'_>,
        reply: Answer,
    ) -> Result<(), NetError> {
        let net = self.net()?;
        let peer = net.connected_peer(to.node())?;
        let tag = net.tag();
        peer.add_pending(
            tag,
            Box::new(move |answer| {
                reply(answer.map_err(|e| match e {
                    PendingError::Remote(e) => NetError::Remote(e),
                    PendingError::Lost(e) => e,
                }))
            }),
        );
        let header = Header::Call {
            from: from.map_or(0, |p| p.id()),
            to: Network::target_of(to),
            priority: priority_byte(priority),
            tag,
        };
        if let Err(e) = net.write(&peer, key_of(from, to.id()), &header, payload) {
            peer.take_pending(tag);
            return Err(e);
        }
        Ok(())
    }

    fn shares_links(&self) -> bool {
        true
    }

    fn exit(&self, from: Pid, to: Pid, reason: Reason, link: bool) {
        let Ok(net) = self.net() else { return };
        let exit = Header::Exit {
            from: from.id(),
            from_creation: from.creation(),
            to: to.id(),
            to_creation: to.creation(),
            reason,
            link,
        };
        net.write_control(to.node(), key_of(Some(from), to.id()), exit);
    }

    fn link(&self, local: Pid, remote: Pid) {
        let Ok(net) = self.net() else { return };
        let link = Header::Link {
            from: local.id(),
            to: remote.id(),
            to_creation: remote.creation(),
        };
        net.write_control(remote.node(), key_of(Some(local), remote.id()), link);
    }

    fn unlink(&self, local: Pid, remote: Pid) {
        let Ok(net) = self.net() else { return };
        let unlink = Header::Unlink {
            from: local.id(),
            to: remote.id(),
            to_creation: remote.creation(),
        };
        net.write_control(remote.node(), key_of(Some(local), remote.id()), unlink);
    }

    fn monitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref) {
        let Ok(net) = self.net() else { return };
        let (wire, key) = wire_target(target);
        let monitor = Header::Monitor {
            watcher: watcher.id(),
            target: wire,
            reference: reference.id(),
        };
        net.write_control(target.node(), key_of(Some(watcher), key), monitor);
    }

    fn demonitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref) {
        let Ok(net) = self.net() else { return };
        let (_, key) = wire_target(target);
        let demonitor = Header::Demonitor {
            watcher: watcher.id(),
            target: key,
            reference: reference.id(),
        };
        net.write_control(target.node(), key_of(Some(watcher), key), demonitor);
    }

    fn down(&self, watcher: Pid, down: ergo_runtime::Down) {
        let Ok(net) = self.net() else { return };
        let frame = Header::Down {
            watcher: watcher.id(),
            reference: down.monitor.id(),
            pid: down.pid.id(),
            pid_creation: down.pid.creation(),
            name: down.name.map(WireName::of),
            reason: down.reason,
        };
        net.write_control(watcher.node(), key_of(Some(down.pid), watcher.id()), frame);
    }

    fn lookup(&self, name: Atom, node: Atom) -> BoxFuture<Result<Option<(Pid, String)>, NetError>> {
        let net = match self.net() {
            Ok(net) => net,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let peer = match net.connected_peer(node) {
            Ok(peer) => peer,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let tag = net.tag();
        let answer = await_answer(&peer, tag, Duration::from_secs(5), |bytes| {
            postcard::from_bytes::<Option<(u64, String)>>(bytes).map_err(|e| {
                NetError::Remote(ergo_runtime::dist::RemoteError::Rejected(e.to_string()))
            })
        });
        net.write_control(
            node,
            key_of(None, tag),
            Header::Lookup {
                tag,
                name: WireName::of(name),
            },
        );
        Box::pin(async move {
            let found = answer.await?;
            Ok(found.map(|(id, kind)| (Pid::new(node, id, peer.creation()), kind)))
        })
    }

    fn connected_nodes(&self) -> Vec<Atom> {
        self.0
            .upgrade()
            .map(|net| net.connected_nodes())
            .unwrap_or_default()
    }

    fn disconnect(&self, node: Atom) -> bool {
        self.0.upgrade().is_some_and(|net| net.disconnect(node))
    }

    fn peer_stats(&self) -> Vec<ergo_runtime::dist::PeerStats> {
        self.0
            .upgrade()
            .map(|net| net.peer_stats())
            .unwrap_or_default()
    }

    fn registrar(&self) -> Option<String> {
        self.0.upgrade().map(|net| net.registrar_text())
    }

    fn shutdown(&self) {
        if let Some(net) = self.0.upgrade() {
            net.shutdown();
        }
    }
}
