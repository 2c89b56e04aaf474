//! Connections: dialing a peer's pool, accepting, and the writer and reader tasks.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use ergo_runtime::Atom;

use crate::frame::{self, Header};
use crate::handshake;
use crate::peer::{Peer, Slot};
use crate::Network;

/// Starts dialing every connection of `peer`'s pool.
pub(crate) fn dial(net: Arc<Network>, peer: Arc<Peer>) {
    let runtime = net.runtime.clone();
    runtime.spawn(async move {
        let Some(addr) = resolve(&net, peer.name).await else {
            net.peer_down(&peer, "no route (no static route, no registrar entry)");
            return;
        };
        for index in 0..peer.slots.len() {
            match connect(&net, addr).await {
                Ok((stream, info)) => {
                    if info.name != *peer.name.as_str() {
                        net.peer_down(&peer, "a different node answered at its address");
                        return;
                    }
                    peer.creation.store(info.creation, Ordering::Release);
                    start_outbound(&net, &peer, index, stream);
                }
                Err(why) => {
                    net.peer_down(&peer, &why);
                    return;
                }
            }
        }
    });
}

/// Where `node` accepts connections: static routes, then the address it told us, then
/// the registrar.
async fn resolve(net: &Arc<Network>, node: Atom) -> Option<SocketAddr> {
    let name = node.as_str();
    if let Some(route) = net.options.routes.iter().find(|r| r.matches(&name)) {
        return Some(route.addr);
    }
    if let Some(addr) = net.learned_address(node) {
        return Some(addr);
    }
    if let Some(external) = &net.options.external_registrar {
        if let Some(addr) = external.resolve(&name).await {
            return Some(addr);
        }
    }
    net.registrar.resolve(net, &name).await
}

async fn connect(
    net: &Arc<Network>,
    addr: SocketAddr,
) -> Result<(TcpStream, handshake::Peer), String> {
    let node = &net.node;
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let info = handshake::client(
            &mut stream,
            &node.name().as_str(),
            node.creation(),
            node.cookie(),
            net.listen.port(),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok::<_, String>((stream, info))
    };
    match tokio::time::timeout(net.options.connect_timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("connect to {addr} timed out")),
    }
}

fn start_outbound(net: &Arc<Network>, peer: &Arc<Peer>, index: usize, stream: TcpStream) {
    let (read, write) = stream.into_split();
    let runtime = &net.runtime;
    let writer = runtime.spawn(write_loop(net.clone(), peer.clone(), index, write));
    // Nothing is read on a dialed connection; its end (EOF or error) means the peer is gone.
    let watcher = {
        let (net, peer) = (net.clone(), peer.clone());
        runtime.spawn(async move {
            let mut read = read;
            let mut scratch = [0u8; 64];
            loop {
                match read.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            net.peer_down(&peer, "peer closed the connection");
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

async fn write_loop(
    net: Arc<Network>,
    peer: Arc<Peer>,
    index: usize,
    mut write: tokio::net::tcp::OwnedWriteHalf,
) {
    let slot: &Slot = &peer.slots[index];
    let mut out = Vec::new();
    loop {
        std::mem::swap(&mut *slot.buf.lock(), &mut out);
        if out.is_empty() {
            if tokio::time::timeout(net.options.keepalive, slot.ready.notified())
                .await
                .is_err()
            {
                let _ = frame::encode(&mut out, &Header::Ping, 0, |_| Ok(()));
            } else {
                continue;
            }
        }
        if let Err(e) = write.write_all(&out).await {
            net.peer_down(&peer, &format!("write failed: {e}"));
            return;
        }
        out.clear();
    }
}

/// Accepts connections until the node's runtime ends.
pub(crate) fn accept_loop(net: Arc<Network>, listener: TcpListener) {
    let runtime = net.runtime.clone();
    let tasks = net.clone();
    let task = runtime.spawn(async move {
        loop {
            let Ok((stream, from)) = listener.accept().await else {
                continue;
            };
            let net = net.clone();
            tokio::spawn(async move { accept(net, stream, from).await });
        }
    });
    tasks.tasks.lock().push(task.abort_handle());
}

async fn accept(net: Arc<Network>, mut stream: TcpStream, from: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let node = &net.node;
    let my_name = node.name().as_str();
    let shake = handshake::server(&mut stream, &my_name, node.creation(), node.cookie());
    let info = match tokio::time::timeout(net.options.connect_timeout, shake).await {
        Ok(Ok(info)) => info,
        Ok(Err(handshake::HandshakeError::WrongCookie(who))) => {
            tracing::warn!(node = %node.name(), %from, peer = %who, "refused a connection: wrong cookie");
            return;
        }
        Ok(Err(e)) => {
            tracing::warn!(node = %node.name(), %from, error = %e, "refused a connection");
            return;
        }
        Err(_) => {
            tracing::warn!(node = %node.name(), %from, "refused a connection: handshake timed out");
            return;
        }
    };
    let name = Atom::new(&info.name);
    if info.listen_port != 0 {
        net.learn_address(name, SocketAddr::new(from.ip(), info.listen_port));
    }
    let mut peer = net.peer(name);
    let known = peer.creation();
    if known != 0 && known != info.creation {
        // The peer restarted: what we knew of its previous incarnation is gone.
        net.peer_down(&peer, "peer restarted");
        peer = net.peer(name);
    }
    peer.creation.store(info.creation, Ordering::Release);
    let reader = tokio::spawn(read_loop(net.clone(), peer.clone(), stream));
    peer.tasks.lock().push(reader.abort_handle());
    if peer.is_closed() {
        reader.abort();
    }
}

async fn read_loop(net: Arc<Network>, peer: Arc<Peer>, stream: TcpStream) {
    let max = net.options.max_frame;
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut body = Vec::new();
    loop {
        let len = match tokio::time::timeout(net.options.peer_timeout, reader.read_u32()).await {
            Ok(Ok(len)) => len as usize,
            Ok(Err(_)) => return net.peer_down(&peer, "peer closed the connection"),
            Err(_) => return net.peer_down(&peer, "peer silent beyond its keepalive"),
        };
        if let Err(e) = frame::check_len(len, max) {
            tracing::warn!(node = %net.node.name(), peer = %peer.name, error = %e, "frame refused");
            if skip(&mut reader, len).await.is_err() {
                return net.peer_down(&peer, "peer closed the connection");
            }
            continue;
        }
        body.resize(len, 0);
        if reader.read_exact(&mut body).await.is_err() {
            return net.peer_down(&peer, "peer closed the connection");
        }
        match frame::decode(&body, max) {
            Ok((header, payload)) => super::dispatch::handle(&net, &peer, header, &payload),
            Err(e) => {
                tracing::warn!(node = %net.node.name(), peer = %peer.name, error = %e, "frame refused")
            }
        }
    }
}

/// Reads and drops `len` bytes without holding them.
async fn skip<R: AsyncRead + Unpin>(reader: &mut R, len: usize) -> std::io::Result<()> {
    let mut limited = reader.take(len as u64);
    let copied = tokio::io::copy(&mut limited, &mut tokio::io::sink()).await?;
    if copied < len as u64 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}
