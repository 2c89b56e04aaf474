//! What a node does with each frame a peer sends it.

use std::sync::Arc;

use ergo_runtime::dist::{Dist, LocalProcess, RemoteError};
use ergo_runtime::{Down, Pid, Priority, Reason, Target};

use crate::frame::{Header, WireTarget};
use crate::peer::{Peer, PendingError};
use crate::{key_of, Network};

fn priority(byte: u8) -> Priority {
    match byte {
        0 => Priority::Urgent,
        1 => Priority::High,
        3 => Priority::Low,
        _ => Priority::Normal,
    }
}

/// The byte a priority travels as.
pub(crate) fn priority_byte(priority: Priority) -> u8 {
    match priority {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Normal => 2,
        Priority::Low => 3,
    }
}

/// The live local process a frame names.
fn resolve(net: &Network, target: &WireTarget) -> Option<Pid> {
    net.dist.resolve(local_target(net, target)?)
}

/// The local target a frame names; `None` for a name this node never interned (it
/// names nothing here, and is not interned now).
fn local_target(net: &Network, target: &WireTarget) -> Option<Target> {
    Some(match target {
        WireTarget::Pid { id, creation } => Target::Pid(Pid::new(net.node.name(), *id, *creation)),
        WireTarget::Name(name) => Target::Name(name.existing()?),
    })
}

fn target_id(target: &WireTarget) -> u64 {
    match target {
        WireTarget::Pid { id, .. } => *id,
        WireTarget::Name(name) => u64::from(crc(&name.0)),
    }
}

fn crc(s: &str) -> u32 {
    crc32fast::hash(s.as_bytes())
}

/// The process the last message of a read batch went to, kept for the next ones (a
/// stream of messages to one process looks it up once per batch).
#[derive(Default)]
pub(crate) struct Recent(Option<(u64, u32, LocalProcess)>);

impl Recent {
    fn deliver(
        &mut self,
        net: &Network,
        to: &WireTarget,
        payload: &[u8],
        p: Priority,
    ) -> Result<(), RemoteError> {
        let WireTarget::Pid { id, creation } = *to else {
            return match local_target(net, to) {
                Some(target) => net.dist.deliver_wire_to(target, payload, p),
                None => Err(RemoteError::NoProcess),
            };
        };
        match &self.0 {
            Some((i, c, process)) if (*i, *c) == (id, creation) => process.deliver_wire(payload, p),
            _ => {
                let pid = Pid::new(net.node.name(), id, creation);
                let process = net.dist.local_process(pid).ok_or(RemoteError::NoProcess)?;
                let result = process.deliver_wire(payload, p);
                self.0 = Some((id, creation, process));
                result
            }
        }
    }
}

