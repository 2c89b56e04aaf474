//! TCP as meta processes: a [`TcpServer`] that accepts connections and hands each
//! to a worker, and [`TcpConnection`]s (accepted, or dialled with
//! [`TcpConnection::connect`]) that deliver framed data as [`TcpEvent`]s; either side
//! may speak TLS ([`TcpOptions::tls`], [`TcpConnection::connect_tls`]).

mod connection;
pub mod framing;
mod server;
mod tls;

use std::net::SocketAddr;

use bytes::Bytes;

pub use connection::{TcpConn, TcpConnection, TcpOptions, DEFAULT_MAX_LEN};
pub use framing::{Decoder, FrameError, Framing};
pub use server::{TcpListening, TcpServer};
pub use tls::HANDSHAKE_TIMEOUT;
/// The TLS library (to build a `ServerConfig` or `ClientConfig`).
pub use tokio_rustls::rustls;

/// What a connection's worker receives (handle it with `#[handle_info(local)]`).
#[derive(Debug)]
pub enum TcpEvent {
    /// The connection is up.
    Connect {
        /// The connection (write to it, close it).
        conn: TcpConn,
        /// The peer's address.
        peer: SocketAddr,
        /// This side's address.
        local: SocketAddr,
    },
    /// One frame (or raw chunk) arrived.
    Data {
        /// The connection it came from.
        conn: TcpConn,
        /// The frame, header included.
        data: Bytes,
    },
    /// The connection closed; its process is ending.
    Disconnect {
        /// The connection.
        conn: TcpConn,
        /// Why, unless the peer closed or the connection was asked to.
        reason: Option<String>,
    },
}
