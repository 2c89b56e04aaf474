//! Connections: dialing a peer's pool, accepting, and the writer and reader tasks.
//!
//! Every read has a deadline (`peer_timeout`): a peer silent at a frame boundary or in
//! the middle of a frame is declared lost. Writers send a keepalive every `keepalive`
//! whatever the traffic, and an acceptor answers each with a pong on the same
//! connection, so the dialing side too notices a peer that stopped reading. Any
//! framing or size error closes the connection and declares the peer lost; nothing is
//! ever skipped.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use ergo_runtime::dist::NetError;
use ergo_runtime::Atom;

use crate::frame::{self, Header};
use crate::handshake::{self, HandshakeError};
use crate::peer::{Peer, Slot};
use crate::tls::{NetStream, NetWrite};
use crate::Network;

/// What one acceptor asks of dialers.
pub(crate) struct AcceptSettings {
    pub(crate) cookie: String,
    pub(crate) tls: Option<crate::tls::TlsOptions>,
    pub(crate) max_handshakes: usize,
}

/// Why a dial failed: the error callers get, and the line for the log.
struct DialError {
    error: NetError,
    why: String,
    /// Worth resolving the address again (nothing there, or someone else).
    re_resolve: bool,
}

/// Starts dialing every connection of `peer`'s pool.
pub(crate) fn dial(net: Arc<Network>, peer: Arc<Peer>) {
    let runtime = net.runtime.clone();
    runtime.spawn(async move {
        let mut learned = true;
        let mut addr = resolve(&net, peer.name, learned).await;
        let mut index = 0;
        while index < peer.slots.len() {
            let Some((at, from_learned)) = addr else {
                net.dial_failed(peer.name, NetError::NoConnection(peer.name));
                net.peer_down(&peer, "no route (no static route, no registrar entry)");
                return;
            };
            match connect(&net, peer.name, at).await {
                Ok((stream, info)) => {
                    peer.creation.store(info.creation, Ordering::Release);
                    peer.set_max_message(info.max_message);
                    start_outbound(&net, &peer, index, stream);
                    index += 1;
                }
                // An address the peer told us long ago may be stale (it restarted on
                // another port): forget it and ask the routes and registrars again.
                Err(e) if e.re_resolve && from_learned && learned && index == 0 => {
                    net.forget_address(peer.name);
                    learned = false;
                    addr = resolve(&net, peer.name, learned).await;
                }
                Err(e) => {
                    if index == 0 {
                        net.dial_failed(peer.name, e.error.clone());
                    }
                    net.peer_failed(&peer, &e.why, e.error);
                    return;
                }
            }
        }
        net.dial_succeeded(peer.name);
    });
}

/// Where `node` accepts connections: static routes, then the address it told us (if
/// `learned`), then the external and embedded registrars. True if it was learned.
async fn resolve(net: &Arc<Network>, node: Atom, learned: bool) -> Option<(SocketAddr, bool)> {
    let name = node.as_str();
    if let Some(route) = net.options.routes.iter().find(|r| r.matches(&name)) {
        return Some((route.addr, false));
    }
    if learned {
        if let Some(addr) = net.learned_address(node) {
            return Some((addr, true));
        }
    }
    if let Some(external) = &net.options.external_registrar {
        if let Some(addr) = external.resolve(&name).await {
            return Some((addr, false));
        }
    }
    net.registrar
        .resolve(net, &name)
        .await
        .map(|addr| (addr, false))
}

async fn connect(
    net: &Arc<Network>,
    name: Atom,
    addr: SocketAddr,
) -> Result<(NetStream, handshake::Peer), DialError> {
    let node = &net.node;
    let lost = |why: String, re_resolve: bool| DialError {
        error: NetError::NoConnection(name),
        why,
        re_resolve,
    };
    let attempt = async {
        let stream = connect_evicting(net, addr)
            .await
            .map_err(|e| lost(format!("connect to {addr}: {e}"), true))?;
        let _ = stream.set_nodelay(true);
        let tls_failed = |e: &std::io::Error| {
            crate::tls::tls_cause(e).map(|reason| DialError {
                why: format!("TLS with {addr}: {reason}"),
                error: NetError::Tls { node: name, reason },
                // Perhaps another node answers there now: worth resolving again.
                re_resolve: true,
            })
        };
        let (cookie, tls) = net.dial_settings(&name.as_str());
        let (mut stream, binding) = match &tls {
            None => (NetStream::Plain(stream), [0; 32]),
            Some(tls) => tls.connect(&name.as_str(), stream).await.map_err(|e| {
                tls_failed(&e).unwrap_or_else(|| lost(format!("TLS with {addr}: {e}"), false))
            })?,
        };
        let my_name = node.name().as_str();
        let mut local = net.local(&my_name, binding);
        local.cookie = &cookie;
        let info = handshake::client_with(&mut stream, local, net.advertised_port())
            .await
            .map_err(|e| match e {
                HandshakeError::WrongCookie(_) => DialError {
                    error: NetError::WrongCookie(name),
                    why: format!("{addr} refused our cookie"),
                    re_resolve: false,
                },
                // Under TLS 1.3 a refused client certificate shows on the first read.
                HandshakeError::Io(e) if tls_failed(&e).is_some() => {
                    tls_failed(&e).unwrap_or_else(|| lost(String::new(), false))
                }
                e => lost(format!("handshake with {addr}: {e}"), false),
            })?;
        if info.name != *name.as_str() {
            return Err(lost(
                format!("{} answered at {addr}, not {name}", info.name),
                true,
            ));
        }
        Ok::<_, DialError>((stream, info))
    };
    match tokio::time::timeout(net.options.connect_timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(lost(format!("connect to {addr} timed out"), true)),
    }
}

