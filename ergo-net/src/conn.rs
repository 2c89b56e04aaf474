//! Connections: dialing a peer's pool, accepting, and the writer and reader tasks.
//!
//! Writing: a process's turn appends frames to a slot's buffer and, at the end of the
//! turn, writes them itself in one non-blocking `write` (see [`crate::peer::Slot`]); the
//! slot's writer task only takes over what the socket would not take then, sends from
//! threads without turns, and the keepalive. Reading: each read takes whatever arrived
//! (up to 64 KiB, more for a bigger frame), and the complete frames in it are decoded in
//! place and delivered as one batch.
//!
//! A peer that sends nothing for `peer_timeout`, at a frame boundary or in the middle
//! of a frame, is declared lost (one timer per connection, not one per read). Writers send a keepalive every `keepalive`
//! whatever the traffic, and an acceptor answers each with a pong on the same
//! connection, so the dialing side too notices a peer that stopped reading. Any
//! framing or size error closes the connection and declares the peer lost; nothing is
//! ever skipped.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use ergo_runtime::dist::{Dist, NetError};
use ergo_runtime::Atom;

use crate::fragment::{self, Assembled};
use crate::frame::{self, Header};
use crate::handshake::{self, HandshakeError};
use crate::peer::{Owner, Peer, Slot};
use crate::tls::{NetRead, NetStream, NetTls as _, NetWrite};
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

/// How many times a connection of a pool after the first is tried again.
const POOL_RETRIES: u32 = 3;

