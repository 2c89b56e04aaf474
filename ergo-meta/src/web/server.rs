//! The HTTP server meta process: it owns the listener and serves an axum [`Router`]
//! (a [`worker_router`](super::worker_router), an application's own, or both merged)
//! until its owner dies or it is stopped; then it stops accepting, closes idle
//! connections and lets requests in flight finish (each bounded by its request
//! timeout); its WebSocket and SSE connections end with it.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;

use ergo_runtime::{
    Actor, ActorRef, Context, Down, Node, Pid, Reason, ReplyTo, SpawnOptions, Step,
};

use crate::meta::{watch, MetaError};

/// The serving process, as a request extension: the WebSocket and SSE connections it
/// accepts die with it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServedBy(pub(crate) Pid);

/// The HTTP server meta process.
pub struct WebServer {
    listener: Option<TcpListener>,
    router: Option<Router>,
    owner: Pid,
    addr: SocketAddr,
    /// Dropped when the process ends: the server shuts down gracefully.
    shutdown: Option<oneshot::Sender<()>>,
}

/// A started server: its process and its address.
#[derive(Clone, Debug)]
pub struct WebListening {
    /// The server process.
    pub server: ActorRef<WebServer>,
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
}

impl WebServer {
    /// Serves `router` on `addr` until `owner` dies.
    pub async fn start(
        node: &Node,
        addr: impl ToSocketAddrs,
        owner: Pid,
        router: Router,
    ) -> Result<WebListening, MetaError> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let server = WebServer {
            listener: Some(listener),
            router: Some(router),
            owner,
            addr,
            shutdown: None,
        };
        let server = node.spawn_with(server, (), SpawnOptions::default()).await?;
        Ok(WebListening { server, addr })
    }
}

impl Actor for WebServer {
    type Message = ();
    type Call = ();
    type Reply = SocketAddr;
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        watch(ctx, &[self.owner])?;
        let listener = self.listener.take().ok_or(Reason::error("no listener"))?;
        let router = self.router.take().ok_or(Reason::error("no router"))?;
        let (tx, rx) = oneshot::channel::<()>();
        self.shutdown = Some(tx);
        let addr = self.addr;
        let app = router
            .layer(axum::Extension(ServedBy(ctx.pid())))
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(%addr, error = %e, "http server ended");
            }
        });
        Ok(())
    }

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        _: (),
        reply: ReplyTo<SocketAddr>,
    ) -> Step<Self> {
        reply.send(self.addr);
        Step::Continue
    }

    fn debug_state(&self) -> Option<String> {
        Some(format!("WebServer {{ addr: {} }}", self.addr))
    }

    fn handle_down(&mut self, _: &mut Context<Self>, _: Down) -> Step<Self> {
        Step::Stop(Reason::Normal)
    }

    fn terminate(&mut self, _: &mut Context<Self>, _: &Reason) {
        self.shutdown = None;
    }
}
