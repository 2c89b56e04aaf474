//! One connection to an Erlang node after the handshake: 4-byte length frames, ticks
//! both ways. A sender encodes its frames straight into one buffer and writes it to
//! the socket itself when nothing is queued (one non-blocking write, no task hop); the
//! writer task takes over only what the socket did not accept, in order, with
//! vectored writes. A reader hands each frame to the control handler in order.

use std::collections::VecDeque;
use std::io::{ErrorKind, IoSlice};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use ergo_runtime::dist::Dist;
use ergo_runtime::Atom;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{watch, Notify};

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
    out: Out,
    closed: watch::Sender<bool>,
    /// What it carried (shared with its writer task).
    pub(crate) counters: Arc<Counters>,
}

/// Bytes and frames a connection carried: the writer adds once per batch it writes,
/// the reader once per frame it reads (relaxed: figures, not synchronisation).
#[derive(Default)]
pub(crate) struct Counters {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
}

impl Conn {
    /// What this connection carried, as the core reports it.
    pub(crate) fn stats(&self) -> ergo_runtime::dist::PeerStats {
        let c = &self.counters;
        ergo_runtime::dist::PeerStats {
            node: self.peer_atom,
            bytes_in: c.bytes_in.load(Relaxed),
            bytes_out: c.bytes_out.load(Relaxed),
            messages_in: c.frames_in.load(Relaxed),
            messages_out: c.frames_out.load(Relaxed),
            connections: 1,
            pool_size: 1,
        }
    }
}

/// The write side: the socket and the bytes waiting for it, under one lock, so frames
/// leave in the order they were queued whoever writes them.
struct Out {
    state: Mutex<OutState>,
    /// Wakes the writer task when it has bytes to write.
    wake: Notify,
}

