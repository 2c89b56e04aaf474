//! Cluster events: the node-level event [`CLUSTER_EVENT`], produced by the node itself,
//! carrying [`ClusterEvent`]s — a node joined or left the cluster, as the registrar saw
//! it. Processes subscribe with the same calls as to any event
//! (`ctx.monitor_event::<ClusterEvent>(CLUSTER_EVENT)`, or `monitor_remote_event` for
//! another node's); the network raises them with [`raise_cluster_event`].

use ergo_runtime::dist::Dist;
use ergo_runtime::{Atom, Node};
use serde::{Deserialize, Serialize};

use super::{registry, EventOptions};

/// The name of every node's cluster event.
pub const CLUSTER_EVENT: &str = "ergo_cluster";

/// A change in the cluster, as the registrar saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ClusterEvent {
    /// The node registered with the registrar: it is part of the cluster now.
    NodeJoined(Atom),
    /// The node's registration ended (it stopped, or lost its registrar).
    NodeLeft(Atom),
}

/// The cluster event's registration (its generation), once made.
#[derive(Default)]
struct Registered(parking_lot::Mutex<Option<u64>>);

/// Registers this node's cluster event if it is not yet (on first subscription or
/// first change); its generation.
pub(super) fn ensure(node: &Node) -> u64 {
    let registered = node.extension_or_insert(Registered::default);
    let mut generation = registered.0.lock();
    *generation.get_or_insert_with(|| {
        // Subscribers on other nodes decode it by its registered type name.
        ergo_runtime::wire::register_message::<ClusterEvent>();
        let owner = Dist::new(node).pid(0);
        registry::register::<ClusterEvent>(
            node,
            Atom::new(CLUSTER_EVENT),
            owner,
            EventOptions::new(),
            false,
        )
        .map(|token| token.generation())
        // Taken by the application: it is theirs, and this node raises nothing.
        .unwrap_or(u64::MAX)
    })
}

/// Publishes a cluster change to the subscribers of this node's [`CLUSTER_EVENT`]
/// (called by the network when its registrar sees a node join or leave).
pub fn raise_cluster_event(node: &Node, event: ClusterEvent) {
    let generation = ensure(node);
    if let Err(e) = registry::publish_generation(node, Atom::new(CLUSTER_EVENT), generation, event)
    {
        tracing::debug!(node = %node.name(), error = %e, "cluster event not published");
    }
}
