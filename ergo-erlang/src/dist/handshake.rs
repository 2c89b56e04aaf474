//! The version-6 distribution handshake (OTP 23+, the only one OTP 25 completes), as
//! the connecting side and as the accepting side, with the md5 cookie digest.

use std::time::Duration;

use md5::{Digest, Md5};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::flags;

/// How long a handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a handshake failed.
#[derive(Error, Debug)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The connection failed.
    #[error("handshake i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent something that is not the handshake.
    #[error("handshake protocol error: {0}")]
    Protocol(&'static str),
    /// The peer's digest was wrong: it does not know our cookie.
    #[error("{0} does not know the cookie (bad challenge digest)")]
    BadCookie(String),
    /// The peer lacks capabilities OTP 25 requires.
    #[error("{peer} lacks mandatory distribution flags {missing:#x}")]
    MissingFlags {
        /// The peer's name.
        peer: String,
        /// The flags it lacks.
        missing: u64,
    },
    /// The peer refused the connection with this status.
    #[error("connection refused by the peer: {0}")]
    Refused(String),
    /// The handshake took too long.
    #[error("handshake timed out")]
    Timeout,
}

/// Who we are in a handshake.
pub(crate) struct Me<'a> {
    pub name: &'a str,
    pub cookie: &'a str,
    pub flags: u64,
    pub creation: u32,
}

/// The other side, once the handshake succeeded.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub name: String,
    pub flags: u64,
    pub creation: u32,
}

/// `md5(Cookie ++ integer_to_list(Challenge))`.
pub fn digest(cookie: &str, challenge: u32) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(cookie.as_bytes());
    h.update(challenge.to_string().as_bytes());
    h.finalize().into()
}

fn challenge() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish() as u32
}

/// A stream the handshake runs over, and the width of its messages' length prefix.
pub(crate) trait HandshakeStream: AsyncRead + AsyncWrite + Unpin {
    /// 2-byte lengths over clear TCP (`{packet, 2}`); 4-byte inside TLS, where
    /// `inet_tls_dist` frames the handshake with `{packet, 4}` from the start.
    fn wide_lengths(&self) -> bool;
}

async fn send(s: &mut impl HandshakeStream, body: &[u8]) -> Result<(), HandshakeError> {
    let len =
        u16::try_from(body.len()).map_err(|_| HandshakeError::Protocol("message too long"))?;
    let mut out = Vec::with_capacity(body.len() + 4);
    if s.wide_lengths() {
        out.extend_from_slice(&u32::from(len).to_be_bytes());
    } else {
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(body);
    s.write_all(&out).await?;
    Ok(())
}

async fn recv(s: &mut impl HandshakeStream) -> Result<Vec<u8>, HandshakeError> {
    let len = if s.wide_lengths() {
        // Handshake messages are small: a name, flags, a challenge, a digest.
        u16::try_from(s.read_u32().await?)
            .map_err(|_| HandshakeError::Protocol("handshake message too long"))?
    } else {
        s.read_u16().await?
    };
    let mut buf = vec![0; usize::from(len)];
    s.read_exact(&mut buf).await?;
    if buf.is_empty() {
        return Err(HandshakeError::Protocol("empty handshake message"));
    }
    Ok(buf)
}

/// A cursor over a handshake message.
struct Msg<'a>(&'a [u8]);

impl<'a> Msg<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HandshakeError> {
        if self.0.len() < n {
            return Err(HandshakeError::Protocol("short handshake message"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, HandshakeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, HandshakeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, HandshakeError> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }
    fn name(&mut self) -> Result<String, HandshakeError> {
        let n = usize::from(self.u16()?);
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| HandshakeError::Protocol("node name not UTF-8"))
    }
}

fn check_flags(peer: &str, peer_flags: u64) -> Result<(), HandshakeError> {
    let missing = flags::MANDATORY_25 & !peer_flags;
    if missing != 0 {
        return Err(HandshakeError::MissingFlags {
            peer: peer.to_owned(),
            missing,
        });
    }
    Ok(())
}

/// Runs the handshake as the connecting side (A).
pub(crate) async fn connect(
    s: &mut impl HandshakeStream,
    me: &Me<'_>,
) -> Result<Peer, HandshakeError> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, connect_inner(s, me))
        .await
        .map_err(|_| HandshakeError::Timeout)?
}