/// Connects; out of file descriptors, drops the oldest stranger still in its handshake
/// (a peer we mean to talk to comes before one that has not proved anything) and tries
/// again, a few times.
async fn connect_evicting(net: &Network, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut tries = 0;
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if out_of_descriptors(&e) && tries < 8 => {
                tries += 1;
                if !(net.guard.evict_oldest() || net.registrar_guard.evict_oldest()) {
                    return Err(e);
                }
                tokio::task::yield_now().await;
            }
            other => return other,
        }
    }
}

/// EMFILE or ENFILE.
pub(crate) fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

fn start_outbound(net: &Arc<Network>, peer: &Arc<Peer>, index: usize, stream: NetStream) {
    let (read, write) = stream.into_split();
    let runtime = &net.runtime;
    let writer = runtime.spawn(write_loop(net.clone(), peer.clone(), index, write));
    // A dialed connection carries only pongs back; its end (EOF, error, or silence
    // beyond the peer timeout) means the peer is gone.
    let watcher = {
        let (net, peer) = (net.clone(), peer.clone());
        runtime.spawn(async move {
            let mut read = read;
            let mut scratch = [0u8; 64];
            let why = loop {
                match tokio::time::timeout(net.options.peer_timeout, read.read(&mut scratch)).await
                {
                    Ok(Ok(0) | Err(_)) => break "peer closed the connection",
                    Ok(Ok(_)) => {}
                    Err(_) => break "peer silent beyond its keepalive (no pong)",
                }
            };
            net.peer_down(&peer, why);
        })
    };
    let mut tasks = peer.tasks.lock();
    tasks.push(writer.abort_handle());
    tasks.push(watcher.abort_handle());
    drop(tasks);
    if peer.is_closed() {
        writer.abort();
        watcher.abort();
    }
}

async fn write_loop(net: Arc<Network>, peer: Arc<Peer>, index: usize, mut write: NetWrite) {
    let slot: &Slot = &peer.slots[index];
    let keepalive = net.options.keepalive;
    let mut out = Vec::new();
    let mut last_ping = Instant::now();
    loop {
        std::mem::swap(&mut *slot.buf.lock(), &mut out);
        if last_ping.elapsed() >= keepalive {
            let _ = frame::encode(&mut out, &Header::Ping, 0, |_| Ok(()));
            last_ping = Instant::now();
        }
        if out.is_empty() {
            let wait = keepalive.saturating_sub(last_ping.elapsed());
            let _ = tokio::time::timeout(wait, slot.ready.notified()).await;
            continue;
        }
        let written = async {
            write.write_all(&out).await?;
            write.flush().await // a no-op in clear text; TLS hands its records over
        };
        match tokio::time::timeout(net.options.peer_timeout, written).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return net.peer_down(&peer, &format!("write failed: {e}")),
            Err(_) => return net.peer_down(&peer, "peer stopped reading (write timed out)"),
        }
        out.clear();
        if out.capacity() > 4 * net.options.write_buffer {
            out = Vec::new(); // give back what a burst took
        }
    }
}

/// Accepts connections until the node's runtime ends. On errors (too many open files,
/// out of buffers) it first drops the oldest stranger still in its handshake, if any
/// (freeing a descriptor for whoever waits in the backlog), else backs off up to a
/// second; it logs rate-limited either way, and never spins.
pub(crate) fn accept_loop(net: Arc<Network>, listener: TcpListener, settings: Arc<AcceptSettings>) {
    let runtime = net.runtime.clone();
    let tasks = net.clone();
    let cap = crate::guard::within_fd_limit(settings.max_handshakes);
    let task = runtime.spawn(async move {
        let mut backoff = Duration::ZERO;
        loop {
            match listener.accept().await {
                Ok((stream, from)) => {
                    backoff = Duration::ZERO;
                    let child = net.clone();
                    let ticket = net.guard.ticket();
                    let settings = settings.clone();
                    let handle = tokio::spawn(async move {
                        accept(&child, &settings, stream, from, ticket).await;
                    });
                    net.guard.admit(cap, ticket, handle.abort_handle());
                }
                Err(e) => {
                    backoff = accept_backoff(&net, "network acceptor", &e, backoff).await;
                }
            }
        }
    });
    tasks.tasks.lock().push(task.abort_handle());
}

