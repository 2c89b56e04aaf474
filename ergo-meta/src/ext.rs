//! [`MetaExt`]: meta processes started from a handler, owned by its process (as
//! `EventsExt` and `SupervisorExt` extend the context): they deliver to it, and die
//! with it.

use std::future::Future;
use std::pin::Pin;

use tokio::net::ToSocketAddrs;

use ergo_runtime::{Actor, Context, Handles};

use crate::meta::MetaError;
use crate::port::{Port, PortEvent, PortOptions};
use crate::tcp::{TcpConn, TcpConnection, TcpEvent, TcpListening, TcpOptions, TcpServer};
use crate::udp::{Udp, UdpDatagram};
use crate::web::sse::{SseConn, SseConnection, SseEvent};
use crate::web::ws::{WsConn, WsConnection, WsEvent};

/// What starting a meta process returns: await it for its handle.
pub type MetaFuture<T> = Pin<Box<dyn Future<Output = Result<T, MetaError>> + Send + 'static>>;

/// Meta processes owned by the calling process (in scope with
/// `use ergo::meta::MetaExt`). Each is for an actor that handles its event type
/// (`#[handle_info(local)] fn tcp(&mut self, event: TcpEvent)`), so a process that
/// would not understand what the meta delivers cannot start it.
///
/// The futures do not borrow the context: start them in an async handler or init.
pub trait MetaExt<A: Actor> {
    /// Listens on `addr`; each connection's events come to this process.
    fn tcp_listen(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
        options: TcpOptions,
    ) -> MetaFuture<TcpListening>
    where
        A: Handles<TcpEvent>;

    /// Dials `addr`; the connection's events come to this process.
    fn tcp_connect(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
        options: TcpOptions,
    ) -> MetaFuture<TcpConn>
    where
        A: Handles<TcpEvent>;

    /// Binds a UDP socket; its datagrams come to this process.
    fn udp_bind(&self, addr: impl ToSocketAddrs + Send + 'static) -> MetaFuture<Udp>
    where
        A: Handles<UdpDatagram>;

    /// Starts an external program; its output and exit come to this process.
    fn open_port(&self, options: PortOptions) -> MetaFuture<Port>
    where
        A: Handles<PortEvent>;

    /// Dials a WebSocket server; its messages come to this process.
    fn ws_connect(&self, url: String) -> MetaFuture<WsConn>
    where
        A: Handles<WsEvent>;

    /// Reads a server-sent events stream; its events come to this process.
    fn sse_connect(&self, url: String) -> MetaFuture<SseConn>
    where
        A: Handles<SseEvent>;
}

impl<A: Actor> MetaExt<A> for Context<A> {
    fn tcp_listen(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
        options: TcpOptions,
    ) -> MetaFuture<TcpListening>
    where
        A: Handles<TcpEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        Box::pin(async move { TcpServer::listen(&node, addr, me, Vec::new(), options).await })
    }

    fn tcp_connect(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
        options: TcpOptions,
    ) -> MetaFuture<TcpConn>
    where
        A: Handles<TcpEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        Box::pin(async move { TcpConnection::connect(&node, addr, me, options).await })
    }

    fn udp_bind(&self, addr: impl ToSocketAddrs + Send + 'static) -> MetaFuture<Udp>
    where
        A: Handles<UdpDatagram>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        Box::pin(async move { Udp::bind(&node, addr, me).await })
    }

    fn open_port(&self, options: PortOptions) -> MetaFuture<Port>
    where
        A: Handles<PortEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        Box::pin(async move { Port::open(&node, options, me).await })
    }

    fn ws_connect(&self, url: String) -> MetaFuture<WsConn>
    where
        A: Handles<WsEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        Box::pin(async move { WsConnection::connect(&node, &url, me).await })
    }

    fn sse_connect(&self, url: String) -> MetaFuture<SseConn>
    where
        A: Handles<SseEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        Box::pin(async move { SseConnection::connect(&node, &url, me).await })
    }
}
