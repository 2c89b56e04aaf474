//! [`Cluster`]: several nodes on 127.0.0.1, networked, started in one call. They find
//! each other through a registrar kept in memory and shared by the cluster only, so
//! clusters of parallel tests never meet.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ergo_net::{NetBuilderExt, NetOptions, Registrar, RegistrarFuture};
use ergo_runtime::{Node, NodeBuilder, NodeError};

/// Nodes `prefix0@127.0.0.1`, `prefix1@127.0.0.1`, ... sharing a cookie, each listening
/// on an ephemeral port of 127.0.0.1 and able to reach every other. Use it on a running
/// clock: a paused one would jump ahead while frames are in flight between nodes.
///
/// ```
/// use ergo_testing::Cluster;
///
/// # #[tokio::main] async fn main() {
/// let cluster = Cluster::start("doc", 3).await.unwrap();
/// assert_eq!(cluster.len(), 3);
/// assert_eq!(&*cluster[1].name().as_str(), "doc1@127.0.0.1");
/// cluster.stop().await.unwrap();
/// # }
/// ```
pub struct Cluster {
    nodes: Vec<Node>,
}

/// A cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A node did not start (bad name, network error).
    #[error("node {name} did not start: {source}")]
    Node {
        /// The node's name.
        name: String,
        /// Why.
        source: NodeError,
    },
}

impl Cluster {
    /// Starts `n` nodes named after `prefix` with default options.
    pub async fn start(prefix: &str, n: usize) -> Result<Cluster, ClusterError> {
        Self::start_with(prefix, n, |_, builder, options| builder.network(options)).await
    }

    /// Starts `n` nodes; `configure(i, builder, options)` gets node `i`'s builder (name
    /// and cookie set) and its network options (listening on 127.0.0.1, the cluster's
    /// registrar) and returns the builder to start — it must add the network, usually
    /// with `builder.network(options)` after changing either.
    pub async fn start_with(
        prefix: &str,
        n: usize,
        mut configure: impl FnMut(usize, NodeBuilder, NetOptions) -> NodeBuilder,
    ) -> Result<Cluster, ClusterError> {
        let registrar = Arc::new(MemoryRegistrar::default());
        let cookie = format!("{prefix}-cluster-cookie");
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let name = format!("{prefix}{i}@127.0.0.1");
            let options = NetOptions::new()
                .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
                .registrar(None)
                .external_registrar(registrar.clone());
            let builder = configure(i, Node::builder(&name).cookie(cookie.clone()), options);
            match builder.start().await {
                Ok(node) => nodes.push(node),
                Err(source) => {
                    for node in &nodes {
                        let _ = node.stop().await;
                    }
                    return Err(ClusterError::Node { name, source });
                }
            }
        }
        Ok(Cluster { nodes })
    }

    /// The nodes, in the order started.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Stops every node, the last started first; the first error is returned after all
    /// were asked to stop.
    pub async fn stop(self) -> Result<(), NodeError> {
        let mut first = Ok(());
        for node in self.nodes.iter().rev() {
            if let Err(e) = node.stop().await {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }
}

impl std::ops::Deref for Cluster {
    type Target = [Node];

    fn deref(&self) -> &[Node] {
        &self.nodes
    }
}

/// Node name → listening address, for one cluster.
#[derive(Default)]
struct MemoryRegistrar(Mutex<Vec<(String, SocketAddr)>>);

impl Registrar for MemoryRegistrar {
    fn register<'a>(&'a self, node: &'a str, addr: SocketAddr) -> RegistrarFuture<'a, ()> {
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|(name, _)| name != node);
        table.push((node.to_owned(), addr));
        Box::pin(async {})
    }

    fn resolve<'a>(&'a self, node: &'a str) -> RegistrarFuture<'a, Option<SocketAddr>> {
        let table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let found = table.iter().find(|(name, _)| name == node).map(|(_, a)| *a);
        Box::pin(async move { found })
    }
}