pub(crate) fn handle(
    net: &Arc<Network>,
    peer: &Arc<Peer>,
    recent: &mut Recent,
    header: Header,
    payload: &[u8],
) {
    let remote = |id: u64| Pid::new(peer.name, id, peer.creation());
    let local = |id: u64, creation: u32| Pid::new(net.node.name(), id, creation);
    match header {
        Header::Send {
            from,
            to,
            priority: p,
            ack,
        } => {
            let result = recent.deliver(net, &to, payload, priority(p));
            if ack != 0 {
                let key = key_of(Some(remote(from)), target_id(&to));
                net.write_control(
                    peer.name,
                    key,
                    Header::Ack {
                        tag: ack,
                        status: result,
                    },
                );
            } else if let Err(e) = result {
                // The sender did not ask to know: counted, and logged rate-limited.
                net.refused_plain
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let node = net.node.name().as_str();
                net.logs.warn(&node, "message refused", || {
                    tracing::warn!(node = %node, from = %remote(from), ?to, error = %e, "message from the network refused");
                });
            }
        }
        Header::SendAny {
            from,
            to,
            priority: p,
            kind,
        } => {
            let result = match resolve(net, &to) {
                Some(pid) => net.dist.deliver_wire_any(pid, &kind, payload, priority(p)),
                None => Err(RemoteError::NoProcess),
            };
            if let Err(e) = result {
                net.refused_plain
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let node = net.node.name().as_str();
                net.logs.warn(&node, "message refused", || {
                    tracing::warn!(node = %node, from = %remote(from), ?to, %kind, error = %e, "untyped message from the network refused");
                });
            }
        }
        Header::Call {
            from,
            to,
            priority: p,
            tag,
        } => {
            Dist::exchange();
            let process = resolve(net, &to);
            // Replies take the slot of (callee → caller), like the callee's own sends.
            let callee = process.map_or(target_id(&to), |p| p.id());
            let key = crate::peer::pair_key(callee, from);
            // The reply goes back on this peer's connections; if they were lost
            // meanwhile, the caller has already been told (`NoConnection`).
            let (reply_net, reply_peer) = (net.clone(), peer.clone());
            let reply = Box::new(move |result: Result<Vec<u8>, RemoteError>| {
                let (status, bytes) = match result {
                    Ok(bytes) => (Ok(()), bytes),
                    Err(e) => (Err(e), Vec::new()),
                };
                reply_net.write_reply(&reply_peer, key, &Header::Reply { tag, status }, &bytes);
            });
            let delivered = match process {
                Some(pid) => net.dist.call_wire(pid, payload, priority(p), reply),
                None => Err(RemoteError::NoProcess),
            };
            if let Err(e) = delivered {
                tracing::debug!(node = %net.node.name(), ?to, error = %e, "call from the network refused");
                net.write_control(
                    peer.name,
                    key,
                    Header::Reply {
                        tag,
                        status: Err(e),
                    },
                );
            }
        }
        Header::Reply { tag, status } | Header::Ack { tag, status } => {
            Dist::exchange();
            if let Some(pending) = peer.take_pending(tag) {
                pending(status.map(|()| payload).map_err(PendingError::Remote));
            }
        }
        Header::Found { tag, found } => {
            if let Some(pending) = peer.take_pending(tag) {
                let bytes = postcard::to_allocvec(&found).unwrap_or_default();
                pending(Ok(&bytes));
            }
        }
        Header::Spawned { tag, result } => {
            if let Some(pending) = peer.take_pending(tag) {
                match result {
                    Ok(id) => pending(Ok(&id.to_le_bytes())),
                    Err(e) => pending(Err(PendingError::Remote(e))),
                }
            }
        }
        Header::Exit {
            from,
            from_creation,
            to,
            to_creation,
            reason,
            link,
        } => {
            let from = Pid::new(peer.name, from, from_creation);
            let to = local(to, to_creation);
            if link {
                net.dist.deliver_link_exit(from, to, reason);
            } else {
                net.dist.deliver_exit(from, to, reason);
            }
        }
        Header::Link {
            from,
            to,
            to_creation,
        } => {
            let (from, to) = (remote(from), local(to, to_creation));
            if !net.dist.accept_link(to, from) {
                let reason = Reason::NoProcess;
                let exit = Header::Exit {
                    from: to.id(),
                    from_creation: to.creation(),
                    to: from.id(),
                    to_creation: from.creation(),
                    reason,
                    link: true,
                };
                net.write_control(peer.name, key_of(Some(to), from.id()), exit);
            }
        }
        Header::Unlink {
            from,
            to,
            to_creation,
        } => {
            let (from, to) = (remote(from), local(to, to_creation));
            net.dist.accept_unlink(to, from);
        }
        Header::Monitor {
            watcher,
            target,
            reference,
        } => {
            let r = net.dist.remote_ref(peer.name, peer.creation(), reference);
            let accepted = local_target(net, &target)
                .and_then(|local| net.dist.accept_monitor(local, remote(watcher), r));
            match accepted {
                Some(_) => {}
                None => {
                    let (pid, pid_creation, name) = match target {
                        WireTarget::Pid { id, creation } => (id, creation, None),
                        WireTarget::Name(name) => (0, net.node.creation(), Some(name)),
                    };
                    let down = Header::Down {
                        watcher,
                        reference,
                        pid,
                        pid_creation,
                        name,
                        reason: Reason::NoProcess,
                    };
                    net.write_control(peer.name, key_of(None, watcher), down);
                }
            }
        }
        Header::Demonitor {
            watcher, reference, ..
        } => {
            let r = net.dist.remote_ref(peer.name, peer.creation(), reference);
            net.dist.accept_demonitor(remote(watcher), r);
        }
        Header::Down {
            watcher,
            reference,
            pid,
            pid_creation,
            name,
            reason,
        } => {
            let _ = watcher;
            let down = Down {
                monitor: net.dist.local_ref(reference),
                pid: Pid::new(peer.name, pid, pid_creation),
                // We monitored that name, so it is interned here (else it is dropped).
                name: name.and_then(|n| n.existing()),
                reason,
            };
            net.dist.deliver_down(down);
        }
        Header::Lookup { tag, name } => {
            let found = name
                .existing()
                .and_then(|name| net.dist.lookup(name))
                .map(|(pid, kind)| (pid.id(), kind.to_owned()));
            net.write_control(peer.name, key_of(None, tag), Header::Found { tag, found });
        }
        Header::Spawn { tag, factory, name } => {
            crate::spawn::serve(net, peer.name, tag, factory, name, payload.to_vec());
        }
        Header::StartApp { tag, name } => crate::spawn::serve_start(net, peer.name, tag, &name),
        Header::Ping | Header::Pong => {}
    }
}
