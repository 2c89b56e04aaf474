//! UDP as a meta process: a bound socket whose datagrams go to its owner with the
//! sender's address, and that sends the datagrams it is given. It dies with its owner.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::{ToSocketAddrs, UdpSocket};

use ergo_runtime::{
    Actor, ActorRef, Context, Down, Node, Pid, Reason, ReplyTo, SendError, SpawnOptions, Step,
};

use crate::meta::{watch, MetaError, Tasks};
use crate::recipient::Recipient;

/// The largest datagram read (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;

/// A datagram that arrived (handle it with `#[handle_info(local)]`).
#[derive(Debug)]
pub struct UdpDatagram {
    /// The socket it arrived on (answer through it).
    pub socket: Udp,
    /// Who sent it.
    pub from: SocketAddr,
    /// Its bytes.
    pub data: Bytes,
}

/// A handle to a UDP meta process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udp {
    process: ActorRef<UdpMeta>,
    addr: SocketAddr,
}

impl Udp {
    /// Binds `addr`; datagrams go to `owner`, and the socket closes when `owner` dies.
    pub async fn bind(
        node: &Node,
        addr: impl ToSocketAddrs,
        owner: impl Into<Recipient<UdpDatagram>>,
    ) -> Result<Udp, MetaError> {
        let socket = UdpSocket::bind(addr).await?;
        let addr = socket.local_addr()?;
        let meta = UdpMeta {
            socket: Arc::new(socket),
            owner: owner.into(),
            addr,
            tasks: Tasks::default(),
        };
        let process = node.spawn_with(meta, (), SpawnOptions::default()).await?;
        Ok(Udp { process, addr })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The meta process's pid.
    pub fn pid(&self) -> Pid {
        self.process.pid()
    }

    /// Queues a datagram to `to`.
    pub fn send_to(&self, to: SocketAddr, data: impl Into<Bytes>) -> Result<(), MetaError> {
        self.process
            .send(UdpMsg::Send(to, data.into()))
            .map_err(|e| match e {
                SendError::MailboxFull(_) => MetaError::Busy,
                _ => MetaError::Closed,
            })
    }

    /// Closes the socket (ends the meta process).
    pub fn close(&self) {
        let _ = self.process.send(UdpMsg::Close);
    }
}

#[doc(hidden)]
pub enum UdpMsg {
    Send(SocketAddr, Bytes),
    Close,
}

/// The UDP meta process (see [`Udp`] for its handle).
pub struct UdpMeta {
    socket: Arc<UdpSocket>,
    owner: Recipient<UdpDatagram>,
    addr: SocketAddr,
    tasks: Tasks,
}

impl ergo_runtime::Handles<UdpMsg> for UdpMeta {
    fn into_message(msg: UdpMsg) -> UdpMsg {
        msg
    }
}

impl Actor for UdpMeta {
    type Message = UdpMsg;
    type Call = ();
    type Reply = SocketAddr;
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        watch(ctx, &[self.owner.pid()])?;
        let socket = self.socket.clone();
        let owner = self.owner.clone();
        let handle = Udp {
            process: ctx.myself(),
            addr: self.addr,
        };
        let node = ctx.node().clone();
        self.tasks.spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                match socket.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        let data = Bytes::copy_from_slice(&buf[..n]);
                        let socket = handle.clone();
                        if owner.send(UdpDatagram { socket, from, data }).is_err() {
                            node.log_limiter().log("udp: datagram dropped", || {
                                tracing::debug!(%from, "udp datagram dropped: the owner cannot take it")
                            });
                        }
                    }
                    // An ICMP error from an earlier send (a closed port): keep reading.
                    Err(e) => node.log_limiter().log("udp: receive error", || {
                        tracing::debug!(error = %e, "udp receive error")
                    }),
                }
            }
        });
        Ok(())
    }

    fn handle_message(&mut self, _: &mut Context<Self>, msg: UdpMsg) -> Step<Self> {
        match msg {
            UdpMsg::Send(to, data) => match self.socket.try_send_to(&data, to) {
                Ok(_) => Step::Continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    Step::run_async(move |this: Self, ctx| async move {
                        if let Err(e) = this.socket.send_to(&data, to).await {
                            tracing::debug!(%to, error = %e, "udp send failed");
                        }
                        (this, ctx)
                    })
                }
                Err(e) => {
                    tracing::debug!(%to, error = %e, "udp send failed");
                    Step::Continue
                }
            },
            UdpMsg::Close => Step::Stop(Reason::Normal),
        }
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
        Some(format!("Udp {{ addr: {} }}", self.addr))
    }

    fn handle_down(&mut self, _: &mut Context<Self>, _: Down) -> Step<Self> {
        Step::Stop(Reason::Normal)
    }
}
