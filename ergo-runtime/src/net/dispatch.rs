//! What a node does with each frame a peer sends it.

use std::sync::Arc;

use crate::mailbox::Priority;
use crate::pid::{Pid, Ref, Target};
use crate::process::core::AnyProcess;
use crate::reason::{Down, Reason};

use super::frame::{Header, RemoteError, WireTarget};
use super::peer::{Peer, PendingError};
use super::{key_of, Network};

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

fn resolve(net: &Network, target: WireTarget) -> Option<Arc<dyn AnyProcess>> {
    let node = &net.node;
    let pid = match target {
        WireTarget::Pid { id, creation } => Pid::new(node.name(), id, creation),
        WireTarget::Name(name) => node.whereis(name)?,
    };
    node.process(pid)
}

fn target_id(target: WireTarget) -> u64 {
    match target {
        WireTarget::Pid { id, .. } => id,
        WireTarget::Name(name) => u64::from(crc(&name.as_str())),
    }
}

fn crc(s: &str) -> u32 {
    crc32fast::hash(s.as_bytes())
}

pub(crate) fn handle(net: &Arc<Network>, peer: &Arc<Peer>, header: Header, payload: &[u8]) {
    let remote = |id: u64| Pid::new(peer.name, id, peer.creation());
    match header {
        Header::Send {
            from,
            to,
            priority: p,
            ack,
        } => {
            let result = match resolve(net, to) {
                Some(process) => process.deliver_wire(payload, priority(p)),
                None => Err(RemoteError::NoProcess),
            };
            if ack != 0 {
                let key = key_of(Some(remote(from)), target_id(to));
                net.write_control(
                    peer.name,
                    key,
                    Header::Ack {
                        tag: ack,
                        status: result,
                    },
                );
            } else if let Err(e) = result {
                tracing::warn!(node = %net.node.name(), from = %remote(from), ?to, error = %e, "message from the network refused");
            }
        }
        Header::Call {
            from,
            to,
            priority: p,
            tag,
        } => {
            let process = resolve(net, to);
            // Replies take the slot of (callee → caller), like the callee's own sends.
            let callee = process.as_ref().map_or(target_id(to), |p| p.core().id);
            let key = super::peer::pair_key(callee, from);
            let (reply_net, name) = (net.clone(), peer.name);
            let reply = Box::new(move |result: Result<Vec<u8>, RemoteError>| {
                let peer = reply_net.connected_peer(name);
                let status = result.as_ref().map(|_| ()).map_err(Clone::clone);
                let _ = reply_net.write(&peer, key, &Header::Reply { tag, status }, |buf| {
                    if let Ok(bytes) = &result {
                        buf.extend_from_slice(bytes);
                    }
                    Ok(())
                });
            });
            let delivered = match process {
                Some(process) => process.call_wire(payload, priority(p), reply),
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
            to,
            reason,
            link,
        } => {
            let (from, to) = (remote(from), net.node.pid_of(to));
            if link {
                peer.links.lock().remove(&(to, from));
                net.node.deliver_link_exit(from, to, reason);
            } else {
                net.node.deliver_exit(from, to, reason);
            }
        }
        Header::Link { from, to } => {
            let (from, to) = (remote(from), net.node.pid_of(to));
            if net.node.accept_remote_link(to, from) {
                peer.links.lock().insert((to, from));
            } else {
                let reason = Reason::NoProcess;
                let exit = Header::Exit {
                    from: to.id(),
                    to: from.id(),
                    reason,
                    link: true,
                };
                net.write_control(peer.name, key_of(Some(to), from.id()), exit);
            }
        }
        Header::Unlink { from, to } => {
            let (from, to) = (remote(from), net.node.pid_of(to));
            peer.links.lock().remove(&(to, from));
            net.node.accept_remote_unlink(to, from);
        }
        Header::Monitor {
            watcher,
            target,
            reference,
        } => {
            let r = Ref::new(peer.name, peer.creation(), reference);
            let local = match target {
                WireTarget::Pid { id, creation } => {
                    Target::Pid(Pid::new(net.node.name(), id, creation))
                }
                WireTarget::Name(name) => Target::Name(name),
            };
            match net.node.accept_remote_monitor(local, remote(watcher), r) {
                Some(pid) => {
                    peer.watched.lock().insert(reference, pid);
                }
                None => {
                    let (pid, name) = match target {
                        WireTarget::Pid { id, .. } => (id, None),
                        WireTarget::Name(name) => (0, Some(name)),
                    };
                    let down = Header::Down {
                        watcher,
                        reference,
                        pid,
                        name,
                        reason: Reason::NoProcess,
                    };
                    net.write_control(peer.name, key_of(None, watcher), down);
                }
            }
        }
        Header::Demonitor {
            target, reference, ..
        } => {
            peer.watched.lock().remove(&reference);
            let r = Ref::new(peer.name, peer.creation(), reference);
            net.node.accept_remote_demonitor(net.node.pid_of(target), r);
        }
        Header::Down {
            watcher,
            reference,
            pid,
            name,
            reason,
        } => {
            peer.watching.lock().remove(&reference);
            let down = Down {
                monitor: net.node.local_ref(reference),
                pid: remote(pid),
                name,
                reason,
            };
            net.node.deliver_down(net.node.pid_of(watcher), down);
        }
        Header::Lookup { tag, name } => {
            let found = net.node.whereis(name).and_then(|pid| {
                net.node
                    .process(pid)
                    .map(|p| (pid.id(), p.kind().to_owned()))
            });
            net.write_control(peer.name, key_of(None, tag), Header::Found { tag, found });
        }
        Header::Spawn { tag, factory, name } => {
            super::spawn::serve(net, peer.name, tag, factory, name, payload.to_vec());
        }
        Header::StartApp { tag, name } => super::spawn::serve_start(net, peer.name, tag, name),
        Header::Ping | Header::Pong => {}
    }
}