async fn connect_inner(s: &mut impl HandshakeStream, me: &Me<'_>) -> Result<Peer, HandshakeError> {
    let mut m = vec![b'N'];
    m.extend_from_slice(&me.flags.to_be_bytes());
    m.extend_from_slice(&me.creation.to_be_bytes());
    m.extend_from_slice(&(me.name.len() as u16).to_be_bytes());
    m.extend_from_slice(me.name.as_bytes());
    send(s, &m).await?;

    let status = recv(s).await?;
    if status[0] != b's' {
        return Err(HandshakeError::Protocol("expected a status"));
    }
    match &status[1..] {
        b"ok" | b"ok_simultaneous" => {}
        b"alive" => send(s, b"strue").await?,
        other => {
            return Err(HandshakeError::Refused(
                String::from_utf8_lossy(other).into(),
            ))
        }
    }

    let ch = recv(s).await?;
    let mut c = Msg(&ch);
    if c.take(1)? != b"N" {
        return Err(HandshakeError::Protocol("expected a version-6 challenge"));
    }
    let peer_flags = c.u64()?;
    let their_challenge = c.u32()?;
    let peer_creation = c.u32()?;
    let peer_name = c.name()?;
    check_flags(&peer_name, peer_flags)?;

    let ours = challenge();
    let mut r = vec![b'r'];
    r.extend_from_slice(&ours.to_be_bytes());
    r.extend_from_slice(&digest(me.cookie, their_challenge));
    send(s, &r).await?;

    let ack = match recv(s).await {
        Ok(ack) => ack,
        // OTP closes the socket on a bad digest.
        Err(HandshakeError::Io(_)) => return Err(HandshakeError::BadCookie(peer_name)),
        Err(e) => return Err(e),
    };
    let mut a = Msg(&ack);
    if a.take(1)? != b"a" {
        return Err(HandshakeError::Protocol("expected a challenge ack"));
    }
    if a.take(16)? != digest(me.cookie, ours) {
        return Err(HandshakeError::BadCookie(peer_name));
    }
    Ok(Peer {
        name: peer_name,
        flags: peer_flags,
        creation: peer_creation,
    })
}

/// Runs the handshake as the accepting side (B). `connected(name)` says whether a
/// connection to that node is already up (the peer is then told `alive`).
pub(crate) async fn accept(
    s: &mut impl HandshakeStream,
    me: &Me<'_>,
    connected: impl Fn(&str) -> bool,
) -> Result<Peer, HandshakeError> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, accept_inner(s, me, connected))
        .await
        .map_err(|_| HandshakeError::Timeout)?
}

async fn accept_inner(
    s: &mut impl HandshakeStream,
    me: &Me<'_>,
    connected: impl Fn(&str) -> bool,
) -> Result<Peer, HandshakeError> {
    let first = recv(s).await?;
    let mut n = Msg(&first);
    if n.take(1)? != b"N" {
        // The old 'n' form only comes from OTP 23/24 nodes; OTP 25 sends 'N'.
        send(s, b"snot_allowed").await?;
        return Err(HandshakeError::Protocol(
            "only the version-6 handshake is supported",
        ));
    }
    let peer_flags = n.u64()?;
    let peer_creation = n.u32()?;
    let peer_name = n.name()?;
    if let Err(e) = check_flags(&peer_name, peer_flags) {
        send(s, b"snot_allowed").await?;
        return Err(e);
    }
    if connected(&peer_name) {
        send(s, b"salive").await?;
        let answer = recv(s).await?;
        if answer != b"strue" {
            return Err(HandshakeError::Refused("already connected".into()));
        }
    } else {
        send(s, b"sok").await?;
    }

    let ours = challenge();
    let mut c = vec![b'N'];
    c.extend_from_slice(&me.flags.to_be_bytes());
    c.extend_from_slice(&ours.to_be_bytes());
    c.extend_from_slice(&me.creation.to_be_bytes());
    c.extend_from_slice(&(me.name.len() as u16).to_be_bytes());
    c.extend_from_slice(me.name.as_bytes());
    send(s, &c).await?;

    let reply = recv(s).await?;
    let mut r = Msg(&reply);
    if r.take(1)? != b"r" {
        return Err(HandshakeError::Protocol("expected a challenge reply"));
    }
    let their_challenge = r.u32()?;
    if r.take(16)? != digest(me.cookie, ours) {
        return Err(HandshakeError::BadCookie(peer_name));
    }
    let mut a = vec![b'a'];
    a.extend_from_slice(&digest(me.cookie, their_challenge));
    send(s, &a).await?;
    Ok(Peer {
        name: peer_name,
        flags: peer_flags,
        creation: peer_creation,
    })
}
