//! One TCP connection as a meta process: a task reads and frames the socket and hands
//! each frame to the connection's worker; the process itself writes what it is sent.
//! It dies with its worker (and its server), and its socket closes on every path.

use std::net::SocketAddr;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, ServerConfig};

use ergo_runtime::{
    Actor, ActorRef, Context, Down, Handles, Node, Pid, Reason, ReplyTo, SendError, SpawnOptions,
    Step,
};

use super::framing::{Decoder, Framing};
use super::tls::{self, Reader, Writer};
use super::TcpEvent;
use crate::meta::{watch, MetaError, Tasks};
use crate::recipient::Recipient;

/// The default maximum frame length (1 MiB).
pub const DEFAULT_MAX_LEN: usize = 1 << 20;

/// How a connection frames and buffers what it reads.
#[derive(Clone, Debug)]
pub struct TcpOptions {
    /// How the stream is cut into `Data` messages (default: raw chunks).
    pub framing: Framing,
    /// The longest frame accepted; a longer one closes the connection.
    pub max_len: usize,
    /// The read buffer's initial size (also the largest raw chunk).
    pub read_buffer: usize,
    /// A server's TLS (rustls): each accepted socket does the handshake first.
    pub tls: Option<Arc<ServerConfig>>,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            framing: Framing::Raw,
            max_len: DEFAULT_MAX_LEN,
            read_buffer: 8192,
            tls: None,
        }
    }
}

impl TcpOptions {
    /// These options with `framing`.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// A server speaking TLS with this rustls configuration (its certificate chain
    /// and key).
    pub fn tls(mut self, config: Arc<ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// These options with a maximum frame length of `max_len` bytes.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }
}

/// A handle to a connection meta process: write to it, close it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TcpConn(ActorRef<TcpConnection>);

impl TcpConn {
    /// The connection process's pid.
    pub fn pid(&self) -> Pid {
        self.0.pid()
    }

    /// Queues `data` to be written to the socket, in order with earlier writes.
    pub fn write(&self, data: impl Into<Bytes>) -> Result<(), MetaError> {
        send(&self.0, ConnMsg::Write(data.into()))
    }

    /// Closes the connection (the worker gets `Disconnect`).
    pub fn close(&self) -> Result<(), MetaError> {
        send(&self.0, ConnMsg::Close)
    }

    /// The connection's process (to monitor it, for instance).
    pub fn actor_ref(&self) -> &ActorRef<TcpConnection> {
        &self.0
    }
}

fn send<A: Handles<M>, M>(to: &ActorRef<A>, msg: M) -> Result<(), MetaError> {
    to.send(msg).map_err(|e| match e {
        SendError::MailboxFull(_) => MetaError::Busy,
        _ => MetaError::Closed,
    })
}

/// What a connection process handles.
#[doc(hidden)]
pub enum ConnMsg {
    Write(Bytes),
    Close,
    /// The reader ended: `None` at end of stream, else why.
    Ended(Option<String>),
}

/// The connection meta process (see [`TcpConn`] for its handle).
pub struct TcpConnection {
    reader: Option<Reader>,
    writer: Option<Writer>,
    worker: Recipient<TcpEvent>,
    watch: Vec<Pid>,
    options: TcpOptions,
    peer: SocketAddr,
    local: SocketAddr,
    told_disconnect: bool,
    tasks: Tasks,
}

impl TcpConnection {
    /// Spawns a connection process for an accepted or dialled socket (TLS done if
    /// any), delivering to `worker`; it also dies with `also_watch` (its server).
    pub(crate) async fn spawn(
        node: &Node,
        stream: TcpStream,
        tls: Tls,
        worker: Recipient<TcpEvent>,
        options: TcpOptions,
        also_watch: Option<Pid>,
    ) -> Result<TcpConn, MetaError> {
        let peer = stream.peer_addr()?;
        let local = stream.local_addr()?;
        let (reader, writer) = match tls {
            Tls::Plain => tls::plain(stream),
            Tls::Accept(config) => tls::accept(config, stream).await?,
            Tls::Connect(config, name) => tls::connect(config, name, stream).await?,
        };
        let mut watch = vec![worker.pid()];
        watch.extend(also_watch);
        let conn = TcpConnection {
            reader: Some(reader),
            writer: Some(writer),
            worker,
            watch,
            options,
            peer,
            local,
            told_disconnect: false,
            tasks: Tasks::default(),
        };
        let me = node.spawn_with(conn, (), SpawnOptions::default()).await?;
        Ok(TcpConn(me))
    }

    /// Connects to `addr` and spawns a connection process that delivers to `worker`
    /// (which gets `Connect` first) and dies with it.
    pub async fn connect(
        node: &Node,
        addr: impl ToSocketAddrs,
        worker: impl Into<Recipient<TcpEvent>>,
        options: TcpOptions,
    ) -> Result<TcpConn, MetaError> {
        options.framing.check(options.max_len)?;
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Self::spawn(node, stream, Tls::Plain, worker.into(), options, None).await
    }

