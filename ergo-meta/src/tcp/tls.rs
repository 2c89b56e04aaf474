//! TLS on TCP meta processes (rustls): a server wraps each accepted socket, a client
//! its dialled one, before the connection process starts; the handshake is bounded
//! by [`HANDSHAKE_TIMEOUT`], so a peer that stalls it only costs its own socket.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// How long a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The read side of a connection.
pub(crate) type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The write side of a connection.
pub(crate) type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Splits a plain socket.
pub(crate) fn plain(stream: TcpStream) -> (Reader, Writer) {
    let (r, w) = stream.into_split();
    (Box::new(r), Box::new(w))
}

/// Accepts TLS on an accepted socket.
pub(crate) async fn accept(
    config: Arc<ServerConfig>,
    stream: TcpStream,
) -> std::io::Result<(Reader, Writer)> {
    let handshake = TlsAcceptor::from(config).accept(stream);
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "tls handshake"))??;
    let (r, w) = tokio::io::split(tls);
    Ok((Box::new(r), Box::new(w)))
}

/// Starts TLS on a dialled socket, checking the server is `name`.
pub(crate) async fn connect(
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    stream: TcpStream,
) -> std::io::Result<(Reader, Writer)> {
    let handshake = TlsConnector::from(config).connect(name, stream);
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "tls handshake"))??;
    let (r, w) = tokio::io::split(tls);
    Ok((Box::new(r), Box::new(w)))
}
