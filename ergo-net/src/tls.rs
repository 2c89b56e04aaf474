//! TLS on node-to-node connections (rustls): the certificate a node presents (replaceable
//! at run time), how it verifies peers (a CA pool; client certificates none, optional or
//! required; the server name), development certificates (rcgen), and the channel
//! binding mixed into the cookie handshake.
//!
//! The binding is SHA-256 over the server certificate's fingerprint and 32 bytes of
//! keying material exported from the TLS session (RFC 5705/9266). Both ends compute it
//! on their own, and both proofs of the cookie handshake cover it: a TLS-terminating
//! middlebox that knows the cookie still cannot splice two sessions together, since
//! each of its sessions has another exporter value (and, unless it holds the node's
//! key, another certificate).

pub use ergo_tls::{
    fingerprint, self_signed, CertManager, ClientAuth, DevCa, TlsError, TlsOptions,
};

use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;

/// The native network's TLS steps: the handshake over TCP and the session's channel
/// binding.
pub(crate) trait NetTls {
    /// TLS over a dialed connection to `node`; the stream and its channel binding.
    async fn connect(
        &self,
        node: &str,
        tcp: TcpStream,
    ) -> Result<(NetStream, [u8; 32]), std::io::Error>;

    /// TLS over an accepted connection; the stream and its channel binding.
    async fn accept(&self, tcp: TcpStream) -> Result<(NetStream, [u8; 32]), std::io::Error>;
}

impl NetTls for TlsOptions {
    async fn connect(
        &self,
        node: &str,
        tcp: TcpStream,
    ) -> Result<(NetStream, [u8; 32]), std::io::Error> {
        let stream = ergo_tls::connect(self, node, tcp).await?;
        let (_, conn) = stream.get_ref();
        let server_cert = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map_or(&[][..], |c| c);
        let binding = binding(server_cert, conn);
        Ok((NetStream::Tls(Box::new(stream.into())), binding))
    }

    async fn accept(&self, tcp: TcpStream) -> Result<(NetStream, [u8; 32]), std::io::Error> {
        let (stream, key): (_, std::sync::Arc<CertifiedKey>) = ergo_tls::accept(self, tcp).await?;
        let (_, conn) = stream.get_ref();
        let mine = key.end_entity_cert().map_or(&[][..], |c| c);
        let binding = binding(mine, conn);
        Ok((NetStream::Tls(Box::new(stream.into())), binding))
    }
}

/// SHA-256("ergo-tls" ‖ fingerprint(server certificate) ‖ exported keying material).
fn binding<D>(server_cert: &[u8], conn: &rustls::ConnectionCommon<D>) -> [u8; 32] {
    let mut exported = [0u8; 32];
    // Fails only before the handshake completed, which it has here; zeros then would
    // still differ from the peer's value and fail the cookie handshake, safely.
    let _ = conn.export_keying_material(&mut exported, b"EXPORTER-ergo-node", None);
    let mut hash = Sha256::new();
    hash.update(b"ergo-tls");
    hash.update(fingerprint(server_cert));
    hash.update(exported);
    hash.finalize().into()
}

/// The rustls error inside an I/O error of a TLS stream, as text (a certificate that
/// is not trusted, not valid for the name, missing...).
pub(crate) fn tls_cause(e: &std::io::Error) -> Option<String> {
    ergo_tls::cause(e)
}

/// A connection: clear TCP or TLS over TCP.
pub(crate) enum NetStream {
    /// Clear text.
    Plain(TcpStream),
    /// TLS (either side).
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

/// The read half of a [`NetStream`].
pub(crate) enum NetRead {
    Plain(tokio::net::tcp::OwnedReadHalf),
    Tls(tokio::io::ReadHalf<tokio_rustls::TlsStream<TcpStream>>),
}

/// The write half of a [`NetStream`].
pub(crate) enum NetWrite {
    Plain(tokio::net::tcp::OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<tokio_rustls::TlsStream<TcpStream>>),
}

impl NetStream {
    /// Its two halves, for a reader and a writer task.
    pub(crate) fn into_split(self) -> (NetRead, NetWrite) {
        match self {
            NetStream::Plain(s) => {
                let (r, w) = s.into_split();
                (NetRead::Plain(r), NetWrite::Plain(w))
            }
            NetStream::Tls(s) => {
                let (r, w) = tokio::io::split(*s);
                (NetRead::Tls(r), NetWrite::Tls(w))
            }
        }
    }
}

impl NetWrite {
    /// Writes what fits now without waiting (a keepalive answer: if it does not fit, it
    /// is not needed). Over TLS the bytes are handed to the session, sent as the socket
    /// allows.
    pub(crate) fn try_write(&mut self, buf: &[u8]) {
        match self {
            NetWrite::Plain(w) => {
                let _ = w.try_write(buf);
            }
            NetWrite::Tls(w) => {
                use std::task::{Context, Poll};
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let pinned = std::pin::Pin::new(w);
                if let Poll::Ready(Ok(_)) = tokio::io::AsyncWrite::poll_write(pinned, &mut cx, buf)
                {
                }
            }
        }
    }
}

macro_rules! delegate_io {
    ($ty:ident) => {
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_read(cx, buf),
                }
            }
        }
    };
}

macro_rules! delegate_write {
    ($ty:ident) => {
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_write(cx, buf),
                }
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_flush(cx),
                }
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_shutdown(cx),
                }
            }
        }
    };
}

delegate_io!(NetStream);
delegate_io!(NetRead);
delegate_write!(NetStream);
delegate_write!(NetWrite);
