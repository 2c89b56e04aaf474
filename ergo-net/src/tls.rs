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

pub(crate) use ergo_tls::stream::{
    Stream as NetStream, StreamRead as NetRead, StreamWrite as NetWrite,
};