/// After a failed `accept`: logs (rate-limited), frees a descriptor by evicting the
/// oldest stranger of either acceptor if there is one, else sleeps; the next backoff.
pub(crate) async fn accept_backoff(
    net: &Network,
    what: &'static str,
    error: &std::io::Error,
    backoff: Duration,
) -> Duration {
    let node = net.node.name().as_str();
    net.logs.warn(&node, "accept failed", || {
        tracing::warn!(node = %node, what, %error, "accept failed (too many open files?); dropping the oldest unauthenticated connection or backing off");
    });
    let (mine, other): (&crate::guard::Guard, &crate::guard::Guard) =
        (&net.guard, &net.registrar_guard);
    let (first, second) = if mine.pending() >= other.pending() {
        (mine, other)
    } else {
        (other, mine)
    };
    if first.evict_oldest() || second.evict_oldest() {
        // Progress: the aborted task's socket closes once the runtime drops it.
        tokio::task::yield_now().await;
        return Duration::ZERO;
    }
    let next = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
    tokio::time::sleep(next).await;
    next
}

async fn accept(
    net: &Arc<Network>,
    settings: &AcceptSettings,
    stream: TcpStream,
    from: SocketAddr,
    ticket: u64,
) {
    let authenticated = handshake_in(net, settings, stream, from).await;
    net.guard.done(ticket);
    if let Some((stream, info)) = authenticated {
        connected(net, stream, from, info);
    }
}

/// The acceptor's handshake, bounded in time; throttled and logged when it fails.
async fn handshake_in(
    net: &Arc<Network>,
    settings: &AcceptSettings,
    stream: TcpStream,
    from: SocketAddr,
) -> Option<(NetStream, handshake::Peer)> {
    let _ = stream.set_nodelay(true);
    let node = &net.node;
    let my_name = node.name().as_str();
    let mut stream = Some(NetStream::Plain(stream));
    let shake = async {
        let (mut tls, binding) = match (&settings.tls, stream.take()) {
            (Some(tls), Some(NetStream::Plain(tcp))) => tls.accept(tcp).await?,
            (_, Some(plain)) => (plain, [0; 32]),
            (_, None) => return Err(HandshakeError::Malformed("no stream".into())),
        };
        let mut local = net.local(&my_name, binding);
        local.cookie = &settings.cookie;
        let result = handshake::server_with(&mut tls, local).await;
        stream = Some(tls);
        result
    };
    let shaken = tokio::time::timeout(net.options.connect_timeout, shake).await;
    let Some(mut stream) = stream else {
        // The TLS handshake failed or timed out.
        let error = match shaken {
            Ok(Err(e)) => e.to_string(),
            _ => "timed out".to_string(),
        };
        let delay = net.guard.failed(from.ip());
        net.logs.warn(&my_name, "tls handshake", || {
            tracing::warn!(node = %my_name, %from, %error, "refused a connection: TLS handshake failed");
        });
        tokio::time::sleep(delay).await;
        return None;
    };
    let info = match shaken {
        Ok(Ok(info)) => info,
        Ok(Err(HandshakeError::WrongCookie(who))) => {
            let delay = net.guard.failed(from.ip());
            net.logs.warn(&my_name, "wrong cookie", || {
                // `who` is what the stranger claims; it is logged, never interned.
                tracing::warn!(node = %my_name, %from, peer = %who, "refused a connection: wrong cookie");
            });
            // Throttled: the answer comes only after a delay growing with the failures
            // of that address.
            tokio::time::sleep(delay).await;
            handshake::refuse(&mut stream).await;
            return None;
        }
        Ok(Err(e)) => {
            let delay = net.guard.failed(from.ip());
            net.logs.warn(&my_name, "bad handshake", || {
                tracing::warn!(node = %my_name, %from, error = %e, "refused a connection");
            });
            tokio::time::sleep(delay).await;
            return None;
        }
        Err(_) => {
            net.guard.failed(from.ip());
            net.logs.warn(&my_name, "handshake timeout", || {
                tracing::warn!(node = %my_name, %from, "refused a connection: handshake timed out");
            });
            return None;
        }
    };
    net.guard.succeeded(from.ip());
    Some((stream, info))
}

