//! The remote half of `ActorRef<A>`: sends, calls and important sends to a process on
//! another node, encoded with the actor's wire table; and typed lookups by name.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::actor::Actor;
use crate::actor_ref::ActorRef;
use crate::error::CallError;
use crate::mailbox::Priority;
use crate::node::Node;
use crate::pid::{Atom, Pid};
use crate::process::current;

use super::dispatch::priority_byte;
use super::frame::{Header, RemoteError};
use super::peer::PendingError;
use super::{await_answer, key_of, NetError, Network};

/// Where a remote `ActorRef` points.
pub(crate) struct RemoteRef {
    pub(crate) node: Node,
    pub(crate) pid: Pid,
}

pub(crate) fn call_error(e: &PendingError) -> CallError {
    match e {
        PendingError::NoConnection => CallError::NoConnection,
        PendingError::Remote(RemoteError::NoProcess) => CallError::NoProcess,
        PendingError::Remote(RemoteError::MailboxFull) => CallError::MailboxFull,
        PendingError::Remote(RemoteError::NoReply) => CallError::NoReply,
        PendingError::Remote(e) => CallError::BadRequest(e.to_string()),
    }
}

impl RemoteRef {
    fn net(&self) -> Result<&Arc<Network>, NetError> {
        self.node.net_or_err()
    }

    /// Sends a message; `ack` ≠ 0 asks the remote node to confirm delivery.
    pub(crate) fn send<A: Actor>(
        &self,
        msg: &A::Message,
        priority: Priority,
        ack: u64,
    ) -> Result<(), NetError> {
        let net = self.net()?;
        let wire = crate::wire::of::<A>()?;
        let from = current::pid();
        let peer = net.connected_peer(self.pid.node());
        let header = Header::Send {
            from: from.map_or(0, |p| p.id()),
            to: Network::target_of(self.pid),
            priority: priority_byte(priority),
            ack,
        };
        net.write(&peer, key_of(from, self.pid.id()), &header, |buf| {
            (wire.encode_message)(msg, buf)
        })?;
        Ok(())
    }

    /// Sends a request; the decoded reply (or error) goes to `reply`.
    pub(crate) fn call<A: Actor>(
        &self,
        req: &A::Call,
        priority: Priority,
        reply: oneshot::Sender<Result<A::Reply, CallError>>,
    ) -> Result<(), CallError> {
        let net = self.net().map_err(|_| CallError::NoConnection)?;
        let wire = crate::wire::of::<A>().map_err(|e| CallError::BadRequest(e.to_string()))?;
        let from = current::pid();
        let peer = net.connected_peer(self.pid.node());
        let tag = net.tag();
        let decode = wire.decode_reply;
        peer.add_pending(
            tag,
            Box::new(move |answer| {
                let result = match answer {
                    Ok(bytes) => decode(bytes).map_err(|e| CallError::BadRequest(e.to_string())),
                    Err(e) => Err(call_error(&e)),
                };
                let _ = reply.send(result);
            }),
        );
        let header = Header::Call {
            from: from.map_or(0, |p| p.id()),
            to: Network::target_of(self.pid),
            priority: priority_byte(priority),
            tag,
        };
        if let Err(e) = net.write(&peer, key_of(from, self.pid.id()), &header, |buf| {
            (wire.encode_call)(req, buf)
        }) {
            peer.take_pending(tag);
            return Err(CallError::BadRequest(e.to_string()));
        }
        Ok(())
    }

    /// Sends and waits until the remote node says the message is in the mailbox.
    pub(crate) async fn send_important<A: Actor>(
        &self,
        msg: &A::Message,
        priority: Priority,
        timeout: Duration,
    ) -> Result<(), NetError> {
        let net = self.net()?;
        let peer = net.connected_peer(self.pid.node());
        let tag = net.tag();
        let answer = await_answer(&peer, tag, timeout, |_| Ok(()));
        self.send::<A>(msg, priority, tag)?;
        answer.await
    }
}

impl Node {
    /// A typed handle to the process registered as `name` on `node`. Asks that node,
    /// and checks the process runs actor `A` there.
    pub async fn lookup_remote<A: Actor>(
        &self,
        name: &str,
        node: &str,
    ) -> Result<ActorRef<A>, NetError> {
        let node_name = Atom::new(node);
        if node_name == self.name() {
            return self.lookup::<A>(name).map_err(|e| match e {
                crate::error::LookupError::NotFound => NetError::Remote(RemoteError::NoProcess),
                crate::error::LookupError::WrongType { expected, found } => NetError::WrongType {
                    expected,
                    found: found.to_owned(),
                },
            });
        }
        let net = self.net_or_err()?;
        let peer = net.connected_peer(node_name);
        let tag = net.tag();
        let answer = await_answer(&peer, tag, Duration::from_secs(5), |bytes| {
            postcard::from_bytes::<Option<(u64, String)>>(bytes)
                .map_err(|e| NetError::Remote(RemoteError::Rejected(e.to_string())))
        });
        net.write_control(
            node_name,
            key_of(None, tag),
            Header::Lookup {
                tag,
                name: Atom::new(name),
            },
        );
        let (id, kind) = answer
            .await?
            .ok_or(NetError::Remote(RemoteError::NoProcess))?;
        let expected = std::any::type_name::<A>();
        if kind != expected {
            return Err(NetError::WrongType {
                expected,
                found: kind,
            });
        }
        Ok(ActorRef::remote(
            self.clone(),
            Pid::new(node_name, id, peer.creation()),
        ))
    }
}
