//! The native network: nodes talk over TCP with a cookie handshake, length-prefixed
//! frames, a pool of connections per peer, optional lz4 compression, keepalives, and
//! discovery through static routes or an embedded registrar.
//!
//! Each node sends only on connections it dialed and reads only from connections it
//! accepted, so there is never a tie to break between two nodes dialing each other; a
//! peer learns where to dial back from the handshake. Frames between one sender and one
//! receiver always take the same connection of the pool, so their order is kept.

mod conn;
mod dispatch;
pub mod frame;
pub mod handshake;
mod options;
mod peer;
pub mod registrar;
mod remote_ref;
mod router;
mod spawn;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

pub use options::{NetOptions, Route};
pub use registrar::Registrar;
pub(crate) use remote_ref::RemoteRef;
pub use spawn::SpawnPermission;

use crate::node::Node;
use crate::pid::{Atom, Pid};
use frame::{Header, RemoteError, WireTarget};
use peer::{pair_key, Peer, Pending, PendingError};

/// Errors of the network layer as callers see them.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The node has no network (see `NodeBuilder::network`).
    #[error("the node's network is not started")]
    NotStarted,
    /// The peer could not be reached (no route, refused, handshake failed, lost).
    #[error("no connection to {0}")]
    NoConnection(Atom),
    /// The remote node answered with an error.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Wire(#[from] crate::wire::WireError),
    /// A remote process runs another actor type than the one asked for.
    #[error("the remote process runs `{found}`, not `{expected}`")]
    WrongType {
        /// What the caller asked for.
        expected: &'static str,
        /// What the remote node reports.
        found: String,
    },
    /// Binding the listener failed.
    #[error("cannot listen: {0}")]
    Listen(String),
}

/// The network of one node.
pub(crate) struct Network {
    pub(crate) node: Node,
    pub(crate) options: NetOptions,
    pub(crate) listen: SocketAddr,
    peers: Mutex<FxHashMap<Atom, Arc<Peer>>>,
    /// Ports peers told us in their handshake (where to dial them back).
    learned: Mutex<FxHashMap<Atom, SocketAddr>>,
    next_tag: AtomicU64,
    pub(crate) spawns: spawn::Factories,
    pub(crate) starts: spawn::RemoteStarts,
    pub(crate) registrar: registrar::Client,
    /// The acceptor and registrar tasks, ended when the node stops.
    pub(crate) tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Network {
    pub(crate) fn tag(&self) -> u64 {
        self.next_tag.fetch_add(1, Ordering::Relaxed)
    }

    /// The peer called `name`, created (and dialed on first write) if needed.
    pub(crate) fn peer(self: &Arc<Self>, name: Atom) -> Arc<Peer> {
        let mut peers = self.peers.lock();
        peers
            .entry(name)
            .or_insert_with(|| Arc::new(Peer::new(name, self.options.pool_size)))
            .clone()
    }

    /// The peer, and its connections dialed if they are not yet.
    pub(crate) fn connected_peer(self: &Arc<Self>, name: Atom) -> Arc<Peer> {
        let peer = self.peer(name);
        if !peer.dialing.swap(true, Ordering::AcqRel) {
            conn::dial(self.clone(), peer.clone());
        }
        peer
    }

    pub(crate) fn learn_address(&self, name: Atom, addr: SocketAddr) {
        self.learned.lock().insert(name, addr);
    }

    pub(crate) fn learned_address(&self, name: Atom) -> Option<SocketAddr> {
        self.learned.lock().get(&name).copied()
    }

    /// Forgets a lost peer and tells everyone who depended on it.
    pub(crate) fn peer_down(&self, peer: &Arc<Peer>, why: &str) {
        if peer.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let mut peers = self.peers.lock();
            if peers.get(&peer.name).is_some_and(|p| Arc::ptr_eq(p, peer)) {
                peers.remove(&peer.name);
            }
        }
        tracing::warn!(node = %self.node.name(), peer = %peer.name, why, "connection lost");
        for task in peer.tasks.lock().drain(..) {
            task.abort();
        }
        let pending: Vec<Pending> = peer.pending.lock().drain().map(|(_, p)| p).collect();
        for p in pending {
            p(Err(PendingError::NoConnection));
        }
        let links: Vec<(Pid, Pid)> = peer.links.lock().drain().collect();
        for (local, remote) in links {
            self.node
                .deliver_link_exit(remote, local, crate::reason::Reason::NoConnection);
        }
        let watching: Vec<(u64, (Pid, Pid))> = peer.watching.lock().drain().collect();
        for (reference, (watcher, target)) in watching {
            let down = crate::reason::Down {
                monitor: self.node.local_ref(reference),
                pid: target,
                name: None,
                reason: crate::reason::Reason::NoConnection,
            };
            self.node.deliver_down(watcher, down);
        }
        let watched: Vec<(u64, Pid)> = peer.watched.lock().drain().collect();
        for (reference, target) in watched {
            let r = crate::pid::Ref::new(peer.name, peer.creation(), reference);
            self.node.accept_remote_demonitor(target, r);
        }
    }