/// Starts reading from an authenticated connection.
fn connected(net: &Arc<Network>, stream: NetStream, from: SocketAddr, info: handshake::Peer) {
    let name = Atom::new(&info.name);
    if let Some(back) = info.advertised {
        net.learn_address(name, back);
    } else if info.listen_port != 0 {
        net.learn_address(name, SocketAddr::new(from.ip(), info.listen_port));
    }
    // It is alive and told us where it listens: sends to it need not fail fast.
    net.dial_succeeded(name);
    let mut peer = net.peer(name);
    let known = peer.creation();
    if known != 0 && known != info.creation {
        // The peer restarted: what we knew of its previous incarnation is gone.
        net.peer_down(&peer, "peer restarted");
        peer = net.peer(name);
    }
    peer.creation.store(info.creation, Ordering::Release);
    peer.set_max_message(info.max_message);
    let reader = tokio::spawn(read_loop(net.clone(), peer.clone(), stream));
    peer.tasks.lock().push(reader.abort_handle());
    if peer.is_closed() {
        reader.abort();
    }
}

async fn read_loop(net: Arc<Network>, peer: Arc<Peer>, stream: NetStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut pong = Vec::new();
    let _ = frame::encode(&mut pong, &Header::Pong, 0, |_| Ok(()));
    let mut body = Vec::new();
    let options = &net.options;
    let mut assembly = crate::fragment::Assembler::new(
        options.max_message,
        options.max_assemblies,
        options.assembly_timeout,
    );
    let max_message = options.max_message.max(options.max_frame);
    loop {
        let why = match read_frame(&net, &mut reader, &mut body).await {
            Ok(()) => match assembly.take(&mut body) {
                Ok(crate::fragment::Assembled::Whole) => match frame::decode(&body, max_message) {
                    Ok((Header::Ping, _)) => {
                        // Never blocks: a pong that does not fit now is not needed.
                        write.try_write(&pong);
                        continue;
                    }
                    Ok((header, payload)) => {
                        super::dispatch::handle(&net, &peer, header, &payload);
                        if body.capacity() > 1 << 20 {
                            body = Vec::new();
                        }
                        continue;
                    }
                    Err(e) => ReadError::Frame(e.to_string()),
                },
                Ok(crate::fragment::Assembled::Partial) => continue,
                Ok(crate::fragment::Assembled::Dropped(why)) => {
                    let node = net.node.name().as_str();
                    net.logs.warn(&node, "message dropped", || {
                        tracing::warn!(node = %node, peer = %peer.name, %why, "large message dropped");
                    });
                    continue;
                }
                Err(e) => ReadError::Frame(e.to_string()),
            },
            Err(e) => e,
        };
        let node = net.node.name().as_str();
        let text = why.to_string();
        if let ReadError::Frame(_) = why {
            net.logs.warn(&node, "frame refused", || {
                tracing::warn!(node = %node, peer = %peer.name, error = %text, "frame refused; closing the connection");
            });
        }
        return net.peer_down(&peer, &text);
    }
}

/// Why reading a frame stopped.
#[derive(Debug)]
enum ReadError {
    Closed,
    Silent,
    SilentMidFrame,
    Frame(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => f.write_str("peer closed the connection"),
            ReadError::Silent => f.write_str("peer silent beyond its keepalive"),
            ReadError::SilentMidFrame => {
                f.write_str("peer silent beyond its keepalive in the middle of a frame")
            }
            ReadError::Frame(e) => write!(f, "framing error: {e}"),
        }
    }
}

/// Reads one frame body into `body`; every read under the peer timeout.
async fn read_frame<R: AsyncRead + Unpin>(
    net: &Network,
    reader: &mut R,
    body: &mut Vec<u8>,
) -> Result<(), ReadError> {
    let deadline = net.options.peer_timeout;
    let mut len = [0u8; 4];
    read_exact_within(reader, &mut len, deadline, false).await?;
    let len = u32::from_be_bytes(len) as usize;
    frame::check_len(len, net.options.max_frame).map_err(|e| ReadError::Frame(e.to_string()))?;
    body.clear();
    body.resize(len, 0);
    read_exact_within(reader, body, deadline, true).await
}

/// Fills `buf`, each read allowed `deadline` (a silent read fails it; `mid_frame`
/// says whether a frame had begun before `buf`).
async fn read_exact_within<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
    deadline: Duration,
    mid_frame: bool,
) -> Result<(), ReadError> {
    let mut filled = 0;
    while filled < buf.len() {
        match tokio::time::timeout(deadline, reader.read(&mut buf[filled..])).await {
            Ok(Ok(0) | Err(_)) => return Err(ReadError::Closed),
            Ok(Ok(n)) => filled += n,
            Err(_) if filled == 0 && !mid_frame => return Err(ReadError::Silent),
            Err(_) => return Err(ReadError::SilentMidFrame),
        }
    }
    Ok(())
}
