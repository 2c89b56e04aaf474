//! Remote spawn: a node enables named factories (optionally only for listed nodes);
//! another node spawns from them and gets a typed `ActorRef`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::actor::Actor;
use crate::actor_ref::ActorRef;
use crate::node::Node;
use crate::pid::{Atom, Pid};
use crate::spawn::SpawnOptions;

use super::frame::{Header, RemoteError};
use super::{await_answer, key_of, NetError, Network};

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

impl Node {
    /// Lets other nodes spawn processes from `factory` under `name`. The remote side
    /// sends the init arguments; the factory builds the actor.
    pub fn enable_spawn<A, F>(
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
        let net = self.net_or_err()?;
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

    /// Lets other nodes start the (loaded) application `app` on this node.
    pub fn enable_remote_start(
        &self,
        app: &str,
        permission: SpawnPermission,
    ) -> Result<(), NetError> {
        let net = self.net_or_err()?;
        net.starts.0.write().insert(Atom::new(app), permission);
        Ok(())
    }

    /// Starts the application `app` on `node`, where it must be loaded and allowed
    /// (`enable_remote_start`); returns the pid of its root supervisor.
    pub async fn remote_start_application(&self, node: &str, app: &str) -> Result<Pid, NetError> {
        let net = self.net_or_err()?;
        let node_name = Atom::new(node);
        let peer = net.connected_peer(node_name);
        let tag = net.tag();
        let answer = await_answer(&peer, tag, std::time::Duration::from_secs(30), |bytes| {
            let id: [u8; 8] = bytes.try_into().map_err(|_| {
                NetError::Remote(RemoteError::Rejected("malformed start answer".into()))
            })?;
            Ok(u64::from_le_bytes(id))
        });
        let header = Header::StartApp {
            tag,
            name: Atom::new(app),
        };
        net.write(&peer, key_of(None, tag), &header, |_| Ok(()))?;
        let id = answer.await?;
        Ok(Pid::new(node_name, id, peer.creation()))
    }

    /// Stops letting other nodes spawn from `name`.
    pub fn disable_spawn(&self, name: &str) {
        if let Some(net) = self.net() {
            net.spawns.0.write().remove(name);
        }
    }

    /// Spawns a process on `node` from its factory `factory`, optionally registered as
    /// `name` there, and returns a typed handle to it.
    pub async fn remote_spawn<A>(
        &self,
        node: &str,
        factory: &str,
        name: Option<&str>,
        args: A::Args,
    ) -> Result<ActorRef<A>, NetError>
    where
        A: Actor,
        A::Args: Serialize,
    {
        let net = self.net_or_err()?;
        let node_name = Atom::new(node);
        let payload = postcard::to_allocvec(&args)
            .map_err(|e| crate::wire::WireError::Encode(e.to_string()))?;
        let peer = net.connected_peer(node_name);
        let tag = net.tag();
        let header = Header::Spawn {
            tag,
            factory: factory.to_owned(),
            name: name.map(Atom::new),
        };
        let answer = await_answer(&peer, tag, std::time::Duration::from_secs(15), |bytes| {
            let id: [u8; 8] = bytes.try_into().map_err(|_| {
                NetError::Remote(RemoteError::Rejected("malformed spawn answer".into()))
            })?;
            Ok(u64::from_le_bytes(id))
        });
        net.write(&peer, key_of(None, tag), &header, |buf| {
            buf.extend_from_slice(&payload);
            Ok(())
        })?;
        let id = answer.await?;
        let pid = Pid::new(node_name, id, peer.creation());
        Ok(ActorRef::remote(self.clone(), pid))
    }
}

/// Serves a spawn request from `from`.
pub(crate) fn serve(
    net: &Arc<Network>,
    from: Atom,
    tag: u64,
    factory: String,
    name: Option<Atom>,
    args: Vec<u8>,
) {
    let entry = net.spawns.0.read().get(&factory).cloned();
    let net = net.clone();
    net.node.inner().runtime.clone().spawn(async move {
        let result = match entry {
            None => Err(RemoteError::NotAllowed(format!(
                "no factory '{factory}' is enabled for remote spawn"
            ))),
            Some((SpawnPermission::Nodes(allowed), ..)) if !allowed.contains(&from) => {
                Err(RemoteError::NotAllowed(format!(
                    "node {from} may not spawn '{factory}'"
                )))
            }
            Some((_, start, _)) => start(net.node.clone(), args, name).await,
        };
        if let Err(e) = &result {
            tracing::warn!(node = %net.node.name(), peer = %from, %factory, error = %e, "remote spawn refused");
        }
        net.write_control(from, key_of(None, tag), Header::Spawned { tag, result });
    });
}

/// Serves a request from `from` to start the application `app`.
pub(crate) fn serve_start(net: &Arc<Network>, from: Atom, tag: u64, app: Atom) {
    let allowed = net.starts.0.read().get(&app).cloned();
    let net = net.clone();
    net.node.inner().runtime.clone().spawn(async move {
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
            tracing::warn!(node = %net.node.name(), peer = %from, %app, error = %e, "remote application start refused");
        }
        net.write_control(from, key_of(None, tag), Header::Spawned { tag, result });
    });
}