    /// As [`TcpConnection::connect`], over TLS: the server must present a certificate
    /// for `server_name` that `config` trusts.
    pub async fn connect_tls(
        node: &Node,
        addr: impl ToSocketAddrs,
        server_name: &str,
        config: Arc<ClientConfig>,
        worker: impl Into<Recipient<TcpEvent>>,
        options: TcpOptions,
    ) -> Result<TcpConn, MetaError> {
        options.framing.check(options.max_len)?;
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|e| MetaError::BadOptions(format!("server name {server_name:?}: {e}")))?;
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let tls = Tls::Connect(config, name);
        Self::spawn(node, stream, tls, worker.into(), options, None).await
    }

    fn disconnect(&mut self, ctx: &Context<Self>, reason: Option<String>) {
        if !std::mem::replace(&mut self.told_disconnect, true) {
            let conn = TcpConn(ctx.myself());
            let _ = self.worker.send(TcpEvent::Disconnect { conn, reason });
        }
    }
}

/// What a socket needs before its connection process starts.
pub(crate) enum Tls {
    Plain,
    Accept(Arc<ServerConfig>),
    Connect(Arc<ClientConfig>, ServerName<'static>),
}

impl Handles<ConnMsg> for TcpConnection {
    fn into_message(msg: ConnMsg) -> ConnMsg {
        msg
    }
}

impl Actor for TcpConnection {
    type Message = ConnMsg;
    type Call = ();
    type Reply = SocketAddr;
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        watch(ctx, &self.watch)?;
        let mut reader = self.reader.take().ok_or(Reason::error("no socket"))?;
        let local = self.local;
        let conn = TcpConn(ctx.myself());
        let me = ctx.myself();
        let worker = self.worker.clone();
        let decoder = Decoder::new(self.options.framing, self.options.max_len);
        let chunk = self.options.read_buffer.max(64);
        let peer = self.peer;
        let node = ctx.node().clone();
        self.tasks.spawn(async move {
            let connect = TcpEvent::Connect {
                conn: conn.clone(),
                peer,
                local,
            };
            if worker.send(connect).is_err() {
                let _ = me.send(ConnMsg::Ended(Some("the worker is gone".into())));
                return;
            }
            let mut buf = BytesMut::with_capacity(chunk);
            let end = loop {
                if buf.capacity() - buf.len() < chunk / 2 {
                    buf.reserve(chunk);
                }
                match reader.read_buf(&mut buf).await {
                    Ok(0) => break None,
                    Ok(_) => {}
                    Err(e) => break Some(e.to_string()),
                }
                let mut failed = None;
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(data)) => {
                            let conn = conn.clone();
                            if worker.send(TcpEvent::Data { conn, data }).is_err() {
                                failed = Some("the worker cannot take the data".to_string());
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            node.log_limiter().log(
                                "tcp: bad frame",
                                || tracing::debug!(%peer, error = %e, "closing a tcp connection"),
                            );
                            failed = Some(e.to_string());
                            break;
                        }
                    }
                }
                if failed.is_some() {
                    break failed;
                }
            };
            let _ = me.send(ConnMsg::Ended(end));
        });
        Ok(())
    }

    fn handle_message(&mut self, ctx: &mut Context<Self>, msg: ConnMsg) -> Step<Self> {
        match msg {
            ConnMsg::Write(data) => Step::run_async(move |mut this: Self, mut ctx| async move {
                if let Some(writer) = this.writer.as_mut() {
                    let written = match writer.write_all(&data).await {
                        Ok(()) => writer.flush().await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = written {
                        this.disconnect(&ctx, Some(e.to_string()));
                        ctx.stop(Reason::Normal);
                    }
                }
                (this, ctx)
            }),
            ConnMsg::Close => {
                self.disconnect(ctx, None);
                Step::Stop(Reason::Normal)
            }
            ConnMsg::Ended(reason) => {
                self.disconnect(ctx, reason);
                Step::Stop(Reason::Normal)
            }
        }
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        _: (),
        reply: ReplyTo<SocketAddr>,
    ) -> Step<Self> {
        reply.send(self.peer);
        Step::Continue
    }

    fn debug_state(&self) -> Option<String> {
        Some(format!(
            "TcpConnection {{ peer: {}, local: {}, framing: {:?} }}",
            self.peer, self.local, self.options.framing
        ))
    }

    fn handle_down(&mut self, _: &mut Context<Self>, _: Down) -> Step<Self> {
        // The worker (or the server) is gone: so is the connection.
        Step::Stop(Reason::Normal)
    }

    fn terminate(&mut self, ctx: &mut Context<Self>, reason: &Reason) {
        self.disconnect(
            ctx,
            Some(reason.to_string()).filter(|_| reason.is_failure()),
        );
        self.writer = None;
    }
}