struct OutState {
    /// False once the connection closed.
    open: bool,
    /// The socket's write half, for senders to write to directly: clear text only (a
    /// TLS session is written by the writer task alone, so it is `None` then).
    half: Option<Arc<OwnedWriteHalf>>,
    /// Framed bytes waiting for the writer task, oldest first.
    queue: VecDeque<Vec<u8>>,
    /// How much of the first queued buffer already went out.
    head: usize,
    /// True while the writer task owns the socket (bytes queued or being written):
    /// senders then queue behind it instead of writing.
    busy: bool,
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
        let mut out = Vec::new();
        let mut lifted = Vec::new();
        self.encode_with(control, msg, &mut out, Some(&mut lifted))?;
        Ok(self.write_lifted(out, &lifted))
    }

    /// Appends the frame of a control message and its message to `out` (its frames,
    /// when it is larger than a fragment), each behind its 4-byte length. On an error
    /// `out` is left as it was.
    pub(crate) fn encode(
        &self,
        control: &Term,
        msg: Option<&Term>,
        out: &mut Vec<u8>,
    ) -> Result<(), etf::EncodeError> {
        self.encode_with(control, msg, out, None)
    }

    /// [`Conn::encode`]; with `lifted`, large binaries of the message are left out of
    /// `out` (see [`etf::Lifted`]) unless the message needs fragments.
    fn encode_with<'t>(
        &self,
        control: &Term,
        msg: Option<&'t Term>,
        out: &mut Vec<u8>,
        mut lifted: Option<&mut etf::Lifted<'t>>,
    ) -> Result<(), etf::EncodeError> {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        let fragments = self.flags & super::flags::FRAGMENTS != 0;
        let encoded = if fragments {
            // With fragments negotiated, frames carry a distribution header and bare
            // terms.
            out.extend_from_slice(&fragments::WHOLE_HEADER);
            etf::encode_bare_into(control, out).and_then(|()| match (msg, &mut lifted) {
                (Some(m), Some(lifted)) => etf::encode_bare_lifted(m, out, lifted),
                (Some(m), None) => etf::encode_bare_into(m, out),
                (None, _) => Ok(()),
            })
        } else {
            out.push(PASS_THROUGH);
            etf::encode_into(control, out).and_then(|()| match (msg, &mut lifted) {
                (Some(m), Some(lifted)) => etf::encode_lifted(m, out, lifted),
                (Some(m), None) => etf::encode_into(m, out),
                (None, _) => Ok(()),
            })
        };
        if let Err(e) = encoded {
            out.truncate(at);
            return Err(e);
        }
        let outside: usize = lifted
            .as_ref()
            .map_or(0, |l| l.iter().map(|(_, b)| b.len()).sum());
        let len = out.len() - at - 4 + outside;
        if fragments && len > fragments::FRAGMENT_SIZE + fragments::WHOLE_HEADER.len() {
            if let Some(lifted) = lifted.filter(|l| !l.is_empty()) {
                // Fragments are cut from one buffer: encode it inline.
                lifted.clear();
                out.truncate(at);
                return self.encode_with(control, msg, out, None);
            }
            let data = out.split_off(at + 4 + fragments::WHOLE_HEADER.len());
            out.truncate(at);
            let seq = self
                .next_seq
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            fragments::split_into(seq, &data, out);
            return Ok(());
        }
        let Ok(len) = u32::try_from(len) else {
            out.truncate(at);
            return Err(etf::EncodeError::TooLong("message"));
        };
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// What a sender's own write to the socket took: its byte count (0 when the socket
    /// is full), or `None` when the connection failed (logged; the caller closes it).
    fn took(&self, result: std::io::Result<usize>) -> Option<usize> {
        match result {
            Ok(n) => Some(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Some(0),
            Err(e) => {
                tracing::debug!(peer = %self.peer, error = %e, "write failed");
                None
            }
        }
    }

    /// Sends framed bytes with binaries left out of them (see [`etf::Lifted`]): written
    /// from where they are with one vectored write when nothing is waiting and the
    /// socket takes it all; otherwise put together and sent as [`Conn::write`] does.
    pub(crate) fn write_lifted(&self, framed: Vec<u8>, lifted: &etf::Lifted<'_>) -> bool {
        if lifted.is_empty() {
            return self.write(framed);
        }
        let total = framed.len() + lifted.iter().map(|(_, b)| b.len()).sum::<usize>();
        let mut slices = Vec::with_capacity(2 * lifted.len() + 1);
        let mut from = 0;
        for &(at, bytes) in lifted {
            slices.push(IoSlice::new(&framed[from..at]));
            slices.push(IoSlice::new(bytes));
            from = at;
        }
        slices.push(IoSlice::new(&framed[from..]));
        let mut st = self.out.state.lock();
        let written = match &st.half {
            Some(half) if st.open && !st.busy => {
                // On the socket from this thread: a turn run here may wait for the answer.
                Dist::sent();
                let Some(n) = self.took(half.try_write_vectored(&slices)) else {
                    drop(st);
                    self.close();
                    return false;
                };
                n
            }
            _ => 0,
        };
        if written == 0 {
            // Nothing went out: put together, it goes the usual way.
            drop(st);
            let mut whole = Vec::with_capacity(total);
            slices.iter().for_each(|s| whole.extend_from_slice(s));
            return self.write(whole);
        }
        self.counters.bytes_out.fetch_add(total as u64, Relaxed);
        self.counters.frames_out.fetch_add(1, Relaxed);
        if written == total {
            return true;
        }
        // Part went out: the rest goes to the writer task before anyone else's bytes
        // (the lock is still held).
        let mut rest = Vec::with_capacity(total - written);
        let mut skip = written;
        for slice in &slices {
            if skip >= slice.len() {
                skip -= slice.len();
            } else {
                rest.extend_from_slice(&slice[skip..]);
                skip = 0;
            }
        }
        st.queue.push_back(rest);
        st.head = 0;
        st.busy = true;
        drop(st);
        self.out.wake.notify_one();
        true
    }

    /// Sends framed bytes (see [`Conn::encode`]): written to the socket now when
    /// nothing is waiting (the rest, if the socket takes only part, goes to the writer
    /// task), else queued behind what waits. False if the connection is gone.
    pub(crate) fn write(&self, framed: Vec<u8>) -> bool {
        if framed.is_empty() {
            return true;
        }
        let counters = &self.counters;
        counters.bytes_out.fetch_add(framed.len() as u64, Relaxed);
        // A tick (an empty frame) is not a message.
        counters
            .frames_out
            .fetch_add(u64::from(framed.len() > 4), Relaxed);
        let mut st = self.out.state.lock();
        if !st.open {
            return false;
        }
        let Some(half) = &st.half else {
            // TLS: the writer task writes everything.
            st.queue.push_back(framed);
            let idle = !std::mem::replace(&mut st.busy, true);
            drop(st);
            if idle {
                self.out.wake.notify_one();
            }
            return true;
        };
        if st.busy {
            st.queue.push_back(framed);
            return true;
        }
        // On the socket from this thread: a turn run here may wait for the answer.
        Dist::sent();
        let Some(written) = self.took(half.try_write(&framed)) else {
            drop(st);
            self.close();
            return false;
        };
        if written == framed.len() {
            return true;
        }
        st.queue.push_back(framed);
        st.head = written;
        st.busy = true;
        drop(st);
        self.out.wake.notify_one();
        true
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
        let mut out = Vec::new();
        let mut lifted = Vec::new();
        self.encode_with(
            &send_control(to, from),
            Some(msg),
            &mut out,
            Some(&mut lifted),
        )?;
        Ok(self.write_lifted(out, &lifted))
    }

    /// Appends the frame(s) of `msg` to `to` from `from` to `out` (as [`Conn::encode`]),
    /// leaving the message's large binaries in `lifted` (to be sent with
    /// [`Conn::write_lifted`]).
    pub(crate) fn encode_to_lifted<'t>(
        &self,
        to: &ErlTarget,
        from: &ErlPid,
        msg: &'t Term,
        out: &mut Vec<u8>,
        lifted: &mut etf::Lifted<'t>,
    ) -> Result<(), etf::EncodeError> {
        self.encode_with(&send_control(to, from), Some(msg), out, Some(lifted))
    }

    /// Closes the connection.
    pub fn close(&self) {
        let _ = self.closed.send(true);
    }
}