/// Starts dialing every connection of `peer`'s pool.
pub(crate) fn dial(net: Arc<Network>, peer: Arc<Peer>) {
    let runtime = net.runtime.clone();
    runtime.spawn(async move {
        let mut learned = true;
        let mut addr = resolve(&net, peer.name, learned).await;
        let mut index = 0;
        let mut retries = 0;
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
                    retries = 0;
                }
                // The peer answered once already: a later connection of the pool that
                // fails on the network (the peer, short of descriptors, dropped it
                // among strangers) is tried again before the peer counts as lost.
                Err(e)
                    if index > 0
                        && retries < POOL_RETRIES
                        && !matches!(e.error, NetError::WrongCookie(_)) =>
                {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(10 << retries)).await;
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

/// Connects; out of file descriptors, drops the older half of the strangers still in
/// their handshake (a peer we mean to talk to comes before one that has not proved
/// anything) and tries again, a few times.
async fn connect_evicting(net: &Network, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut tries = 0;
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if out_of_descriptors(&e) && tries < 8 => {
                tries += 1;
                let evicted = net.guard.squeeze() | net.registrar_guard.squeeze();
                if !evicted {
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
    let runtime = &net.runtime;
    // A dialed connection carries only pongs back; its end (EOF, error, or silence
    // beyond the peer timeout) means the peer is gone.
    let (writer, watcher, plain) = match stream {
        NetStream::Plain(tcp) => {
            let tcp = Arc::new(tcp);
            let out_to = Outbound::Plain(tcp.clone());
            let writer = runtime.spawn(write_loop(net.clone(), peer.clone(), index, out_to));
            let watcher = runtime.spawn(watch_plain(net.clone(), peer.clone(), tcp.clone()));
            (writer, watcher, Some(tcp))
        }
        tls => {
            let (read, write) = tls.into_split();
            let out_to = Outbound::Tls(write);
            let writer = runtime.spawn(write_loop(net.clone(), peer.clone(), index, out_to));
            let watcher = runtime.spawn(watch(net.clone(), peer.clone(), read));
            (writer, watcher, None)
        }
    };
    let mut tasks = peer.tasks.lock();
    tasks.push(writer.abort_handle());
    tasks.push(watcher.abort_handle());
    drop(tasks);
    // From now on, turns that append to a clear-text slot flush it themselves (a TLS
    // session is written by its writer task only).
    {
        let mut state = peer.slots[index].state.lock();
        state.stream = plain;
        state.connected = true;
    }
    if peer.is_closed() {
        writer.abort();
        watcher.abort();
        let mut state = peer.slots[index].state.lock();
        state.stream = None;
        state.connected = false;
    }
}

/// Watches a clear-text dialed connection for its end, reading (and ignoring) pongs.
async fn watch_plain(net: Arc<Network>, peer: Arc<Peer>, stream: Arc<TcpStream>) {
    let mut scratch = [0u8; 64];
    let why = loop {
        match tokio::time::timeout(net.options.peer_timeout, stream.readable()).await {
            Ok(Ok(())) => match stream.try_read(&mut scratch) {
                Ok(0) => break "peer closed the connection",
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break "peer closed the connection",
            },
            Ok(Err(_)) => break "peer closed the connection",
            Err(_) => break "peer silent beyond its keepalive (no pong)",
        }
    };
    net.peer_down(&peer, why);
}

/// Watches a TLS dialed connection for its end, reading (and ignoring) pongs.
async fn watch(net: Arc<Network>, peer: Arc<Peer>, mut read: NetRead) {
    let mut scratch = [0u8; 64];
    let why = loop {
        match tokio::time::timeout(net.options.peer_timeout, read.read(&mut scratch)).await {
            Ok(Ok(0) | Err(_)) => break "peer closed the connection",
            Ok(Ok(_)) => {}
            Err(_) => break "peer silent beyond its keepalive (no pong)",
        }
    };
    net.peer_down(&peer, why);
}

/// Where a writer task writes: a clear-text socket shared with the turns that flush
/// it, or a TLS session's write half.
enum Outbound {
    Plain(Arc<TcpStream>),
    Tls(NetWrite),
}

impl Outbound {
    /// Writes all of `bytes`, waiting whenever the socket is full.
    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Outbound::Plain(stream) => write_all(stream, bytes).await,
            Outbound::Tls(write) => {
                write.write_all(bytes).await?;
                write.flush().await // TLS hands its records over
            }
        }
    }
}

/// The writer task of one slot: writes what it is handed (a flush that found the socket
/// full, sends from threads without turns, a slot that filled before it connected, and
/// everything over TLS) and the keepalive, waiting for the socket when it is full.
async fn write_loop(net: Arc<Network>, peer: Arc<Peer>, index: usize, mut out_to: Outbound) {
    let slot: &Slot = &peer.slots[index];
    let keepalive = net.options.keepalive;
    let mut out = Vec::new();
    let mut last_ping = Instant::now();
    loop {
        {
            let mut state = slot.state.lock();
            if last_ping.elapsed() >= keepalive {
                let _ = frame::encode(&mut state.buf, &Header::Ping, 0, |_| Ok(()));
                last_ping = Instant::now();
            }
            let mine = match state.owner {
                Owner::Writer => true,
                Owner::Idle => !state.buf.is_empty(),
                // A flush is queued or writing: it writes the ping too.
                Owner::Queued | Owner::Flushing => false,
            };
            if mine {
                state.owner = Owner::Writer;
                std::mem::swap(&mut state.buf, &mut out);
            }
        }
        if out.is_empty() {
            let wait = keepalive.saturating_sub(last_ping.elapsed());
            let _ = tokio::time::timeout(wait, slot.ready.notified()).await;
            continue;
        }
        match tokio::time::timeout(net.options.peer_timeout, out_to.write_all(&out)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return net.peer_down(&peer, &format!("write failed: {e}")),
            Err(_) => return net.peer_down(&peer, "peer stopped reading (write timed out)"),
        }
        out.clear();
        if out.capacity() > 4 * net.options.write_buffer {
            out = Vec::new(); // give back what a burst took
        }
        let mut state = slot.state.lock();
        if state.buf.is_empty() {
            state.owner = Owner::Idle;
        }
    }
}

/// Writes all of `bytes`, waiting whenever the socket is full.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Accepts connections until the node's runtime ends. On errors (too many open files,
/// out of buffers) it first drops the older half of the strangers in their handshake
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

/// After a failed `accept`: logs (rate-limited), frees descriptors by evicting the older
/// half of the strangers of both acceptors if there are any, else sleeps; the next
/// backoff.
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
    if net.guard.squeeze() | net.registrar_guard.squeeze() {
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

/// Bytes one read asks for (a frame longer than this grows the buffer to fit it).
const READ_BUFFER: usize = 64 * 1024;

/// Reads an accepted connection: each read takes whatever arrived, and every complete
/// frame in it is decoded in place and handled as one batch (the processes it wakes
/// are woken once, the replies and acks it writes leave in one write per connection).
async fn read_loop(net: Arc<Network>, peer: Arc<Peer>, stream: NetStream) {
    #[cfg(unix)]
    let fd = Some(stream.raw_fd());
    #[cfg(not(unix))]
    let fd = None;
    let (mut stream, mut write) = stream.into_split();
    let mut pong = Vec::new();
    let _ = frame::encode(&mut pong, &Header::Pong, 0, |_| Ok(()));
    let options = &net.options;
    let max = options.max_frame;
    // A reassembled message may be larger than a frame.
    let max_message = options.max_message.max(max);
    let mut assembly = fragment::Assembler::new(
        options.max_message,
        options.max_assemblies,
        options.assembly_timeout,
    );
    let deadline = net.options.peer_timeout;
    // One timer for the connection's life, pushed back only when it fires (not one
    // per read): it fires `deadline` after the last read at the earliest.
    let silence = tokio::time::sleep(deadline);
    tokio::pin!(silence);
    let mut last_read = tokio::time::Instant::now();
    let mut buf = vec![0u8; READ_BUFFER];
    // Unhandled bytes are `buf[start..end]`.
    let (mut start, mut end) = (0usize, 0usize);
    let why = loop {
        // What the next frame needs in the buffer, once its length is known.
        let mut need = 4;
        let mut frames = 0u64;
        let handled = Dist::batch(|| {
            let mut recent = super::dispatch::Recent::default();
            while end - start >= 4 {
                let len = u32::from_be_bytes([
                    buf[start],
                    buf[start + 1],
                    buf[start + 2],
                    buf[start + 3],
                ]) as usize;
                frame::check_len(len, max).map_err(|e| ReadError::Frame(e.to_string()))?;
                if end - start < 4 + len {
                    need = 4 + len;
                    break;
                }
                let body = &buf[start + 4..start + 4 + len];
                let whole;
                let body = if fragment::is_fragment(body) {
                    match assembly.take(body) {
                        Ok(Assembled::Whole(message)) => {
                            whole = message;
                            &whole[..]
                        }
                        Ok(Assembled::Partial) => {
                            start += 4 + len;
                            continue;
                        }
                        Ok(Assembled::Dropped(why)) => {
                            let node = net.node.name().as_str();
                            net.logs.warn(&node, "message dropped", || {
                                tracing::warn!(node = %node, peer = %peer.name, %why, "large message dropped");
                            });
                            start += 4 + len;
                            continue;
                        }
                        Err(e) => return Err(ReadError::Frame(e.to_string())),
                    }
                } else {
                    body
                };
                match frame::decode(body, max_message) {
                    Ok((Header::Ping, _)) => {
                        // Never blocks: a pong that does not fit now is not needed.
                        write.try_write(&pong);
                    }
                    Ok((header, payload)) => {
                        super::dispatch::handle(&net, &peer, &mut recent, header, &payload);
                    }
                    Err(e) => return Err(ReadError::Frame(e.to_string())),
                }
                start += 4 + len;
                frames += 1;
            }
            Dist::reading_from(fd, frames);
            Ok(())
        });
        if frames > 0 {
            peer.frames_in.fetch_add(frames, Ordering::Relaxed);
        }
        if let Err(e) = handled {
            break e;
        }
        // Room for the rest of the frame begun (or a whole new one).
        if start == end {
            (start, end) = (0, 0);
            if buf.len() > READ_BUFFER.max(1 << 20) {
                buf = vec![0u8; READ_BUFFER]; // give back what a big frame took
            }
        } else if buf.len() - start < need.max(READ_BUFFER / 2) || buf.len() - end < 4096 {
            buf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
        }
        if buf.len() < need {
            buf.resize(need, 0);
        }
        let mid_frame = end > start;
        let read = loop {
            tokio::select! {
                biased;
                read = stream.read(&mut buf[end..]) => break Some(read),
                () = &mut silence => {
                    let due = last_read + deadline;
                    if tokio::time::Instant::now() >= due {
                        break None;
                    }
                    silence.as_mut().reset(due);
                }
            }
        };
        match read {
            Some(Ok(0) | Err(_)) => break ReadError::Closed,
            Some(Ok(n)) => {
                end += n;
                last_read = tokio::time::Instant::now();
                peer.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
            }
            None if mid_frame => break ReadError::SilentMidFrame,
            None => break ReadError::Silent,
        }
    };
    let node = net.node.name().as_str();
    let text = why.to_string();
    if let ReadError::Frame(_) = why {
        net.logs.warn(&node, "frame refused", || {
            tracing::warn!(node = %node, peer = %peer.name, error = %text, "frame refused; closing the connection");
        });
    }
    net.peer_down(&peer, &text)
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
