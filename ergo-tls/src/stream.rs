//! A connection's byte stream: clear TCP, or TLS over TCP (either side), split into a
//! read half and a write half for a reader and a writer task. Both transports use it.

use tokio::net::TcpStream;

/// A connection: clear TCP or TLS over TCP.
pub enum Stream {
    /// Clear text.
    Plain(TcpStream),
    /// TLS (either side).
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

/// The read half of a [`Stream`].
pub enum StreamRead {
    /// Clear text.
    Plain(tokio::net::tcp::OwnedReadHalf),
    /// TLS.
    Tls(tokio::io::ReadHalf<tokio_rustls::TlsStream<TcpStream>>),
}

/// The write half of a [`Stream`].
pub enum StreamWrite {
    /// Clear text.
    Plain(tokio::net::tcp::OwnedWriteHalf),
    /// TLS.
    Tls(tokio::io::WriteHalf<tokio_rustls::TlsStream<TcpStream>>),
}

impl Stream {
    /// The socket's descriptor (clear text or under TLS).
    #[cfg(unix)]
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Plain(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.get_ref().0.as_raw_fd(),
        }
    }

    /// Its two halves, for a reader and a writer task.
    pub fn into_split(self) -> (StreamRead, StreamWrite) {
        match self {
            Stream::Plain(s) => {
                let (r, w) = s.into_split();
                (StreamRead::Plain(r), StreamWrite::Plain(w))
            }
            Stream::Tls(s) => {
                let (r, w) = tokio::io::split(*s);
                (StreamRead::Tls(r), StreamWrite::Tls(w))
            }
        }
    }
}

impl StreamWrite {
    /// Writes what fits now without waiting (a keepalive answer: if it does not fit, it
    /// is not needed). Over TLS the bytes are handed to the session, sent as the socket
    /// allows.
    pub fn try_write(&mut self, buf: &[u8]) {
        match self {
            StreamWrite::Plain(w) => {
                let _ = w.try_write(buf);
            }
            StreamWrite::Tls(w) => {
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

delegate_read!(Stream);
delegate_read!(StreamRead);
delegate_write!(Stream);
delegate_write!(StreamWrite);
