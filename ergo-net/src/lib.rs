//! The native network of ergo: nodes talk over TCP with a cookie handshake,
//! length-prefixed frames, a pool of connections per peer, optional lz4 compression,
//! keepalives, and discovery through static routes or an embedded registrar. It is a
//! [`Transport`](ergo_runtime::dist::Transport) of the core, as Erlang distribution is.
//!
//! Connections may run over TLS or mutual TLS ([`tls`]; the cookie handshake is then
//! bound to the TLS session). Messages above the fragment size cross as fragments
//! ([`fragment`]); each node tells its peers the largest message it accepts, and a
//! larger send fails at the sender with `NetError::TooLarge`.
//!
//! Start it with the node: `Node::builder(..).network(NetOptions::new())` (the
//! [`NetBuilderExt`] trait), or later with [`NetworkExt::start_network`].
//!
//! Faults and strangers: the dialer proves it knows the cookie first (see
//! [`handshake`]); failed handshakes are throttled per address and their warnings
//! rate-limited; unauthenticated connections are capped (the oldest is dropped for a
//! new one). Every read has a deadline and a frame that breaks the framing closes the
//! connection: the peer is declared lost (links and monitors fire `NoConnection`
//! once) and the next send reconnects, re-resolving the peer's address if dialing the
//! one it last told us fails. Write buffers are bounded (`NetOptions::write_buffer`):
//! a send to a peer that does not keep up fails with `NetError::Busy` instead of
//! growing memory.
//!
//! Each node sends only on connections it dialed and reads only from connections it
//! accepted, so there is never a tie to break between two nodes dialing each other; a
//! peer learns where to dial back from the handshake. Frames between one sender and one
//! receiver always take the same connection of the pool, so their order is kept.

mod conn;
mod dispatch;
#[doc(hidden)] // for tests and fuzzing of its decoder
pub mod fragment;
#[doc(hidden)] // for tests that play a hostile peer
pub mod frame;
mod guard;
#[doc(hidden)] // for tests that play a hostile peer
pub mod handshake;
mod options;
mod peer;
mod ratelimit;
#[doc(hidden)] // for tests and fuzzing of its protocol
pub mod registrar;
mod spawn;
pub mod tls;
mod transport;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

pub use ergo_runtime::dist::{NetError, RemoteError};
pub use options::{
    Acceptor, NetOptions, Route, RouteSecrets, DEFAULT_FRAGMENT_SIZE, DEFAULT_REGISTRAR_PORT,
    DEFAULT_WRITE_BUFFER,
};
pub use registrar::{BoxFuture as RegistrarFuture, Registrar};
pub use spawn::{NetworkExt, SpawnPermission};
pub use tls::{CertManager, ClientAuth, TlsOptions};

use ergo_runtime::dist::Dist;
use ergo_runtime::{Atom, Node, Pid};
use frame::{Header, WireTarget};
use peer::{pair_key, Full, Peer, Pending, PendingError};

