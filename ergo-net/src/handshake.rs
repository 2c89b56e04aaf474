//! The handshake that opens every connection. Both sides prove they know the cookie
//! without sending it, and the dialer proves first, as in Erlang distribution:
//!
//! 1. dialer → [`Hello`]: its name, creation, capabilities, listen port, challenge `c1`;
//! 2. acceptor → [`Challenge`]: its name, creation, capabilities, challenge `c2` — and
//!    no proof;
//! 3. dialer → [`Closing::Proof`]: HMAC-SHA256(cookie, "client" ‖ c2 ‖ c1 ‖ names);
//! 4. acceptor verifies it, then → [`Closing::Accepted`] with its own proof,
//!    HMAC-SHA256(cookie, "server" ‖ c1 ‖ c2 ‖ names), or [`Closing::Refused`].
//!
//! So a stranger who dials a node learns nothing derived from its cookie: the only
//! cookie-derived bytes the acceptor sends follow a valid proof. (A dialer does prove
//! itself to whatever answers at the address it dials, as in Erlang; dial only
//! addresses you trust, or use TLS.) Messages are small (≤ 1 KiB), and the whole
//! exchange is bounded in time by the caller, who also throttles repeated failures.

use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The protocol version spoken here (2: channel binding, largest message).
pub const VERSION: u16 = 2;
/// Capability: lz4 frame compression.
pub const CAP_COMPRESSION: u32 = 1;
/// Capabilities this build offers.
pub const CAPABILITIES: u32 = CAP_COMPRESSION;
const MAX_MESSAGE: usize = 1024;

/// Why a handshake failed.
#[derive(Error, Debug)]
pub enum HandshakeError {
    /// The peer does not know our cookie (or we do not know theirs).
    #[error("cookie mismatch with {0}")]
    WrongCookie(String),
    /// The peer speaks another protocol version.
    #[error("peer speaks protocol version {0}, we speak {VERSION}")]
    Version(u16),
    /// The peer sent something that is not a handshake message.
    #[error("malformed handshake message: {0}")]
    Malformed(String),
    /// The socket failed.
    #[error("i/o during handshake: {0}")]
    Io(#[from] std::io::Error),
}

/// The client's opening.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Hello {
    /// Protocol version.
    pub version: u16,
    /// The client node's name.
    pub name: String,
    /// Its creation.
    pub creation: u32,
    /// Capability bits it offers.
    pub capabilities: u32,
    /// The port it accepts connections on (the server dials back there).
    pub listen_port: u16,
    /// The largest message it accepts, in bytes (before compression).
    pub max_message: u64,
    /// Where to dial it back, when that is not the address the connection comes from
    /// with `listen_port` (it is behind NAT, a load balancer, a forwarder).
    pub advertised: Option<std::net::SocketAddr>,
    /// Its challenge.
    pub challenge: [u8; 32],
}

/// The acceptor's answer: its identity and its challenge (no proof yet).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Challenge {
    /// Protocol version.
    pub version: u16,
    /// The server node's name.
    pub name: String,
    /// Its creation.
    pub creation: u32,
    /// Capability bits both sides have.
    pub capabilities: u32,
    /// The largest message it accepts, in bytes (before compression).
    pub max_message: u64,
    /// Its challenge.
    pub challenge: [u8; 32],
}

/// The dialer's proof, and the acceptor's verdict on it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Closing {
    /// The dialer's HMAC over the acceptor's challenge.
    Proof([u8; 32]),
    /// The acceptor verified the proof; its own HMAC over the dialer's challenge.
    Accepted([u8; 32]),
    /// The proof was wrong (nothing else is said).
    Refused,
}

/// Who is on the other side of an established connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its node name.
    pub name: String,
    /// Its creation.
    pub creation: u32,
    /// Agreed capabilities.
    pub capabilities: u32,
    /// The port it accepts connections on (0 when we dialed it).
    pub listen_port: u16,
    /// The largest message it accepts.
    pub max_message: u64,
    /// Where it says to dial it back (`None`: at `listen_port` of where it came from).
    pub advertised: Option<std::net::SocketAddr>,
}

/// What one side brings to a handshake besides the cookie.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// Our node name.
    pub name: &'a str,
    /// Our creation.
    pub creation: u32,
    /// The cookie.
    pub cookie: &'a str,
    /// The largest message we accept.
    pub max_message: u64,
    /// The TLS channel binding (see `tls`), or all zeros in clear text: both proofs
    /// cover it.
    pub binding: [u8; 32],
    /// Where peers should dial us back, if not where our connections come from.
    pub advertised: Option<std::net::SocketAddr>,
}

