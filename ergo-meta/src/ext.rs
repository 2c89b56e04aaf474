//! [`MetaExt`]: meta processes started from a handler, owned by its process (as
//! `EventsExt` and `SupervisorExt` extend the context): they deliver to it, and die
//! with it.

use std::future::Future;

use tokio::net::ToSocketAddrs;

use ergo_runtime::{Actor, Context, Handles};

use crate::meta::MetaError;
use crate::port::{Port, PortEvent, PortOptions};
use crate::tcp::{TcpConn, TcpConnection, TcpEvent, TcpListening, TcpOptions, TcpServer};
use crate::udp::{Udp, UdpDatagram};
use crate::web::sse::{SseConn, SseConnection, SseEvent};
use crate::web::ws::{WsConn, WsConnection, WsEvent};

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
    ) -> impl Future<Output = Result<TcpListening, MetaError>> + Send + 'static
    where
        A: Handles<TcpEvent>;

    /// Dials `addr`; the connection's events come to this process.
    fn tcp_connect(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
        options: TcpOptions,
    ) -> impl Future<Output = Result<TcpConn, MetaError>> + Send + 'static
    where
        A: Handles<TcpEvent>;

    /// Binds a UDP socket; its datagrams come to this process.
    fn udp_bind(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
    ) -> impl Future<Output = Result<Udp, MetaError>> + Send + 'static
    where
        A: Handles<UdpDatagram>;

    /// Starts an external program; its output and exit come to this process.
    fn open_port(
        &self,
        options: PortOptions,
    ) -> impl Future<Output = Result<Port, MetaError>> + Send + 'static
    where
        A: Handles<PortEvent>;

    /// Dials a WebSocket server; its messages come to this process.
    fn ws_connect(
        &self,
        url: String,
    ) -> impl Future<Output = Result<WsConn, MetaError>> + Send + 'static
    where
        A: Handles<WsEvent>;

    /// Reads a server-sent events stream; its events come to this process.
    fn sse_connect(
        &self,
        url: String,
    ) -> impl Future<Output = Result<SseConn, MetaError>> + Send + 'static
    where
        A: Handles<SseEvent>;
}

impl<A: Actor> MetaExt<A> for Context<A> {
    fn tcp_listen(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
        options: TcpOptions,
    ) -> impl Future<Output = Result<TcpListening, MetaError>> + Send + 'static
    where
        A: Handles<TcpEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        async move { TcpServer::listen(&node, addr, me, Vec::new(), options).await }
    }

    fn tcp_connect(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
        options: TcpOptions,
    ) -> impl Future<Output = Result<TcpConn, MetaError>> + Send + 'static
    where
        A: Handles<TcpEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        async move { TcpConnection::connect(&node, addr, me, options).await }
    }

    fn udp_bind(
        &self,
        addr: impl ToSocketAddrs + Send + 'static,
    ) -> impl Future<Output = Result<Udp, MetaError>> + Send + 'static
    where
        A: Handles<UdpDatagram>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        async move { Udp::bind(&node, addr, me).await }
    }

    fn open_port(
        &self,
        options: PortOptions,
    ) -> impl Future<Output = Result<Port, MetaError>> + Send + 'static
    where
        A: Handles<PortEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        async move { Port::open(&node, options, me).await }
    }

    fn ws_connect(
        &self,
        url: String,
    ) -> impl Future<Output = Result<WsConn, MetaError>> + Send + 'static
    where
        A: Handles<WsEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        async move { WsConnection::connect(&node, &url, me).await }
    }

    fn sse_connect(
        &self,
        url: String,
    ) -> impl Future<Output = Result<SseConn, MetaError>> + Send + 'static
    where
        A: Handles<SseEvent>,
    {
        let (node, me) = (self.node().clone(), self.myself());
        async move { SseConnection::connect(&node, &url, me).await }
    }
}
