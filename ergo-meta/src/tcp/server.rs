//! The TCP server meta process: it owns the listener; an accept task spawns one
//! connection process per socket and hands the connections to its workers round robin
//! (or all to its owner). It dies with its owner; its connections die with it.

use std::net::SocketAddr;

use tokio::net::{TcpListener, ToSocketAddrs};

use ergo_runtime::{
    Actor, ActorRef, Context, Down, Node, Pid, Reason, ReplyTo, SpawnOptions, Step,
};

use super::connection::{TcpConnection, TcpOptions, Tls};
use super::TcpEvent;
use crate::meta::{watch, MetaError, Tasks};
use crate::recipient::Recipient;

/// The listening server meta process.
pub struct TcpServer {
    listener: Option<TcpListener>,
    owner: Pid,
    workers: Vec<Recipient<TcpEvent>>,
    options: TcpOptions,
    addr: SocketAddr,
    tasks: Tasks,
}

/// A started server: its process and the address it listens on.
#[derive(Clone, Debug)]
pub struct TcpListening {
    /// The server process (stop it, monitor it).
    pub server: ActorRef<TcpServer>,
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
}

impl TcpServer {
    /// Listens on `addr`; the server dies with `owner`, and each accepted connection
    /// goes to the next of `workers` (round robin), or to `owner` when `workers` is
    /// empty.
    pub async fn listen(
        node: &Node,
        addr: impl ToSocketAddrs,
        owner: impl Into<Recipient<TcpEvent>>,
        workers: Vec<Recipient<TcpEvent>>,
        options: TcpOptions,
    ) -> Result<TcpListening, MetaError> {
        options.framing.check(options.max_len)?;
        let owner = owner.into();
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let workers = if workers.is_empty() {
            vec![owner.clone()]
        } else {
            workers
        };
        let server = TcpServer {
            listener: Some(listener),
            owner: owner.pid(),
            workers,
            options,
            addr,
            tasks: Tasks::default(),
        };
        let server = node.spawn_with(server, (), SpawnOptions::default()).await?;
        Ok(TcpListening { server, addr })
    }
}

impl Actor for TcpServer {
    type Message = ();
    type Call = ();
    type Reply = SocketAddr;
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        watch(ctx, &[self.owner])?;
        let listener = self.listener.take().ok_or(Reason::error("no listener"))?;
        let node = ctx.node().clone();
        let me = ctx.pid();
        let workers = self.workers.clone();
        let options = self.options.clone();
        self.tasks.spawn(async move {
            let mut next = 0usize;
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of descriptors and the like: wait, do not spin.
                        node.log_limiter().log(
                            "tcp: accept failed",
                            || tracing::warn!(error = %e, "tcp accept failed"),
                        );
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let worker = workers[next % workers.len()].clone();
                next = next.wrapping_add(1);
                let (node, options) = (node.clone(), options.clone());
                let is_tls = options.tls.is_some();
                let start = async move {
                    let tls = match &options.tls {
                        Some(config) => Tls::Accept(config.clone()),
                        None => Tls::Plain,
                    };
                    let spawned =
                        TcpConnection::spawn(&node, stream, tls, worker, options, Some(me)).await;
                    if let Err(e) = spawned {
                        node.log_limiter().log(
                            "tcp: connection did not start",
                            || tracing::debug!(error = %e, "a tcp connection could not start"),
                        );
                    }
                };
                if is_tls {
                    // A TLS handshake must not hold up the accept loop (it is bounded
                    // by its own timeout).
                    tokio::spawn(start);
                } else {
                    start.await;
                }
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
        Some(format!(
            "TcpServer {{ addr: {}, workers: {} }}",
            self.addr,
            self.workers.len()
        ))
    }

    fn handle_down(&mut self, _: &mut Context<Self>, _: Down) -> Step<Self> {
        Step::Stop(Reason::Normal)
    }
}
