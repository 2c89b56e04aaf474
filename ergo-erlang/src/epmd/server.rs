//! A minimal epmd for 127.0.0.1, started when none is running: `ALIVE2_REQ` (the name
//! lives as long as its socket), `PORT_PLEASE2_REQ` and `NAMES_REQ`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::{op, EpmdError};

#[derive(Clone)]
struct Entry {
    port: u16,
    node_type: u8,
    protocol: u8,
    high: u16,
    low: u16,
    extra: Vec<u8>,
}

struct State {
    nodes: Mutex<FxHashMap<String, Entry>>,
    creation: AtomicU32,
    /// Rate limits on lines about what clients send.
    logs: ergo_runtime::LogLimiter,
}

/// A running minimal epmd; stops when dropped.
pub struct EpmdServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EpmdServer {
    /// Listens on `addr` (use `127.0.0.1:4369` to stand in for the real epmd).
    pub async fn bind(addr: SocketAddr) -> Result<EpmdServer, EpmdError> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            nodes: Mutex::default(),
            creation: AtomicU32::new(1),
            logs: ergo_runtime::LogLimiter::node_default("epmd"),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(socket, &state).await {
                        state.logs.log(
                            "epmd: connection ended",
                            || tracing::debug!(error = %e, "epmd connection ended"),
                        );
                    }
                });
            }
        });
        tracing::info!(%addr, "embedded epmd listening");
        Ok(EpmdServer { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for EpmdServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads a `u16`-prefixed string field, bounded by the request.
fn field<'a>(req: &mut &'a [u8], n: usize) -> Result<&'a [u8], EpmdError> {
    if req.len() < n {
        return Err(EpmdError::Protocol("short request"));
    }
    let (a, b) = req.split_at(n);
    *req = b;
    Ok(a)
}

fn u16_of(req: &mut &[u8]) -> Result<u16, EpmdError> {
    let b = field(req, 2)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

async fn serve(mut socket: TcpStream, state: &State) -> Result<(), EpmdError> {
    let len = socket.read_u16().await?;
    let mut buf = vec![0; usize::from(len)];
    socket.read_exact(&mut buf).await?;
    let mut req: &[u8] = &buf;
    let tag = field(&mut req, 1)?[0];
    match tag {
        op::ALIVE2_REQ => {
            let port = u16_of(&mut req)?;
            let node_type = field(&mut req, 1)?[0];
            let protocol = field(&mut req, 1)?[0];
            let high = u16_of(&mut req)?;
            let low = u16_of(&mut req)?;
            let nlen = usize::from(u16_of(&mut req)?);
            let name = String::from_utf8_lossy(field(&mut req, nlen)?).into_owned();
            let elen = usize::from(u16_of(&mut req).unwrap_or(0));
            let extra = field(&mut req, elen).unwrap_or_default().to_vec();
            let entry = Entry {
                port,
                node_type,
                protocol,
                high,
                low,
                extra,
            };
            let taken = {
                let mut nodes = state.nodes.lock();
                if nodes.contains_key(&name) {
                    true
                } else {
                    nodes.insert(name.clone(), entry);
                    false
                }
            };
            let creation = state.creation.fetch_add(1, Ordering::Relaxed);
            let mut reply = vec![op::ALIVE2_X_RESP, u8::from(taken)];
            reply.extend_from_slice(&creation.to_be_bytes());
            socket.write_all(&reply).await?;
            if taken {
                return Ok(());
            }
            tracing::debug!(%name, port, "epmd: registered");
            // The registration lasts as long as the socket.
            let mut sink = [0u8; 64];
            while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
            state.nodes.lock().remove(&name);
            tracing::debug!(%name, "epmd: unregistered");
        }
        op::PORT_PLEASE2_REQ => {
            let name = String::from_utf8_lossy(req).into_owned();
            let entry = state.nodes.lock().get(&name).cloned();
            let reply = match entry {
                None => vec![op::PORT2_RESP, 1],
                Some(e) => {
                    let mut r = vec![op::PORT2_RESP, 0];
                    r.extend_from_slice(&e.port.to_be_bytes());
                    r.push(e.node_type);
                    r.push(e.protocol);
                    r.extend_from_slice(&e.high.to_be_bytes());
                    r.extend_from_slice(&e.low.to_be_bytes());
                    r.extend_from_slice(&(name.len() as u16).to_be_bytes());
                    r.extend_from_slice(name.as_bytes());
                    r.extend_from_slice(&(e.extra.len() as u16).to_be_bytes());
                    r.extend_from_slice(&e.extra);
                    r
                }
            };
            socket.write_all(&reply).await?;
        }
        op::NAMES_REQ => {
            let mut reply = u32::from(super::EPMD_PORT).to_be_bytes().to_vec();
            let lines: Vec<String> = state
                .nodes
                .lock()
                .iter()
                .map(|(name, e)| format!("name {name} at port {}\n", e.port))
                .collect();
            for line in lines {
                reply.extend_from_slice(line.as_bytes());
            }
            socket.write_all(&reply).await?;
        }
        other => state.logs.log("epmd: unsupported request", || {
            tracing::debug!(request = other, "epmd: unsupported request")
        }),
    }
    Ok(())
}