/// The network of one node.
pub(crate) struct Network {
    pub(crate) node: Node,
    pub(crate) dist: Dist,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) options: NetOptions,
    pub(crate) listen: SocketAddr,
    /// What registrars and peers are told to dial.
    pub(crate) advertised: SocketAddr,
    /// Every acceptor's bound address, the main one first.
    pub(crate) acceptors: Vec<SocketAddr>,
    peers: Mutex<FxHashMap<Atom, Arc<Peer>>>,
    /// Ports peers told us in their handshake (where to dial them back), and when.
    learned: Mutex<FxHashMap<Atom, (SocketAddr, Instant)>>,
    /// Nodes whose last dial failed: until when sends fail fast, the next backoff, and
    /// the error they fail with.
    failed_dials: Mutex<FxHashMap<Atom, (Instant, Duration, NetError)>>,
    /// Rate limits of repeated warnings.
    pub(crate) logs: ratelimit::LogLimiter,
    /// Unauthenticated connections and failed handshakes.
    pub(crate) guard: guard::Guard,
    /// Unauthenticated sessions of the registrar this node serves.
    pub(crate) registrar_guard: Arc<guard::Guard>,
    /// Plain messages from peers refused because the target's mailbox was full or the
    /// target did not exist.
    pub(crate) refused_plain: AtomicU64,
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

    /// What this node brings to a handshake.
    pub(crate) fn local<'a>(&'a self, name: &'a str, binding: [u8; 32]) -> handshake::Local<'a> {
        handshake::Local {
            name,
            creation: self.node.creation(),
            cookie: self.node.cookie(),
            max_message: self.options.max_message as u64,
            binding,
            advertised: self.options.advertise,
        }
    }

    /// The port peers are told to dial back.
    pub(crate) fn advertised_port(&self) -> u16 {
        self.advertised.port()
    }

    /// The cookie and TLS settings to dial `node` with: a matching route's, else the
    /// node's.
    pub(crate) fn dial_settings(&self, node: &str) -> (String, Option<tls::TlsOptions>) {
        let secrets = self
            .options
            .route_secrets
            .iter()
            .find(|s| Route::matches_pattern(&s.pattern, node));
        let cookie = secrets
            .and_then(|s| s.cookie.clone())
            .unwrap_or_else(|| self.node.cookie().to_owned());
        let tls = match secrets.and_then(|s| s.tls.clone()) {
            Some(tls) => Some(tls),
            None => self.options.tls.clone(),
        };
        (cookie, tls)
    }

    /// The peer called `name`, created (and dialed on first write) if needed.
    pub(crate) fn peer(self: &Arc<Self>, name: Atom) -> Arc<Peer> {
        let mut peers = self.peers.lock();
        peers
            .entry(name)
            .or_insert_with(|| {
                Arc::new(Peer::new(
                    name,
                    self.options.pool_size,
                    self.options.write_buffer,
                    // A largest message may sit in a buffer whole (as fragments).
                    self.options.max_frame.max(self.options.max_message),
                ))
            })
            .clone()
    }

    /// The peer, and its connections dialed if they are not yet; fails fast while a
    /// recent dial of that node failed (with that dial's error), so that a sender at
    /// full speed does not turn into a storm of refused dials.
    pub(crate) fn connected_peer(self: &Arc<Self>, name: Atom) -> Result<Arc<Peer>, NetError> {
        if let Some(existing) = self.peers.lock().get(&name) {
            if existing.dialing.load(Ordering::Acquire) {
                return Ok(existing.clone());
            }
        }
        if let Some((until, _, error)) = self.failed_dials.lock().get(&name) {
            if Instant::now() < *until {
                return Err(error.clone());
            }
        }
        let peer = self.peer(name);
        if !peer.dialing.swap(true, Ordering::AcqRel) {
            conn::dial(self.clone(), peer.clone());
        }
        Ok(peer)
    }

    /// Remembers that dialing `name` failed: sends fail fast with `error` for a backoff
    /// that doubles from 50 ms up to 1 s while dials keep failing.
    pub(crate) fn dial_failed(&self, name: Atom, error: NetError) {
        let mut failed = self.failed_dials.lock();
        let backoff = failed.get(&name).map_or(Duration::from_millis(50), |f| {
            (f.1 * 2).min(Duration::from_secs(1))
        });
        failed.insert(name, (Instant::now() + backoff, backoff, error));
    }

    /// Forgets past dial failures of `name` (it connected).
    pub(crate) fn dial_succeeded(&self, name: Atom) {
        self.failed_dials.lock().remove(&name);
    }

    pub(crate) fn learn_address(&self, name: Atom, addr: SocketAddr) {
        let mut learned = self.learned.lock();
        if learned.len() >= 4096 {
            let ttl = self.options.learned_ttl;
            learned.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        learned.insert(name, (addr, Instant::now()));
    }

    /// The address `name` told us, unless it is older than `learned_ttl`.
    pub(crate) fn learned_address(&self, name: Atom) -> Option<SocketAddr> {
        let mut learned = self.learned.lock();
        match learned.get(&name) {
            Some((addr, at)) if at.elapsed() < self.options.learned_ttl => Some(*addr),
            Some(_) => {
                learned.remove(&name);
                None
            }
            None => None,
        }
    }

    /// Forgets the address `name` told us (dialing it failed).
    pub(crate) fn forget_address(&self, name: Atom) {
        self.learned.lock().remove(&name);
    }

    /// Forgets a lost peer and tells everyone who depended on it (pending answers get
    /// `NoConnection`).
    pub(crate) fn peer_down(&self, peer: &Arc<Peer>, why: &str) {
        self.peer_failed(peer, why, NetError::NoConnection(peer.name));
    }

    /// As [`Network::peer_down`], pending answers failing with `error`.
    pub(crate) fn peer_failed(&self, peer: &Arc<Peer>, why: &str, error: NetError) {
        if peer.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let mut peers = self.peers.lock();
            if peers.get(&peer.name).is_some_and(|p| Arc::ptr_eq(p, peer)) {
                peers.remove(&peer.name);
            }
        }
        let node = self.node.name().as_str();
        self.logs.warn(&node, "connection lost", || {
            tracing::warn!(node = %node, peer = %peer.name, why, "connection lost");
        });
        for task in peer.tasks.lock().drain(..) {
            task.abort();
        }
        for slot in &peer.slots {
            let mut state = slot.state.lock();
            state.stream = None;
            state.connected = false;
        }
        let pending: Vec<Pending> = peer.pending.lock().drain().map(|(_, p)| p).collect();
        for p in pending {
            p(Err(PendingError::Lost(error.clone())));
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
        self.logs.flush(&self.node.name().as_str());
    }

    /// Writes a message frame to `peer` on the slot of `key`; `NetError::Busy` if the
    /// slot's buffer is full (nothing was queued).
    pub(crate) fn write(
        self: &Arc<Self>,
        peer: &Arc<Peer>,
        key: u64,
        header: &Header,
        payload: impl FnOnce(&mut Vec<u8>) -> Result<(), ergo_runtime::wire::WireError>,
    ) -> Result<(), NetError> {
        self.write_frame(peer, key, false, header, payload)
    }

    fn write_frame(
        self: &Arc<Self>,
        peer: &Arc<Peer>,
        key: u64,
        control: bool,
        header: &Header,
        payload: impl FnOnce(&mut Vec<u8>) -> Result<(), ergo_runtime::wire::WireError>,
    ) -> Result<(), NetError> {
        // The sending process's own threshold, else the node's.
        let compress = Dist::sender_compression_threshold().unwrap_or(self.options.compress_above);
        // Until its handshake tells, a peer is assumed to accept what we accept.
        let max = peer.max_message().map_or(self.options.max_message, |m| {
            usize::try_from(m).unwrap_or(usize::MAX)
        });
        match peer.write(key, control, |buf| {
            let start = buf.len();
            frame::encode(buf, header, compress, payload)?;
            fragment::finish(buf, start, max, self.options.fragment_size, || self.tag()).map_err(
                |e| NetError::TooLarge {
                    node: peer.name,
                    size: e.size,
                    max: e.max,
                },
            )
        }) {
            Ok(written) => written,
            Err(Full::Busy) => Err(NetError::Busy(peer.name)),
            Err(Full::Stuck) => {
                self.peer_down(peer, "write buffer overflow: the peer does not read");
                Err(NetError::NoConnection(peer.name))
            }
        }
    }

    /// Writes a header-only control frame (a link, monitor, exit, ack, reply...). If it
    /// cannot be written, the peer is treated as lost, so that whoever waits on the
    /// signal learns it through `NoConnection` rather than never.
    pub(crate) fn write_control(self: &Arc<Self>, to: Atom, key: u64, header: Header) {
        match self.connected_peer(to) {
            Ok(peer) => {
                let _ = self.write_frame(&peer, key, true, &header, |_| Ok(()));
            }
            // A recent dial failed: what depends on that node fires now.
            Err(_) => self.dist.connection_lost(to),
        }
    }

    /// Writes a reply (a control frame with a payload) to the peer the request came
    /// from (no lookup while its connections are up).
    pub(crate) fn write_reply(
        self: &Arc<Self>,
        peer: &Arc<Peer>,
        key: u64,
        header: &Header,
        payload: &[u8],
    ) {
        let write = |peer: &Arc<Peer>| {
            let _ = self.write_frame(peer, key, true, header, |buf| {
                buf.extend_from_slice(payload);
                Ok(())
            });
        };
        if peer.dialing.load(Ordering::Acquire) && !peer.is_closed() {
            return write(peer);
        }
        // Not dialed back yet (or lost): as any control frame.
        match self.connected_peer(peer.name) {
            Ok(peer) => write(&peer),
            Err(_) => self.dist.connection_lost(peer.name),
        }
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
    let mut more = Vec::new();
    for acceptor in &options.acceptors {
        let extra = tokio::net::TcpListener::bind(acceptor.listen)
            .await
            .map_err(|e| NetError::Listen(format!("{}: {e}", acceptor.listen)))?;
        let at = extra
            .local_addr()
            .map_err(|e| NetError::Listen(e.to_string()))?;
        more.push((extra, at, acceptor.clone()));
    }
    let advertised = options.advertise.unwrap_or(listen);
    let acceptors = std::iter::once(listen)
        .chain(more.iter().map(|m| m.1))
        .collect();
    let net = Arc::new(Network {
        node: node.clone(),
        dist: Dist::new(node),
        runtime: tokio::runtime::Handle::current(),
        registrar: registrar::Client::new(options.registrar),

        options,
        listen,
        advertised,
        acceptors,
        peers: Mutex::default(),
        learned: Mutex::default(),
        failed_dials: Mutex::default(),
        logs: ratelimit::LogLimiter::new(node.clone()),
        guard: guard::Guard::default(),
        registrar_guard: Arc::default(),
        refused_plain: AtomicU64::new(0),
        next_tag: AtomicU64::new(1),
        spawns: spawn::Factories::default(),
        starts: spawn::RemoteStarts::default(),
        tasks: Mutex::default(),
    });
    let slot = node.extension_or_insert(NetSlot::default);
    if slot.0.set(net.clone()).is_err() {
        return Ok(network_of(node).map_or(listen, |n| n.listen));
    }
    let main = conn::AcceptSettings {
        cookie: node.cookie().to_owned(),
        tls: net.options.tls.clone(),
        max_handshakes: net.options.max_handshakes,
    };
    conn::accept_loop(net.clone(), listener, Arc::new(main));
    for (extra, _, acceptor) in more {
        let settings = conn::AcceptSettings {
            cookie: acceptor.cookie.unwrap_or_else(|| node.cookie().to_owned()),
            tls: acceptor.tls,
            max_handshakes: acceptor.max_handshakes,
        };
        conn::accept_loop(net.clone(), extra, Arc::new(settings));
    }
    if let Some(external) = &net.options.external_registrar {
        external.register(&node.name().as_str(), advertised).await;
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

    /// True if `name` is a peer (connected or being dialled), or a static route or an
    /// address it told us points to it.
    pub(crate) fn knows(&self, name: Atom) -> bool {
        self.peers.lock().contains_key(&name)
            || self.learned_address(name).is_some()
            || self
                .options
                .routes
                .iter()
                .any(|r| r.matches(&name.as_str()))
    }

    pub(crate) fn connected_nodes(&self) -> Vec<Atom> {
        self.peers.lock().keys().copied().collect()
    }

    /// Bytes and frames in and out and connections, per peer.
    pub(crate) fn peer_stats(&self) -> Vec<ergo_runtime::dist::PeerStats> {
        let peers: Vec<Arc<Peer>> = self.peers.lock().values().cloned().collect();
        peers.iter().map(|p| p.stats()).collect()
    }

    /// How this node finds others: the external registrar, the embedded one (served
    /// here or elsewhere), or static routes only.
    pub(crate) fn registrar_text(&self) -> String {
        let mut parts = Vec::new();
        if self.options.external_registrar.is_some() {
            parts.push("external registrar".to_string());
        }
        if let Some(addr) = self.options.registrar {
            if self.registrar.is_serving() {
                parts.push(format!("embedded registrar {addr} (served by this node)"));
            } else {
                parts.push(format!("embedded registrar {addr}"));
            }
        }
        if parts.is_empty() {
            parts.push("static routes".to_string());
        }
        parts.join(", ")
    }

    pub(crate) fn stats(&self) -> NetStats {
        NetStats {
            buffered: self.peers.lock().values().map(|p| p.buffered()).sum(),
            refused_plain: self.refused_plain.load(Ordering::Relaxed),
            handshakes_refused: self.guard.refused(),
            unauthenticated: self.guard.pending() + self.registrar_guard.pending(),
        }
    }
}

/// Counters of a node's network (see `NetworkExt::network_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NetStats {
    /// Bytes waiting in write buffers, over all peers (messages stop at
    /// `write_buffer` per connection; control frames at `2 × write_buffer +
    /// max_frame`; plus the batch each writer holds).
    pub buffered: usize,
    /// Plain (unacknowledged) messages from peers refused on arrival: the target's
    /// mailbox was full or it did not exist. Important senders are told instead.
    pub refused_plain: u64,
    /// Handshakes refused (wrong cookie, malformed, timed out, evicted).
    pub handshakes_refused: u64,
    /// Connections currently in their handshake, and unregistered sessions of the
    /// registrar this node serves (strangers, until they prove the cookie).
    pub unauthenticated: usize,
}

/// Lines of each kind of warning logged at once before they are limited (the node's
/// limiter, [`ergo_runtime::Node::log_limiter`]).
pub const LOG_LINES: u32 = ergo_runtime::logs::LOG_BURST;
/// After its burst, a kind of warning gets one more line per this interval.
pub const LOG_INTERVAL: Duration = ergo_runtime::logs::LOG_REFILL;

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
                Err(PendingError::Lost(e)) => Err(e),
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
