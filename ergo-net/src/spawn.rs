//! Remote spawn: a node enables named factories (optionally only for listed nodes);
//! another node spawns from them and gets a typed `ActorRef`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use ergo_otp::ApplicationExt;
use ergo_runtime::dist::{NetError, RemoteError};
use ergo_runtime::{Actor, ActorRef, Atom, Node, Pid, SpawnOptions};

use crate::frame::{Header, WireName};
use crate::{await_answer, key_of, network_of, NetOptions, Network};

/// Which nodes may spawn from a factory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpawnPermission {
    /// Any connected node.
    Anyone,
    /// Only these nodes.
    Nodes(Vec<Atom>),
}

type Start = Arc<
    dyn Fn(
            Node,
            Vec<u8>,
            Option<Atom>,
        ) -> Pin<Box<dyn Future<Output = Result<u64, RemoteError>> + Send>>
        + Send
        + Sync,
>;

#[derive(Default)]
pub(crate) struct Factories(RwLock<FxHashMap<String, (SpawnPermission, Start, &'static str)>>);

/// Applications other nodes may start here.
#[derive(Default)]
pub(crate) struct RemoteStarts(RwLock<FxHashMap<Atom, SpawnPermission>>);

/// What the native network adds to a [`Node`]: starting it, its address, remote spawn
/// and remote application start.
pub trait NetworkExt {
    /// Starts the node's network (also done by `NodeBuilder::network`); returns the
    /// address it listens on.
    fn start_network(
        &self,
        options: NetOptions,
    ) -> impl Future<Output = Result<SocketAddr, NetError>> + Send;

    /// The address this node accepts connections on, once its network runs.
    fn listen_addr(&self) -> Option<SocketAddr>;

    /// Counters of the network (buffered bytes, refused messages and handshakes), once
    /// it runs.
    fn network_stats(&self) -> Option<crate::NetStats>;

    /// The address registrars and peers are told to dial (`NetOptions::advertise`, or
    /// the listening address).
    fn advertised_addr(&self) -> Option<SocketAddr>;

    /// The addresses of every acceptor, the main one first.
    fn acceptor_addrs(&self) -> Vec<SocketAddr>;

    /// Lets other nodes spawn processes from `factory` under `name`. The remote side
    /// sends the init arguments; the factory builds the actor.
    fn enable_spawn<A, F>(
        &self,
        name: &str,
        permission: SpawnPermission,
        factory: F,
    ) -> Result<(), NetError>
    where
        A: Actor,
        A::Args: DeserializeOwned,
        F: Fn() -> A + Send + Sync + 'static;

    /// Stops letting other nodes spawn from `name`.
    fn disable_spawn(&self, name: &str);

    /// Spawns a process on `node` from its factory `factory`, optionally registered as
    /// `name` there, and returns a typed handle to it.
    fn remote_spawn<A>(
        &self,
        node: &str,
        factory: &str,
        name: Option<&str>,
        args: A::Args,
    ) -> impl Future<Output = Result<ActorRef<A>, NetError>> + Send
    where
        A: Actor,
        A::Args: Serialize;

    /// Lets other nodes start the (loaded) application `app` on this node.
    fn enable_remote_start(&self, app: &str, permission: SpawnPermission) -> Result<(), NetError>;

    /// Starts the application `app` on `node`, where it must be loaded and allowed
    /// (`enable_remote_start`); returns the pid of its root supervisor.
    fn remote_start_application(
        &self,
        node: &str,
        app: &str,
    ) -> impl Future<Output = Result<Pid, NetError>> + Send;
}

impl NetworkExt for Node {
    fn start_network(
        &self,
        options: NetOptions,
    ) -> impl Future<Output = Result<SocketAddr, NetError>> + Send {
        crate::start(self, options)
    }

    fn listen_addr(&self) -> Option<SocketAddr> {
        network_of(self).map(|n| n.listen)
    }

    fn network_stats(&self) -> Option<crate::NetStats> {
        network_of(self).map(|n| n.stats())
    }

    fn advertised_addr(&self) -> Option<SocketAddr> {
        network_of(self).map(|n| n.advertised)
    }

    fn acceptor_addrs(&self) -> Vec<SocketAddr> {
        network_of(self).map_or_else(Vec::new, |n| n.acceptors.clone())
    }

    fn enable_spawn<A, F>(
        &self,
        name: &str,
        permission: SpawnPermission,
        factory: F,
    ) -> Result<(), NetError>
    where
        A: Actor,
        A::Args: DeserializeOwned,
        F: Fn() -> A + Send + Sync + 'static,
    {
        let net = net_or_err(self)?;
        let factory = Arc::new(factory);
        let start: Start = Arc::new(move |node: Node, args: Vec<u8>, name: Option<Atom>| {
            let factory = factory.clone();
            Box::pin(async move {
                let args: A::Args = postcard::from_bytes(&args)
                    .map_err(|e| RemoteError::Rejected(format!("bad init arguments: {e}")))?;
                let mut options = SpawnOptions::new();
                if let Some(name) = name {
                    options = options.name(name);
                }
                node.spawn_with(factory(), args, options)
                    .await
                    .map(|r| r.pid().id())
                    .map_err(|e| RemoteError::Rejected(e.to_string()))
            })
        });
        net.spawns.0.write().insert(
            name.to_owned(),
            (permission, start, std::any::type_name::<A>()),
        );
        Ok(())
    }

    fn disable_spawn(&self, name: &str) {
        if let Some(net) = network_of(self) {
            net.spawns.0.write().remove(name);
        }
    }

    fn remote_spawn<A>(
        &self,
        node: &str,
        factory: &str,
        name: Option<&str>,
        args: A::Args,
    ) -> impl Future<Output = Result<ActorRef<A>, NetError>> + Send
    where
        A: Actor,
        A::Args: Serialize,
    {
        let payload = postcard::to_allocvec(&args)
            .map_err(|e| NetError::Wire(ergo_runtime::wire::WireError::Encode(e.to_string())));
        let (this, node, factory) = (self.clone(), Atom::new(node), factory.to_owned());
        let name = name.map(Atom::new);
        async move {
            let id = spawn_on(&this, node, factory, name, payload?).await?;
            this.actor_ref::<A>(id).ok_or(NetError::NoConnection(node))
        }
    }

    fn enable_remote_start(&self, app: &str, permission: SpawnPermission) -> Result<(), NetError> {
        let net = net_or_err(self)?;
        net.starts.0.write().insert(Atom::new(app), permission);
        Ok(())
    }

    fn remote_start_application(
        &self,
        node: &str,
        app: &str,
    ) -> impl Future<Output = Result<Pid, NetError>> + Send {
        let (this, node, app) = (self.clone(), Atom::new(node), Atom::new(app));
        async move { start_on(&this, node, app).await }
    }
}

fn net_or_err(node: &Node) -> Result<Arc<Network>, NetError> {
    network_of(node).ok_or(NetError::NotStarted)
}

/// Asks `node` to spawn from `factory`; the new process's pid.
async fn spawn_on(
    this: &Node,
    node: Atom,
    factory: String,
    name: Option<Atom>,
    payload: Vec<u8>,
) -> Result<Pid, NetError> {
    let net = net_or_err(this)?;
    let peer = net.connected_peer(node)?;
    let tag = net.tag();
    let header = Header::Spawn {
        tag,
        factory,
        name: name.map(WireName::of),
    };
    let answer = await_answer(&peer, tag, std::time::Duration::from_secs(15), decode_id);
    net.write(&peer, key_of(None, tag), &header, |buf| {
        buf.extend_from_slice(&payload);
        Ok(())
    })?;
    let id = answer.await?;
    Ok(Pid::new(node, id, peer.creation()))
}

/// Asks `node` to start its application `app`; the pid of its root supervisor.
async fn start_on(this: &Node, node: Atom, app: Atom) -> Result<Pid, NetError> {
    let net = net_or_err(this)?;
    let peer = net.connected_peer(node)?;
    let tag = net.tag();
    let answer = await_answer(&peer, tag, std::time::Duration::from_secs(30), decode_id);
    let header = Header::StartApp {
        tag,
        name: WireName::of(app),
    };
    net.write(&peer, key_of(None, tag), &header, |_| Ok(()))?;
    let id = answer.await?;
    Ok(Pid::new(node, id, peer.creation()))
}

fn decode_id(bytes: &[u8]) -> Result<u64, NetError> {
    let id: [u8; 8] = bytes
        .try_into()
        .map_err(|_| NetError::Remote(RemoteError::Rejected("malformed answer".into())))?;
    Ok(u64::from_le_bytes(id))
}

/// Serves a spawn request from `from`.
pub(crate) fn serve(
    net: &Arc<Network>,
    from: Atom,
    tag: u64,
    factory: String,
    name: Option<WireName>,
    args: Vec<u8>,
) {
    let entry = net.spawns.0.read().get(&factory).cloned();
    let net = net.clone();
    net.runtime.clone().spawn(async move {
        let result = match entry {
            None => Err(RemoteError::NotAllowed(format!(
                "no factory '{factory}' is enabled for remote spawn"
            ))),
            Some((SpawnPermission::Nodes(allowed), ..)) if !allowed.contains(&from) => {
                Err(RemoteError::NotAllowed(format!(
                    "node {from} may not spawn '{factory}'"
                )))
            }
            // Allowed: only now is the name the new process registers under interned.
            Some((_, start, _)) => {
                let name = name.map(|n| Atom::new(&n.0));
                start(net.node.clone(), args, name).await
            }
        };
        if let Err(e) = &result {
            net.node.log_limiter().log("remote spawn refused", || {
                tracing::warn!(node = %net.node.name(), peer = %from, %factory, error = %e, "remote spawn refused");
            });
        }
        net.write_control(from, key_of(None, tag), Header::Spawned { tag, result });
    });
}

/// Serves a request from `from` to start the application `app`.
pub(crate) fn serve_start(net: &Arc<Network>, from: Atom, tag: u64, app: &WireName) {
    // An application this node never heard of has no atom, and gets none.
    let Some(app) = app.existing() else {
        let result = Err(RemoteError::NotAllowed(format!(
            "application '{}' may not be started remotely",
            app.0
        )));
        net.write_control(from, key_of(None, tag), Header::Spawned { tag, result });
        return;
    };
    let allowed = net.starts.0.read().get(&app).cloned();
    let net = net.clone();
    net.runtime.clone().spawn(async move {
        let result = match allowed {
            None => Err(RemoteError::NotAllowed(format!(
                "application '{app}' may not be started remotely"
            ))),
            Some(SpawnPermission::Nodes(nodes)) if !nodes.contains(&from) => Err(
                RemoteError::NotAllowed(format!("node {from} may not start '{app}'")),
            ),
            Some(_) => net
                .node
                .start_application(app)
                .await
                .map(|pid| pid.id())
                .map_err(|e| RemoteError::Rejected(e.to_string())),
        };
        if let Err(e) = &result {
            net.node.log_limiter().log("remote application start refused", || {
                tracing::warn!(node = %net.node.name(), peer = %from, %app, error = %e, "remote application start refused");
            });
        }
        net.write_control(from, key_of(None, tag), Header::Spawned { tag, result });
    });
}
