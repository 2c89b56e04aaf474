//! The byte stream under a distribution connection: clear TCP, or TLS over TCP from
//! the first byte (as OTP's `inet_tls_dist`), split into a read and a write half.

use tokio::net::TcpStream;

/// A distribution connection's stream.
pub(crate) enum DistStream {
    /// Clear text (`inet_tcp_dist`).
    Plain(TcpStream),
    /// TLS, either side (`inet_tls_dist`).
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

/// The read half of a [`DistStream`].
pub(crate) enum DistRead {
    Plain(tokio::net::tcp::OwnedReadHalf),
    Tls(tokio::io::ReadHalf<tokio_rustls::TlsStream<TcpStream>>),
}

/// The write half of a [`DistStream`].
pub(crate) enum DistWrite {
    Plain(tokio::net::tcp::OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<tokio_rustls::TlsStream<TcpStream>>),
}

impl DistStream {
    /// Its two halves, for the reader and the writer task (a clear-text stream splits
    /// without a lock).
    pub(crate) fn into_split(self) -> (DistRead, DistWrite) {
        match self {
            DistStream::Plain(s) => {
                let (r, w) = s.into_split();
                (DistRead::Plain(r), DistWrite::Plain(w))
            }
            DistStream::Tls(s) => {
                let (r, w) = tokio::io::split(*s);
                (DistRead::Tls(r), DistWrite::Tls(w))
            }
        }
    }
}

macro_rules! delegate_read {
    ($ty:ident) => {
        impl tokio::io::AsyncRead for $ty {
            #[inline]
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
            #[inline]
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

            #[inline]
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $ty::Plain(s) => std::pin::Pin::new(s).poll_write_vectored(cx, bufs),
                    $ty::Tls(s) => std::pin::Pin::new(s).poll_write_vectored(cx, bufs),
                }
            }

            fn is_write_vectored(&self) -> bool {
                match self {
                    $ty::Plain(s) => s.is_write_vectored(),
                    $ty::Tls(s) => s.is_write_vectored(),
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

impl super::handshake::HandshakeStream for DistStream {
    #[inline]
    fn wide_lengths(&self) -> bool {
        matches!(self, DistStream::Tls(_))
    }
}

delegate_read!(DistStream);
delegate_read!(DistRead);
delegate_write!(DistStream);
delegate_write!(DistWrite);
