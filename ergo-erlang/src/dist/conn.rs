//! One connection to an Erlang node after the handshake: 4-byte length frames, ticks
//! both ways, a writer fed by a queue, a reader handing each frame to the control
//! handler in order.

use std::sync::Arc;

use ergo_runtime::Atom;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use super::fragments::{self, Arrival, Reassembly};
use super::handshake::Peer;
use super::stream::{DistRead, DistStream, DistWrite};
use super::{ErlTarget, Shared};
use crate::etf;
use crate::term::{ErlPid, Term};

/// The pass-through prefix of a frame without a distribution header.
pub(crate) const PASS_THROUGH: u8 = 112;

/// A live connection.
pub(crate) struct Conn {
    pub peer: String,
    pub peer_atom: Atom,
    /// The flags both sides agreed on.
    pub flags: u64,
    /// The peer's creation (incarnation).
    #[allow(dead_code)] // kept for diagnostics
    pub creation: u32,
    pub id: u64,
    /// The next sequence id of a fragmented message.
    next_seq: std::sync::atomic::AtomicU64,
    tx: mpsc::UnboundedSender<Vec<u8>>,
    closed: watch::Sender<bool>,
}

impl Conn {
    /// Queues a control message (and its message, if any). False if the connection
    /// is gone or the terms cannot be encoded (logged).
    pub fn send(&self, control: &Term, msg: Option<&Term>) -> bool {
        match self.try_send(control, msg) {
            Ok(sent) => sent,
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "cannot encode a message for Erlang");
                false
            }
        }
    }

    /// Queues a control message (and its message): true if queued, false if the
    /// connection is gone, an error (nothing sent) for a term OTP would refuse.
    pub fn try_send(&self, control: &Term, msg: Option<&Term>) -> Result<bool, etf::EncodeError> {
        if self.flags & super::flags::FRAGMENTS == 0 {
            let mut body = vec![PASS_THROUGH];
            etf::encode_into(control, &mut body)?;
            if let Some(m) = msg {
                etf::encode_into(m, &mut body)?;
            }
            return Ok(self.tx.send(body).is_ok());
        }
        // With fragments negotiated, frames carry a distribution header and bare terms.
        let mut body = fragments::WHOLE_HEADER.to_vec();
        etf::encode_bare_into(control, &mut body)?;
        if let Some(m) = msg {
            etf::encode_bare_into(m, &mut body)?;
        }
        if body.len() <= fragments::FRAGMENT_SIZE + fragments::WHOLE_HEADER.len() {
            return Ok(self.tx.send(body).is_ok());
        }
        let seq = self
            .next_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for frame in fragments::split(seq, &body[fragments::WHOLE_HEADER.len()..]) {
            if self.tx.send(frame).is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Sends `msg` to `to` (`SEND` to a pid, `REG_SEND` to a name) from `from`.
    pub fn send_to(&self, to: &ErlTarget, from: &ErlPid, msg: &Term) -> bool {
        match self.try_send_to(to, from, msg) {
            Ok(sent) => sent,
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "cannot encode a message for Erlang");
                false
            }
        }
    }

    /// As [`Conn::send_to`], an encoding error returned.
    pub fn try_send_to(
        &self,
        to: &ErlTarget,
        from: &ErlPid,
        msg: &Term,
    ) -> Result<bool, etf::EncodeError> {
        let control = match to {
            ErlTarget::Pid(p) => super::ctl(2, [Term::atom(""), Term::Pid(p.clone())]),
            ErlTarget::Name { name, .. } => super::ctl(
                6,
                [Term::Pid(from.clone()), Term::atom(""), Term::atom(name)],
            ),
        };
        self.try_send(&control, Some(msg))
    }

    /// Closes the connection.
    pub fn close(&self) {
        let _ = self.closed.send(true);
    }
}