    /// Closes everything: the listener, the registrar, every connection.
    pub(crate) fn shutdown(&self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        let peers: Vec<Arc<Peer>> = self.peers.lock().values().cloned().collect();
        for peer in peers {
            self.peer_down(&peer, "node stopping");
        }
    }

    /// Writes a frame to `peer` on the slot of `key`.
    pub(crate) fn write(
        self: &Arc<Self>,
        peer: &Peer,
        key: u64,
        header: &Header,
        payload: impl FnOnce(&mut Vec<u8>) -> Result<(), crate::wire::WireError>,
    ) -> Result<(), crate::wire::WireError> {
        // The sending process's own threshold, else the node's.
        let compress = crate::process::current::with(|c| c.compress_above())
            .flatten()
            .unwrap_or(self.options.compress_above);
        peer.write(key, |buf| frame::encode(buf, header, compress, payload))
    }

    /// Writes a header-only frame.
    pub(crate) fn write_control(self: &Arc<Self>, to: Atom, key: u64, header: Header) {
        let peer = self.connected_peer(to);
        let _ = self.write(&peer, key, &header, |_| Ok(()));
    }

    /// The wire form of a pid on its own node.
    pub(crate) fn target_of(pid: Pid) -> WireTarget {
        WireTarget::Pid {
            id: pid.id(),
            creation: pid.creation(),
        }
    }
}

impl Node {
    pub(crate) fn net(&self) -> Option<&Arc<Network>> {
        self.inner().net.get()
    }

    pub(crate) fn net_or_err(&self) -> Result<&Arc<Network>, NetError> {
        self.net().ok_or(NetError::NotStarted)
    }

    /// The address this node accepts connections on, once its network runs.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.net().map(|n| n.listen)
    }

    /// Starts the node's network (also done by `NodeBuilder::network`).
    pub async fn start_network(&self, options: NetOptions) -> Result<SocketAddr, NetError> {
        if let Some(net) = self.net() {
            return Ok(net.listen);
        }
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| NetError::Listen(e.to_string()))?;
        let listen = listener
            .local_addr()
            .map_err(|e| NetError::Listen(e.to_string()))?;
        let net = Arc::new(Network {
            node: self.clone(),
            registrar: registrar::Client::new(options.registrar),
            options,
            listen,
            peers: Mutex::default(),
            learned: Mutex::default(),
            next_tag: AtomicU64::new(1),
            spawns: spawn::Factories::default(),
            starts: spawn::RemoteStarts::default(),
            tasks: Mutex::default(),
        });
        if self.inner().net.set(net.clone()).is_err() {
            return Ok(self.net().map_or(listen, |n| n.listen));
        }
        conn::accept_loop(net.clone(), listener);
        if let Some(external) = &net.options.external_registrar {
            external.register(&self.name().as_str(), listen).await;
        }
        if net.options.registrar.is_some() {
            net.registrar.register(&net).await;
        }
        self.add_router(Arc::new(router::NetRouter(Arc::downgrade(&net))));
        tracing::info!(node = %self.name(), %listen, "network started");
        Ok(listen)
    }

    /// Drops the connections to `node` (as Erlang's `disconnect_node`): every link and
    /// monitor through them fires with `NoConnection`; the next send reconnects.
    pub fn disconnect(&self, node: &str) -> bool {
        let Some(net) = self.net() else { return false };
        let peer = net.peers.lock().get(&Atom::new(node)).cloned();
        match peer {
            Some(peer) => {
                net.peer_down(&peer, "disconnected by request");
                true
            }
            None => false,
        }
    }

    /// Node names this node is connected to.
    pub fn connected_nodes(&self) -> Vec<Atom> {
        self.net()
            .map(|n| n.peers.lock().keys().copied().collect())
            .unwrap_or_default()
    }

    pub(crate) fn local_ref(&self, id: u64) -> crate::pid::Ref {
        crate::pid::Ref::new(self.name(), self.creation(), id)
    }
}

/// The type every net `OnceLock` slot holds.
pub(crate) type NetSlot = OnceLock<Arc<Network>>;

/// Registers for the answer tagged `tag` from `peer` *now* (before the request is
/// written, so a fast answer cannot arrive unexpected), and returns the wait for it.
pub(crate) fn await_answer<T: Send + 'static>(
    peer: &Arc<Peer>,
    tag: u64,
    timeout: std::time::Duration,
    decode: impl FnOnce(&[u8]) -> Result<T, NetError> + Send + 'static,
) -> impl std::future::Future<Output = Result<T, NetError>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let name = peer.name;
    peer.add_pending(
        tag,
        Box::new(move |answer| {
            let _ = tx.send(match answer {
                Ok(bytes) => decode(bytes),
                Err(PendingError::Remote(e)) => Err(NetError::Remote(e)),
                Err(PendingError::NoConnection) => Err(NetError::NoConnection(name)),
            });
        }),
    );
    let peer = peer.clone();
    async move {
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(NetError::NoConnection(name)),
            Err(_) => {
                peer.take_pending(tag);
                Err(NetError::NoConnection(name))
            }
        }
    }
}

pub(crate) fn key_of(from: Option<Pid>, to: u64) -> u64 {
    pair_key(from.map_or(0, |p| p.id()), to)
}
