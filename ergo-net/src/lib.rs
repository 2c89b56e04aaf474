//! The native network of ergo: nodes talk over TCP with a cookie handshake,
//! length-prefixed frames, a pool of connections per peer, optional lz4 compression,
//! keepalives, and discovery through static routes or an embedded registrar. It is a
//! [`Transport`](ergo_runtime::dist::Transport) of the core, as Erlang distribution is.
//!
//! Start it with the node: `Node::builder(..).network(NetOptions::new())` (the
//! [`NetBuilderExt`] trait), or later with [`NetworkExt::start_network`].
//!
//! Each node sends only on connections it dialed and reads only from connections it
//! accepted, so there is never a tie to break between two nodes dialing each other; a
//! peer learns where to dial back from the handshake. Frames between one sender and one
//! receiver always take the same connection of the pool, so their order is kept.

mod conn;
mod dispatch;
#[doc(hidden)] // for tests that play a hostile peer
pub mod frame;
#[doc(hidden)] // for tests that play a hostile peer
pub mod handshake;
mod options;
mod peer;
mod registrar;
mod spawn;
mod transport;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

pub use ergo_runtime::dist::{NetError, RemoteError};
pub use options::{NetOptions, Route, DEFAULT_REGISTRAR_PORT};
pub use registrar::{BoxFuture as RegistrarFuture, Registrar};
pub use spawn::{NetworkExt, SpawnPermission};

use ergo_runtime::dist::Dist;
use ergo_runtime::{Atom, Node, Pid};
use frame::{Header, WireTarget};
use peer::{pair_key, Peer, Pending, PendingError};

/// The network of one node.
pub(crate) struct Network {
    pub(crate) node: Node,
    pub(crate) dist: Dist,
    pub(crate) runtime: tokio::runtime::Handle,
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
        self.dist.connection_lost(peer.name);
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
        payload: impl FnOnce(&mut Vec<u8>) -> Result<(), ergo_runtime::wire::WireError>,
    ) -> Result<(), ergo_runtime::wire::WireError> {
        // The sending process's own threshold, else the node's.
        let compress = Dist::sender_compression_threshold().unwrap_or(self.options.compress_above);
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

/// Where a node keeps its network (an extension of the node).
#[derive(Default)]
pub(crate) struct NetSlot(OnceLock<Arc<Network>>);

/// The network of `node`, once started.
pub(crate) fn network_of(node: &Node) -> Option<Arc<Network>> {
    node.extension::<NetSlot>()
        .and_then(|slot| slot.0.get().cloned())
}

/// Starts `node`'s network (once; a second start returns the first one's address).
pub(crate) async fn start(node: &Node, options: NetOptions) -> Result<SocketAddr, NetError> {
    if let Some(net) = network_of(node) {
        return Ok(net.listen);
    }
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| NetError::Listen(e.to_string()))?;
    let listen = listener
        .local_addr()
        .map_err(|e| NetError::Listen(e.to_string()))?;
    let net = Arc::new(Network {
        node: node.clone(),
        dist: Dist::new(node),
        runtime: tokio::runtime::Handle::current(),
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
    let slot = node.extension_or_insert(NetSlot::default);
    if slot.0.set(net.clone()).is_err() {
        return Ok(network_of(node).map_or(listen, |n| n.listen));
    }
    conn::accept_loop(net.clone(), listener);
    if let Some(external) = &net.options.external_registrar {
        external.register(&node.name().as_str(), listen).await;
    }
    if net.options.registrar.is_some() {
        net.registrar.register(&net).await;
    }
    net.dist
        .add_transport(Arc::new(transport::NetTransport(Arc::downgrade(&net))));
    tracing::info!(node = %node.name(), %listen, "network started");
    Ok(listen)
}

impl Network {
    /// Drops the connections to `node`: every link and monitor through them fires with
    /// `NoConnection`; the next send reconnects.
    pub(crate) fn disconnect(&self, node: Atom) -> bool {
        let peer = self.peers.lock().get(&node).cloned();
        match peer {
            Some(peer) => {
                self.peer_down(&peer, "disconnected by request");
                true
            }
            None => false,
        }
    }

    pub(crate) fn connected_nodes(&self) -> Vec<Atom> {
        self.peers.lock().keys().copied().collect()
    }
}

/// Starts the native network with a node built by [`ergo_runtime::NodeBuilder`].
pub trait NetBuilderExt {
    /// Starts the node's network with these options (default: no network).
    fn network(self, options: NetOptions) -> Self;
}

impl NetBuilderExt for ergo_runtime::NodeBuilder {
    fn network(self, options: NetOptions) -> Self {
        self.plugin(NetPlugin(options))
    }
}

/// The native network as a node plug-in.
struct NetPlugin(NetOptions);

impl ergo_runtime::Plugin for NetPlugin {
    fn name(&self) -> &'static str {
        "native network"
    }

    fn start(
        &self,
        node: &Node,
    ) -> ergo_runtime::dist::BoxFuture<Result<(), ergo_runtime::NodeError>> {
        let (node, options) = (node.clone(), self.0.clone());
        Box::pin(async move {
            start(&node, options)
                .await
                .map(drop)
                .map_err(|e| ergo_runtime::NodeError::Network(e.to_string()))
        })
    }
}

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
                Err(NetError::Timeout(timeout))
            }
        }
    }
}

pub(crate) fn key_of(from: Option<Pid>, to: u64) -> u64 {
    pair_key(from.map_or(0, |p| p.id()), to)
}
