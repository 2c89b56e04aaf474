//! [`Transport`]: what the core asks of a network to other nodes.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use crate::error::SendError;
use crate::mailbox::Priority;
use crate::pid::{Atom, Pid, Ref};
use crate::reason::{Down, Reason};
use crate::wire::WireError;

use super::NetError;

/// Writes an encoded message, request or reply into the transport's buffer (so a send
/// is encoded once, straight into the outgoing frame).
pub type Payload<'a> = &'a mut dyn FnMut(&mut Vec<u8>) -> Result<(), WireError>;

/// Where a tagged answer goes (a call's encoded reply, an important send's
/// acknowledgement): called exactly once, with the payload or why there is none.
pub type Answer = Box<dyn FnOnce(Result<&[u8], NetError>) + Send>;

/// Where the encoded reply to a request from another node goes.
pub type WireReply = Box<dyn FnOnce(Result<Vec<u8>, super::RemoteError>) + Send>;

/// A boxed future, as transports return for lookups.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A process on another node: by pid or by registered name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RemoteTarget {
    /// A remote pid.
    Pid(Pid),
    /// A name registered on `node`.
    Name {
        /// The registered name.
        name: Atom,
        /// Its node.
        node: Atom,
    },
}

impl RemoteTarget {
    /// The node the target lives on.
    pub fn node(&self) -> Atom {
        match self {
            RemoteTarget::Pid(pid) => pid.node(),
            RemoteTarget::Name { node, .. } => *node,
        }
    }
}

/// How well a transport reaches a node: a node picks, for each peer, the transport
/// that knows it (a connection or an address for it), and only otherwise one that can
/// try (dial through a registrar, epmd).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reach {
    /// This transport cannot reach the node.
    No,
    /// This transport can try to reach the node (no connection or address known yet).
    CanTry,
    /// This transport knows the node: connected, or an address for it is known.
    Known,
}

/// A network to other nodes. The core keeps the local half of every link and monitor
/// and the per-peer bookkeeping; a transport carries the remote half and reports what
/// arrives through [`super::Dist`]. When a peer is lost it calls
/// [`super::Dist::connection_lost`] once, which fires every link and monitor through
/// that peer with `NoConnection`.
pub trait Transport: Send + Sync + 'static {
    /// A short name for logs (`"native"`, `"erlang"`).
    fn name(&self) -> &'static str;
    /// True if this transport handles the node called `node`.
    fn reaches(&self, node: Atom) -> bool;
    /// A fallback transport (the native network, which can try any node) is asked only
    /// when no other transport reaches the node as well.
    fn is_fallback(&self) -> bool {
        false
    }
    /// How well this transport reaches `node` (by default: [`Reach::Known`] for a
    /// transport that [reaches](Transport::reaches) it and is no fallback,
    /// [`Reach::CanTry`] for a fallback). Among the transports of a node, the best
    /// answer wins; on a tie, a transport that is no fallback, then the first added.
    fn reach(&self, node: Atom) -> Reach {
        match (self.reaches(node), self.is_fallback()) {
            (false, _) => Reach::No,
            (true, true) => Reach::CanTry,
            (true, false) => Reach::Known,
        }
    }
    /// Sends an encoded message. With `ack`, the remote node confirms that the target's
    /// mailbox accepted it (or says why not), exactly once.
    fn send(
        &self,
        from: Option<Pid>,
        to: RemoteTarget,
        priority: Priority,
        payload: Payload<'_>,
        ack: Option<Answer>,
    ) -> Result<(), NetError>;
    /// Sends an encoded request; the encoded reply (or why there is none) goes to
    /// `reply`, exactly once.
    fn call(
        &self,
        from: Option<Pid>,
        to: Pid,
        priority: Priority,
        payload: Payload<'_>,
        reply: Answer,
    ) -> Result<(), NetError>;
    /// Sends an untyped message (each transport decides what it can carry: Erlang
    /// distribution carries terms, the native network registered types); gives it
    /// back with the reason if it cannot.
    fn send_any(
        &self,
        from: Option<Pid>,
        to: RemoteTarget,
        priority: Priority,
        msg: Box<dyn Any + Send>,
    ) -> Result<(), SendError<Box<dyn Any + Send>>> {
        let _ = (from, to, priority);
        Err(SendError::NotRemote(msg))
    }
    /// True if the peers on this transport share links (as this crate does): the
    /// local processes linked to one remote process are linked through one link on the
    /// wire, held by the node (pid 0), so that process's end crosses the network once
    /// and fans out here; an exit from a local process linked to a remote one travels
    /// as a link exit, which the peer delivers as such. False (the default) for peers
    /// that keep a link per pair of processes (Erlang).
    fn shares_links(&self) -> bool {
        false
    }
    /// Carries an exit signal from a local process to a remote one; `link` says it is
    /// a link firing (the process `from` ended) rather than an explicit exit signal.
    fn exit(&self, from: Pid, to: Pid, reason: Reason, link: bool);
    /// Asks the remote node to add its half of a link between `local` and `remote`.
    fn link(&self, local: Pid, remote: Pid);
    /// Removes the remote half of a link.
    fn unlink(&self, local: Pid, remote: Pid);
    /// Starts a monitor by `watcher` (a local pid, or the node's pid 0 for a monitor
    /// held outside any process) of a remote target. The `Down` comes back through
    /// [`super::Dist::deliver_down`].
    fn monitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref);
    /// Stops a monitor.
    fn demonitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref);
    /// Carries a `Down` for a monitor a remote process holds on a local one.
    fn down(&self, watcher: Pid, down: Down);
    /// The process registered as `name` on `node`: its pid and actor type name.
    fn lookup(&self, name: Atom, node: Atom) -> BoxFuture<Result<Option<(Pid, String)>, NetError>>;
    /// The peers connected now.
    fn connected_nodes(&self) -> Vec<Atom>;
    /// What this transport carried to and from each peer (bytes and frames in and
    /// out, connections). A transport that keeps no figures reports none (the
    /// default).
    fn peer_stats(&self) -> Vec<super::PeerStats> {
        Vec::new()
    }
    /// How this transport finds nodes, for display (`"registrar 127.0.0.1:4499"`,
    /// `"epmd 127.0.0.1:4369"`); `None` (the default) if it says nothing.
    fn registrar(&self) -> Option<String> {
        None
    }
    /// Drops the connection to `node`; true if there was one.
    fn disconnect(&self, node: Atom) -> bool;
    /// Closes everything (the node is stopping).
    fn shutdown(&self);
}