/// The control message of a send to `to` from `from`: `SEND` to a pid, `REG_SEND` to a
/// name.
fn send_control(to: &ErlTarget, from: &ErlPid) -> Term {
    match to {
        ErlTarget::Pid(p) => super::ctl(2, [Term::atom(""), Term::Pid(p.clone())]),
        ErlTarget::Name { name, .. } => super::ctl(
            6,
            [Term::Pid(from.clone()), Term::atom(""), Term::atom(name)],
        ),
    }
}

/// Starts the reader and writer of a connection that finished its handshake, and
/// makes it the connection to `peer.name` (closing any older one).
pub(crate) fn start(shared: Arc<Shared>, stream: DistStream, peer: Peer) -> Arc<Conn> {
    let (closed, closed_rx) = watch::channel(false);
    #[cfg(unix)]
    let fd = Some(stream.raw_fd());
    #[cfg(not(unix))]
    let fd = None;
    let (read, write) = stream.into_split();
    let (half, tls) = match write {
        DistWrite::Plain(half) => (Some(Arc::new(half)), None),
        tls => (None, Some(tls)),
    };
    let conn = Arc::new(Conn {
        peer_atom: Atom::new(&peer.name),
        peer: peer.name.clone(),
        flags: peer.flags & shared.flags,
        creation: peer.creation,
        id: shared
            .next_conn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        next_seq: std::sync::atomic::AtomicU64::new(1),
        out: Out {
            state: Mutex::new(OutState {
                open: true,
                half,
                queue: VecDeque::new(),
                head: 0,
                busy: false,
            }),
            wake: Notify::new(),
        },
        closed,
        counters: Arc::default(),
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
    let tick = shared.options.tick;
    tokio::spawn(writer(conn.clone(), tls, closed_rx.clone(), tick));
    let reader_conn = conn.clone();
    tokio::spawn(async move {
        let result = reader(&shared, &reader_conn, read, fd, closed_rx).await;
        match result {
            Err(e @ ReadEnd::Invalid(_)) => shared.node.log_limiter().log(
                "erlang: invalid input",
                || tracing::warn!(peer = %reader_conn.peer, reason = %e, "connection closed"),
            ),
            Err(e) => tracing::info!(peer = %reader_conn.peer, reason = %e, "connection closed"),
            Ok(()) => {}
        }
        reader_conn.close();
        shared.connection_lost(&reader_conn);
    });
    conn
}

/// Writes what senders could not (the socket was full), and a tick after each
/// `tick` interval. At the end the write half is dropped, which shuts the socket's
/// sending side.
/// Over TLS (`tls` is the session's write half) it writes everything.
async fn writer(
    conn: Arc<Conn>,
    mut tls: Option<DistWrite>,
    mut closed: watch::Receiver<bool>,
    tick: std::time::Duration,
) {
    'run: loop {
        tokio::select! {
            _ = closed.wait_for(|c| *c) => break,
            () = conn.out.wake.notified() => {}
            () = tokio::time::sleep(tick) => {
                // A tick: an empty frame.
                conn.write(vec![0; 4]);
                continue;
            }
        }
        loop {
            let (batch, head, half) = {
                let mut st = conn.out.state.lock();
                if st.queue.is_empty() {
                    st.busy = false;
                    break;
                }
                let head = std::mem::take(&mut st.head);
                (std::mem::take(&mut st.queue), head, st.half.clone())
            };
            let written = tokio::select! {
                _ = closed.wait_for(|c| *c) => break 'run,
                w = async {
                    match (&half, &mut tls) {
                        (Some(half), _) => write_batch(half, &batch, head).await,
                        (None, Some(tls)) => write_session(tls, &batch, head).await,
                        (None, None) => Err(ErrorKind::NotConnected.into()),
                    }
                } => w,
            };
            if let Err(e) = written {
                tracing::debug!(peer = %conn.peer, error = %e, "write failed");
                break 'run;
            }
        }
    }
    conn.close();
    {
        let mut st = conn.out.state.lock();
        st.open = false;
        st.half = None;
        st.queue.clear();
    }
    if let Some(mut tls) = tls {
        let _ = tls.shutdown().await; // close_notify
    }
}

/// Writes `batch` (its first buffer from `head` on) into a TLS session and flushes it.
async fn write_session(
    tls: &mut DistWrite,
    batch: &VecDeque<Vec<u8>>,
    head: usize,
) -> std::io::Result<()> {
    for (i, buf) in batch.iter().enumerate() {
        tls.write_all(if i == 0 { &buf[head..] } else { buf })
            .await?;
    }
    tls.flush().await
}

/// Writes `batch` (its first buffer from `head` on) whole, many buffers per system
/// call.
async fn write_batch(
    half: &OwnedWriteHalf,
    batch: &VecDeque<Vec<u8>>,
    mut head: usize,
) -> std::io::Result<()> {
    let mut first = 0;
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(batch.len().min(MAX_SLICES));
    while first < batch.len() {
        slices.clear();
        slices.extend(
            batch
                .range(first..)
                .take(MAX_SLICES)
                .enumerate()
                .map(|(i, b)| IoSlice::new(if i == 0 { &b[head..] } else { b })),
        );
        half.writable().await?;
        let mut n = match half.try_write_vectored(&slices) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        // Past the buffers written whole, into the one written in part.
        while first < batch.len() && n >= batch[first].len() - head {
            n -= batch[first].len() - head;
            head = 0;
            first += 1;
        }
        head += n;
    }
    Ok(())
}

/// How many buffers one vectored write takes at most (Linux's `IOV_MAX` is 1,024).
const MAX_SLICES: usize = 64;

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
    fd: Option<i32>,
    mut closed: watch::Receiver<bool>,
) -> Result<(), ReadEnd> {
    // Frame headers and small frames come out of one buffer, not a read each.
    let mut r = tokio::io::BufReader::with_capacity(64 << 10, r);
    let silence = shared.options.tick * 4;
    // A node that agreed on fragments still sends a message whole when it was
    // encoded before the connection was up (a BEAM node queues what its processes
    // send while it connects, and fragments only what it encodes afterwards): such a
    // frame is one message, bounded as a fragmented one is, by `max_message`.
    let max = if conn.flags & super::flags::FRAGMENTS != 0 {
        let max_message = u32::try_from(shared.options.max_message).unwrap_or(u32::MAX);
        shared.options.max_frame.max(max_message)
    } else {
        shared.options.max_frame
    };
    let mut reassembly = Reassembly::default();
    // One timer for the connection's life, pushed back only when it fires (not one
    // per frame): it fires `silence` after the last frame at the earliest.
    let quiet = tokio::time::sleep(silence);
    tokio::pin!(quiet);
    let mut last_frame = tokio::time::Instant::now();
    loop {
        let frame = {
            // Kept across the timer's firings: reading a frame is not cancel-safe.
            let read = read_frame(&mut r, max);
            tokio::pin!(read);
            loop {
                tokio::select! {
                    biased;
                    f = &mut read => break f?,
                    _ = closed.wait_for(|c| *c) => return Err(ReadEnd::Closed),
                    () = &mut quiet => {
                        let due = last_frame + silence;
                        if tokio::time::Instant::now() >= due {
                            return Err(ReadEnd::Silent);
                        }
                        quiet.as_mut().reset(due);
                    }
                }
            }
        };
        last_frame = tokio::time::Instant::now();
        // This frame and every whole one already read behind it are one batch: the
        // processes they wake are woken once, and an idle one runs its turn on this
        // thread when the batch ends (see `Dist::batch`).
        Dist::batch(|| {
            let mut frame = frame;
            let mut frames = 0;
            loop {
                if let Some(body) = frame {
                    handle(shared, conn, &mut reassembly, &body)?;
                    frames += 1;
                }
                match buffered_frame(&mut r, max)? {
                    Some(next) => frame = next,
                    None => {
                        Dist::reading_from(fd, frames);
                        return Ok::<(), ReadEnd>(());
                    }
                }
            }
        })?;
    }
}