/// Starts the reader and writer of a connection that finished its handshake, and
/// makes it the connection to `peer.name` (closing any older one).
pub(crate) fn start(shared: Arc<Shared>, stream: DistStream, peer: Peer) -> Arc<Conn> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (closed, closed_rx) = watch::channel(false);
    let conn = Arc::new(Conn {
        peer_atom: Atom::new(&peer.name),
        peer: peer.name.clone(),
        flags: peer.flags & shared.flags,
        creation: peer.creation,
        id: shared
            .next_conn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        next_seq: std::sync::atomic::AtomicU64::new(1),
        tx,
        closed,
    });
    shared.known.lock().insert(conn.peer_atom);
    // A node that comes back under the same name while its old connection is still
    // registered (the handshake's `alive` / `true`): the old incarnation is gone, so
    // its links and monitors fire now, before the new connection carries anything.
    let old = shared.conns.lock().remove(&peer.name);
    if let Some(old) = old {
        tracing::info!(peer = %old.peer, "the node reconnected: its old connection is closed");
        old.close();
        shared.lost(&old);
    }
    shared.conns.lock().insert(peer.name.clone(), conn.clone());
    shared.global_peer_up(&conn);
    let (read, write) = stream.into_split();
    let tick = shared.options.tick;
    tokio::spawn(writer(write, rx, closed_rx.clone(), tick));
    let reader_conn = conn.clone();
    tokio::spawn(async move {
        let result = reader(&shared, &reader_conn, read, closed_rx).await;
        match result {
            Err(e @ ReadEnd::Invalid(_)) => {
                tracing::warn!(peer = %reader_conn.peer, reason = %e, "connection closed")
            }
            Err(e) => tracing::info!(peer = %reader_conn.peer, reason = %e, "connection closed"),
            Ok(()) => {}
        }
        reader_conn.close();
        shared.connection_lost(&reader_conn);
    });
    conn
}

async fn writer(
    mut w: DistWrite,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    mut closed: watch::Receiver<bool>,
    tick: std::time::Duration,
) {
    let mut out = Vec::new();
    loop {
        let frame = tokio::select! {
            _ = closed.wait_for(|c| *c) => break,
            next = tokio::time::timeout(tick, rx.recv()) => match next {
                Ok(Some(body)) => body,
                Ok(None) => break,
                Err(_) => Vec::new(), // a tick
            },
        };
        // Every frame queued meanwhile goes out in the same write (bounded batch).
        out.clear();
        out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        out.extend_from_slice(&frame);
        while out.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(next) => {
                    out.extend_from_slice(&(next.len() as u32).to_be_bytes());
                    out.extend_from_slice(&next);
                }
                Err(_) => break,
            }
        }
        if w.write_all(&out).await.is_err() {
            break;
        }
        if out.capacity() > 4 * WRITE_BATCH {
            out = Vec::new();
        }
    }
    let _ = w.shutdown().await;
}

/// How many bytes of queued frames one write gathers at most.
const WRITE_BATCH: usize = 256 << 10;

/// Why the reader stopped.
#[derive(Debug, thiserror::Error)]
enum ReadEnd {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no traffic for four tick intervals")]
    Silent,
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(u32),
    #[error("closed locally")]
    Closed,
    #[error("invalid distribution message ({0})")]
    Invalid(String),
}

async fn read_frame(
    r: &mut (impl AsyncRead + Unpin),
    max: u32,
) -> Result<Option<Vec<u8>>, ReadEnd> {
    let len = r.read_u32().await?;
    if len == 0 {
        return Ok(None);
    }
    if len > max {
        return Err(ReadEnd::TooLarge(len));
    }
    // Grows with the bytes that really arrive, not to the declared length up front
    // (beyond the first MiB).
    let mut body = Vec::with_capacity((len as usize).min(1 << 20));
    r.take(u64::from(len)).read_to_end(&mut body).await?;
    if body.len() != len as usize {
        return Err(ReadEnd::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(Some(body))
}

async fn reader(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    r: DistRead,
    mut closed: watch::Receiver<bool>,
) -> Result<(), ReadEnd> {
    // Frame headers and small frames come out of one buffer, not a read each.
    let mut r = tokio::io::BufReader::with_capacity(64 << 10, r);
    let silence = shared.options.tick * 4;
    let max = shared.options.max_frame;
    let mut reassembly = Reassembly::default();
    loop {
        let frame = tokio::select! {
            _ = closed.wait_for(|c| *c) => return Err(ReadEnd::Closed),
            f = tokio::time::timeout(silence, read_frame(&mut r, max)) => f.map_err(|_| ReadEnd::Silent)??,
        };
        let Some(body) = frame else { continue };
        let handled = if conn.flags & super::flags::FRAGMENTS == 0 {
            super::control::handle_frame(shared, conn, &body)
        } else {
            match reassembly.accept(&body, shared.options.max_message) {
                Ok(Arrival::Whole) => super::control::handle_frame(shared, conn, &body),
                Ok(Arrival::Pending) => Ok(()),
                Ok(Arrival::Done(data)) => super::control::handle_terms(shared, conn, &data, false),
                Err(what) => Err(what),
            }
        };
        if let Err(what) = handled {
            return Err(ReadEnd::Invalid(what));
        }
    }
}