impl<'a> Local<'a> {
    /// Clear text (no binding), the default largest message (16 MiB).
    pub fn clear(name: &'a str, creation: u32, cookie: &'a str) -> Local<'a> {
        Local {
            name,
            creation,
            cookie,
            max_message: DEFAULT_MAX_MESSAGE,
            binding: [0; 32],
            advertised: None,
        }
    }
}

/// The largest message a node accepts unless told otherwise: 16 MiB.
pub const DEFAULT_MAX_MESSAGE: u64 = 16 << 20;

/// The proof of `role` (`b"client"` or `b"server"`) over the challenges, the names and
/// the channel binding.
pub fn proof(
    cookie: &str,
    role: &[u8],
    theirs: &[u8; 32],
    ours: &[u8; 32],
    names: (&str, &str),
    binding: &[u8; 32],
) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(cookie.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(role);
    mac.update(binding);
    mac.update(theirs);
    mac.update(ours);
    mac.update(names.0.as_bytes());
    mac.update(&[0]);
    mac.update(names.1.as_bytes());
    mac.finalize().into_bytes().into()
}

fn verify(expected: [u8; 32], got: &[u8; 32]) -> bool {
    // constant time
    expected
        .iter()
        .zip(got)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

fn challenge() -> [u8; 32] {
    let mut c = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut c);
    c
}

/// Writes one handshake message: u16 length, postcard body.
pub async fn write_msg<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
) -> Result<(), HandshakeError> {
    let body = postcard::to_allocvec(msg).map_err(|e| HandshakeError::Malformed(e.to_string()))?;
    let len =
        u16::try_from(body.len()).map_err(|_| HandshakeError::Malformed("too long".into()))?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(&body).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one handshake message, refusing anything over 1 KiB before reading it.
pub async fn read_msg<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    r: &mut R,
) -> Result<T, HandshakeError> {
    let len = r.read_u16().await? as usize;
    if len > MAX_MESSAGE {
        return Err(HandshakeError::Malformed(format!("{len} bytes")));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    parse(&body)
}

/// Parses a handshake message body.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, HandshakeError> {
    match postcard::take_from_bytes::<T>(body) {
        Ok((msg, [])) => Ok(msg),
        Ok(_) => Err(HandshakeError::Malformed("trailing bytes".into())),
        Err(e) => Err(HandshakeError::Malformed(e.to_string())),
    }
}

/// The dialing side: proves first, then checks the acceptor's proof.
pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    name: &str,
    creation: u32,
    cookie: &str,
    listen_port: u16,
) -> Result<Peer, HandshakeError> {
    client_with(stream, Local::clear(name, creation, cookie), listen_port).await
}

/// As [`client`], with a largest message and a channel binding.
pub async fn client_with<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    local: Local<'_>,
    listen_port: u16,
) -> Result<Peer, HandshakeError> {
    let Local {
        name,
        creation,
        cookie,
        max_message,
        binding,
        advertised,
    } = local;
    let ours = challenge();
    write_msg(
        stream,
        &Hello {
            version: VERSION,
            name: name.to_owned(),
            creation,
            capabilities: CAPABILITIES,
            listen_port,
            max_message,
            advertised,
            challenge: ours,
        },
    )
    .await?;
    let theirs: Challenge = read_msg(stream).await?;
    if theirs.version != VERSION {
        return Err(HandshakeError::Version(theirs.version));
    }
    let names = (name, theirs.name.as_str());
    let mine = proof(cookie, b"client", &theirs.challenge, &ours, names, &binding);
    write_msg(stream, &Closing::Proof(mine)).await?;
    let expected = proof(cookie, b"server", &ours, &theirs.challenge, names, &binding);
    match read_msg::<_, Closing>(stream).await {
        Ok(Closing::Accepted(p)) if verify(expected, &p) => Ok(Peer {
            name: theirs.name,
            creation: theirs.creation,
            capabilities: theirs.capabilities,
            listen_port: 0,
            max_message: theirs.max_message,
            advertised: None,
        }),
        Ok(Closing::Accepted(_) | Closing::Refused) | Err(HandshakeError::Io(_)) => {
            Err(HandshakeError::WrongCookie(theirs.name))
        }
        Ok(Closing::Proof(_)) => Err(HandshakeError::Malformed("unexpected proof".into())),
        Err(e) => Err(e),
    }
}

/// What the accepting side learned: who the dialer says it is, and whether its proof
/// holds. On `WrongCookie` nothing has been answered yet: the caller decides when to
/// send [`refuse`] (after a throttling delay).
pub async fn server<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    name: &str,
    creation: u32,
    cookie: &str,
) -> Result<Peer, HandshakeError> {
    server_with(stream, Local::clear(name, creation, cookie)).await
}

