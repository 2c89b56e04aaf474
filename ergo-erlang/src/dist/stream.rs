//! The byte stream under a distribution connection: clear TCP, or TLS over TCP from
//! the first byte (as OTP's `inet_tls_dist`), split into a read and a write half.

pub(crate) use ergo_tls::stream::{
    Stream as DistStream, StreamRead as DistRead, StreamWrite as DistWrite,
};

impl super::handshake::HandshakeStream for DistStream {
    #[inline]
    fn wide_lengths(&self) -> bool {
        matches!(self, DistStream::Tls(_))
    }
}
