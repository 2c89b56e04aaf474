//! How a node reaches processes on other nodes: the [`Transport`]s registered on it
//! (see [`crate::dist`]), asked for every pid or name of another node.

use std::sync::Arc;

use crate::actor::Actor;
use crate::actor_ref::ActorRef;
use crate::dist::{NetError, Reach, RemoteError, Transport};
use crate::pid::Atom;

use super::Node;

impl Node {
    /// The transport reaching `node`, if any: the one that knows it best
    /// ([`Reach::Known`] before [`Reach::CanTry`]); on a tie, a specific one (Erlang
    /// distribution) before a fallback (the native network), then the first added.
    pub(crate) fn transport_for(&self, node: Atom) -> Option<Arc<dyn Transport>> {
        if node == self.name() {
            return None;
        }
        let transports = self.inner().transports.read();
        // (how well, not a fallback) of the best so far, and its index.
        let mut best = None;
        for (i, t) in transports.iter().enumerate() {
            let rank = (t.reach(node), !t.is_fallback());
            if rank.0 != Reach::No && best.is_none_or(|(b, _)| rank > b) {
                best = Some((rank, i));
            }
        }
        best.map(|(_, i)| transports[i].clone())
    }

    /// A typed handle to the process registered as `name` on `node`. Asks that node,
    /// and checks the process runs actor `A` there.
    pub async fn lookup_remote<A: Actor>(
        &self,
        name: &str,
        node: &str,
    ) -> Result<ActorRef<A>, NetError> {
        let node_name = Atom::new(node);
        let expected = std::any::type_name::<A>();
        if node_name == self.name() {
            let pid = self
                .whereis(name)
                .ok_or(NetError::Remote(RemoteError::NoProcess))?;
            let process = self
                .process(pid)
                .ok_or(NetError::Remote(RemoteError::NoProcess))?;
            return ActorRef::from_process(process.clone()).ok_or_else(|| NetError::WrongType {
                expected,
                found: process.kind().to_owned(),
            });
        }
        let transport = self.transport_for(node_name).ok_or(NetError::NotStarted)?;
        let (pid, kind) = transport
            .lookup(Atom::new(name), node_name)
            .await?
            .ok_or(NetError::Remote(RemoteError::NoProcess))?;
        if kind != expected {
            return Err(NetError::WrongType {
                expected,
                found: kind,
            });
        }
        Ok(ActorRef::remote(self.clone(), pid, transport))
    }

    /// Each transport's figures: its registrar and, per peer, bytes and frames in and
    /// out and its connections ([`crate::dist::Transport::peer_stats`]).
    pub fn transport_stats(&self) -> Vec<crate::dist::TransportStats> {
        self.inner()
            .transports
            .read()
            .iter()
            .map(|t| {
                let mut peers = t.peer_stats();
                peers.sort_by_key(|p| p.node.as_str().to_string());
                crate::dist::TransportStats {
                    transport: t.name(),
                    registrar: t.registrar(),
                    peers,
                }
            })
            .collect()
    }

    /// Node names this node is connected to, over every transport.
    pub fn connected_nodes(&self) -> Vec<Atom> {
        let mut nodes: Vec<Atom> = self
            .inner()
            .transports
            .read()
            .iter()
            .flat_map(|t| t.connected_nodes())
            .collect();
        nodes.sort_by_key(|a| a.as_str().to_string());
        nodes.dedup();
        nodes
    }

    /// Drops the connections to `node` (as Erlang's `disconnect_node`): every link and
    /// monitor through them fires with `NoConnection`; the next send reconnects.
    pub fn disconnect(&self, node: &str) -> bool {
        let node = Atom::new(node);
        let transports: Vec<Arc<dyn Transport>> = self.inner().transports.read().clone();
        transports
            .iter()
            .fold(false, |any, t| t.disconnect(node) | any)
    }

    /// Closes every transport (the node is stopping).
    pub(crate) fn shutdown_transports(&self) {
        let transports: Vec<Arc<dyn Transport>> =
            std::mem::take(&mut *self.inner().transports.write());
        for t in transports {
            t.shutdown();
        }
    }
}