/// As [`server`], with a largest message and a channel binding.
pub async fn server_with<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    local: Local<'_>,
) -> Result<Peer, HandshakeError> {
    let Local {
        name,
        creation,
        cookie,
        max_message,
        binding,
        advertised: _,
    } = local;
    let hello: Hello = read_msg(stream).await?;
    if hello.version != VERSION {
        return Err(HandshakeError::Version(hello.version));
    }
    if !valid_node_name(&hello.name) {
        return Err(HandshakeError::Malformed("not a node name".into()));
    }
    let ours = challenge();
    let capabilities = hello.capabilities & CAPABILITIES;
    write_msg(
        stream,
        &Challenge {
            version: VERSION,
            name: name.to_owned(),
            creation,
            capabilities,
            max_message,
            challenge: ours,
        },
    )
    .await?;
    let Closing::Proof(theirs) = read_msg::<_, Closing>(stream).await? else {
        return Err(HandshakeError::Malformed("expected a proof".into()));
    };
    let names = (hello.name.as_str(), name);
    let expected = proof(cookie, b"client", &ours, &hello.challenge, names, &binding);
    if !verify(expected, &theirs) {
        return Err(HandshakeError::WrongCookie(hello.name));
    }
    let mine = proof(cookie, b"server", &hello.challenge, &ours, names, &binding);
    write_msg(stream, &Closing::Accepted(mine)).await?;
    Ok(Peer {
        name: hello.name,
        creation: hello.creation,
        capabilities,
        listen_port: hello.listen_port,
        max_message: hello.max_message,
        advertised: hello.advertised,
    })
}

/// Tells a dialer whose proof was wrong that it is refused.
pub async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S) {
    let _ = write_msg(stream, &Closing::Refused).await;
}

/// `name@host`, printable, without spaces: what a node name may be.
pub fn valid_node_name(name: &str) -> bool {
    let mut parts = name.split('@');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(n), Some(h), None) if !n.is_empty() && !h.is_empty()
    ) && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local<'a>(name: &'a str, cookie: &'a str, binding: u8) -> Local<'a> {
        Local {
            name,
            creation: 1,
            cookie,
            max_message: 1 << 20,
            binding: [binding; 32],
            advertised: None,
        }
    }

    #[tokio::test]
    async fn a_different_channel_binding_fails_like_a_wrong_cookie() {
        let (a, b) = tokio::io::duplex(4096);
        let (c, s) = tokio::join!(
            async move {
                let mut a = a;
                client_with(&mut a, local("a@127.0.0.1", "secret", 1), 7).await
            },
            async move {
                let mut b = b;
                server_with(&mut b, local("b@127.0.0.1", "secret", 2)).await
            }
        );
        assert!(matches!(c, Err(HandshakeError::WrongCookie(_))), "{c:?}");
        assert!(matches!(s, Err(HandshakeError::WrongCookie(_))), "{s:?}");
    }

    #[tokio::test]
    async fn same_cookie_connects_and_wrong_cookie_is_refused_on_both_sides() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let (c, s) = tokio::join!(
            client_with(&mut a, local("a@127.0.0.1", "secret", 0), 7),
            server_with(&mut b, local("b@127.0.0.1", "secret", 0))
        );
        let c = c.unwrap();
        assert_eq!((c.name.as_str(), c.max_message), ("b@127.0.0.1", 1 << 20));
        let s = s.unwrap();
        assert_eq!((s.name.as_str(), s.listen_port), ("a@127.0.0.1", 7));

        let (a, b) = tokio::io::duplex(4096);
        // Each side drops its end when done, as a closed socket would.
        let (c, s) = tokio::join!(
            async move {
                let mut a = a;
                client(&mut a, "a@127.0.0.1", 1, "secret", 7).await
            },
            async move {
                let mut b = b;
                server(&mut b, "b@127.0.0.1", 2, "other").await
            }
        );
        assert!(matches!(c, Err(HandshakeError::WrongCookie(_))), "{c:?}");
        // The server found the client's proof wrong (and answered nothing).
        assert!(matches!(s, Err(HandshakeError::WrongCookie(_))), "{s:?}");
    }

    #[test]
    fn parsing_any_bytes_never_panics() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for n in 0..50_000usize {
            let body: Vec<u8> = (0..(n % 80))
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = parse::<Hello>(&body);
            let _ = parse::<Challenge>(&body);
            let _ = parse::<Closing>(&body);
        }
    }
}