/// Handles one frame (a tick is `None`), reassembling fragments.
fn handle(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    reassembly: &mut Reassembly,
    body: &[u8],
) -> Result<(), ReadEnd> {
    conn.counters
        .bytes_in
        .fetch_add(4 + body.len() as u64, Relaxed);
    conn.counters.frames_in.fetch_add(1, Relaxed);
    let handled = if conn.flags & super::flags::FRAGMENTS == 0 {
        super::control::handle_frame(shared, conn, body)
    } else {
        match reassembly.accept(body, shared.options.max_message) {
            Ok(Arrival::Whole) => super::control::handle_frame(shared, conn, body),
            Ok(Arrival::Pending) => Ok(()),
            Ok(Arrival::Done(data)) => super::control::handle_terms(shared, conn, &data, false),
            Err(what) => Err(what),
        }
    };
    handled.map_err(ReadEnd::Invalid)
}

/// The next frame if it is already whole in the read buffer (`Some(None)` for a
/// tick), taken out of it; `None` if more must be read first.
fn buffered_frame<R: AsyncRead + Unpin>(
    r: &mut tokio::io::BufReader<R>,
    max: u32,
) -> Result<Option<Option<Vec<u8>>>, ReadEnd> {
    use tokio::io::AsyncBufRead;
    let buffered = r.buffer();
    let Some(head) = buffered.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*head);
    if len > max {
        return Err(ReadEnd::TooLarge(len));
    }
    let end = 4 + len as usize;
    if buffered.len() < end {
        return Ok(None);
    }
    let body = (len > 0).then(|| buffered[4..end].to_vec());
    std::pin::Pin::new(r).consume(end);
    Ok(Some(body))
}
