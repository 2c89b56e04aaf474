//! An etcd registrar for ergo nodes (etcd v3 through the `etcd-client` crate).
//!
//! A node registers its address under a lease it keeps alive: if the node dies, the
//! lease expires and the node disappears from resolution (other nodes see
//! [`ClusterEvent::NodeLeft`]). Nodes resolve each other through it (it is an
//! [`ergo_net::Registrar`]: pass it to `NetOptions::external_registrar`), announce the
//! applications they run with a weight (resolved as [`ApplicationRoute`]s), read typed
//! configuration with precedence (node over application over cluster), and see what
//! happens in the cluster as [`ClusterEvent`]s, both on a channel and as the node
//! event [`CLUSTER_EVENT`].
//!
//! Keys, under `<prefix>/<cluster>/` (prefix `/ergo` by default):
//! - `nodes/<node>` → `ip:port` (under the node's lease);
//! - `routes/<application>/<node>` → weight (under the node's lease);
//! - `config/cluster/<item>`, `config/app/<application>/<item>`,
//!   `config/node/<node>/<item>` → JSON.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ergo_etcd::{EtcdOptions, EtcdRegistrar};
//! use ergo_net::{NetBuilderExt, NetOptions};
//!
//! let etcd = EtcdRegistrar::connect(EtcdOptions::new(["127.0.0.1:2379"], "prod")).await?;
//! let node = ergo_runtime::Node::builder("api@10.0.0.5")
//!     .cookie("secret")
//!     .network(NetOptions::new().registrar(None).external_registrar(etcd.clone()))
//!     .start()
//!     .await?;
//! etcd.register_application("billing", 10).await?;
//! let routes = etcd.resolve_application("billing").await?;
//! let pool: Option<u32> = etcd.config("db_pool", Some("billing")).await?;
//! # let _ = (node, routes, pool); Ok(()) }
//! ```

mod events;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ergo_otp::{ApplicationChange, ApplicationExt};
use ergo_runtime::Node;
use etcd_client::{Client, GetOptions, PutOptions};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::broadcast;

pub use events::{ClusterEvent, ConfigScope, CLUSTER_EVENT};

/// What can go wrong talking to etcd.
#[derive(Error, Debug)]
pub enum EtcdError {
    /// etcd could not be reached or refused the request.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// A configuration value is not valid JSON of the asked type.
    #[error("configuration {key}: {error}")]
    Config {
        /// The key.
        key: String,
        /// Why it does not decode.
        error: String,
    },
    /// The operation needs the node registered first.
    #[error("the node is not registered yet")]
    NotRegistered,
    /// The node event could not be registered.
    #[error("cluster event: {0}")]
    Event(String),
}

/// How to reach etcd and which cluster to join.
#[derive(Clone, Debug)]
pub struct EtcdOptions {
    /// etcd client endpoints (`host:port` or URLs).
    pub endpoints: Vec<String>,
    /// The cluster's name: nodes of other clusters are invisible.
    pub cluster: String,
    /// The key prefix (default `/ergo`).
    pub prefix: String,
    /// The lease's time to live (default 10 s): a node that stops keeping it alive
    /// disappears this long after.
    pub lease_ttl: Duration,
    /// How long a request may take (default 5 s).
    pub timeout: Duration,
}

impl EtcdOptions {
    /// etcd at `endpoints`, cluster `cluster`, the defaults otherwise.
    pub fn new<E: AsRef<str>>(endpoints: impl IntoIterator<Item = E>, cluster: &str) -> Self {
        EtcdOptions {
            endpoints: endpoints
                .into_iter()
                .map(|e| e.as_ref().to_owned())
                .collect(),
            cluster: cluster.to_owned(),
            prefix: "/ergo".to_owned(),
            lease_ttl: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        }
    }

    /// The lease's time to live (at least 1 s; etcd counts in seconds).
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// The key prefix.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }
}

/// A node running an application, and its weight (for weighted choice).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApplicationRoute {
    /// The node.
    pub node: String,
    /// Its weight.
    pub weight: u32,
}

#[derive(Default)]
struct Registration {
    node: Option<String>,
    addr: Option<SocketAddr>,
    lease: i64,
    applications: BTreeMap<String, u32>,
}

/// A registrar backed by etcd (see the crate documentation).
pub struct EtcdRegistrar {
    client: Client,
    options: EtcdOptions,
    /// `<prefix>/<cluster>/`
    root: String,
    me: Mutex<Registration>,
    events: broadcast::Sender<ClusterEvent>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// Itself, for the task that keeps the lease alive.
    this: std::sync::Weak<EtcdRegistrar>,
    keeping: std::sync::atomic::AtomicBool,
}

impl Drop for EtcdRegistrar {
    fn drop(&mut self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
    }
}

impl EtcdRegistrar {
    /// Connects to etcd.
    pub async fn connect(options: EtcdOptions) -> Result<Arc<EtcdRegistrar>, EtcdError> {
        let connect = etcd_client::ConnectOptions::new()
            .with_connect_timeout(options.timeout)
            .with_timeout(options.timeout);
        let client = Client::connect(&options.endpoints, Some(connect)).await?;
        let root = format!("{}/{}/", options.prefix, options.cluster);
        let (events, _) = broadcast::channel(1024);
        Ok(Arc::new_cyclic(|this| EtcdRegistrar {
            client,
            options,
            root,
            me: Mutex::default(),
            events,
            tasks: Mutex::default(),
            this: this.clone(),
            keeping: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    fn client(&self) -> Client {
        self.client.clone()
    }

    fn node_key(&self, node: &str) -> String {
        format!("{}nodes/{node}", self.root)
    }

    fn route_key(&self, app: &str, node: &str) -> String {
        format!("{}routes/{app}/{node}", self.root)
    }

    fn config_key(&self, scope: &ConfigScope, item: &str) -> String {
        match scope {
            ConfigScope::Cluster => format!("{}config/cluster/{item}", self.root),
            ConfigScope::Application(app) => format!("{}config/app/{app}/{item}", self.root),
            ConfigScope::Node(node) => format!("{}config/node/{node}/{item}", self.root),
        }
    }

    /// Registers `node` at `addr` under a new lease, kept alive from now on (and
    /// renewed, with everything registered under it, if it is ever lost).
    pub async fn register_node(&self, node: &str, addr: SocketAddr) -> Result<(), EtcdError> {
        {
            let mut me = self.me.lock();
            me.node = Some(node.to_owned());
            me.addr = Some(addr);
        }
        // Kept alive (and renewed, while etcd is away) from now on, whatever this
        // first attempt gives.
        let renewed = self.renew().await;
        if !self.keeping.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let task = tokio::spawn(keep_alive(self.this.clone()));
            self.tasks.lock().push(task.abort_handle());
        }
        renewed
    }

    /// Grants a lease and puts this node's keys under it.
    async fn renew(&self) -> Result<(), EtcdError> {
        let ttl = self.options.lease_ttl.as_secs().max(1) as i64;
        let mut client = self.client();
        let lease = client.lease_grant(ttl, None).await?.id();
        let (node, addr, apps) = {
            let mut me = self.me.lock();
            me.lease = lease;
            (me.node.clone(), me.addr, me.applications.clone())
        };
        let (Some(node), Some(addr)) = (node, addr) else {
            return Err(EtcdError::NotRegistered);
        };
        let under = || Some(PutOptions::new().with_lease(lease));
        client
            .put(self.node_key(&node), addr.to_string(), under())
            .await?;
        for (app, weight) in apps {
            client
                .put(self.route_key(&app, &node), weight.to_string(), under())
                .await?;
        }
        Ok(())
    }

    /// Leaves the cluster now (revokes the lease: the node and its routes disappear at
    /// once instead of when the lease would expire).
    pub async fn deregister(&self) -> Result<(), EtcdError> {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        let lease = std::mem::take(&mut self.me.lock().lease);
        if lease != 0 {
            self.client().lease_revoke(lease).await?;
        }
        Ok(())
    }

    /// Where `node` accepts connections, if it is registered (and its lease alive).
    pub async fn resolve_node(&self, node: &str) -> Result<Option<SocketAddr>, EtcdError> {
        let found = self.client().get(self.node_key(node), None).await?;
        Ok(found
            .kvs()
            .first()
            .and_then(|kv| kv.value_str().ok())
            .and_then(|v| v.parse().ok()))
    }

    /// Seconds left on the lease `node` is registered under (`None` if it is not).
    pub async fn lease_left(&self, node: &str) -> Result<Option<i64>, EtcdError> {
        let mut client = self.client();
        let found = client.get(self.node_key(node), None).await?;
        let Some(lease) = found.kvs().first().map(|kv| kv.lease()) else {
            return Ok(None);
        };
        let ttl = client.lease_time_to_live(lease, None).await?.ttl();
        Ok((ttl >= 0).then_some(ttl))
    }

    /// The registered nodes and their addresses.
    pub async fn nodes(&self) -> Result<BTreeMap<String, SocketAddr>, EtcdError> {
        let prefix = format!("{}nodes/", self.root);
        let found = self
            .client()
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await?;
        Ok(found
            .kvs()
            .iter()
            .filter_map(|kv| {
                let node = kv.key_str().ok()?.strip_prefix(&prefix)?.to_owned();
                Some((node, kv.value_str().ok()?.parse().ok()?))
            })
            .collect())
    }

    /// Announces that this node runs `app`, with `weight` (under the node's lease).
    pub async fn register_application(&self, app: &str, weight: u32) -> Result<(), EtcdError> {
        let (node, lease) = {
            let mut me = self.me.lock();
            me.applications.insert(app.to_owned(), weight);
            (me.node.clone(), me.lease)
        };
        let node = node.ok_or(EtcdError::NotRegistered)?;
        if lease == 0 {
            // Registration is under way: its first lease carries the route.
            return Err(EtcdError::NotRegistered);
        }
        self.client()
            .put(
                self.route_key(app, &node),
                weight.to_string(),
                Some(PutOptions::new().with_lease(lease)),
            )
            .await?;
        Ok(())
    }

    /// Keeps this node's application routes in step with the applications it runs
    /// (`node` must be this registrar's node): each running or starting application is
    /// registered with its spec's weight ([`ApplicationSpec::weight`]), each one that
    /// ends is unregistered, in the order they happen. Call it from within the node's
    /// runtime.
    ///
    /// [`ApplicationSpec::weight`]: ergo_otp::ApplicationSpec::weight
    pub fn announce_applications(self: &Arc<Self>, node: &Node) {
        let (changes, mut told) = tokio::sync::mpsc::unbounded_channel();
        node.watch_applications(move |change| {
            let _ = changes.send(change.clone());
        });
        let this = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            while let Some(change) = told.recv().await {
                let Some(registrar) = this.upgrade() else {
                    return;
                };
                let (app, result) = match change {
                    ApplicationChange::Started { app, weight } => (
                        app,
                        registrar.register_application(&app.as_str(), weight).await,
                    ),
                    ApplicationChange::Stopped { app } => {
                        (app, registrar.unregister_application(&app.as_str()).await)
                    }
                };
                match result {
                    // Kept: written with the node's first (or next) lease.
                    Ok(()) | Err(EtcdError::NotRegistered) => {}
                    Err(e) => {
                        tracing::warn!(%app, error = %e, "etcd: updating an application route failed")
                    }
                }
            }
        });
        self.tasks.lock().push(task.abort_handle());
    }

    /// Announces that this node no longer runs `app`.
    pub async fn unregister_application(&self, app: &str) -> Result<(), EtcdError> {
        let node = {
            let mut me = self.me.lock();
            me.applications.remove(app);
            me.node.clone()
        };
        let node = node.ok_or(EtcdError::NotRegistered)?;
        self.client()
            .delete(self.route_key(app, &node), None)
            .await?;
        Ok(())
    }

    /// The nodes running `app`, heaviest first (then by name).
    pub async fn resolve_application(&self, app: &str) -> Result<Vec<ApplicationRoute>, EtcdError> {
        let prefix = format!("{}routes/{app}/", self.root);
        let found = self
            .client()
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await?;
        let mut routes: Vec<ApplicationRoute> = found
            .kvs()
            .iter()
            .filter_map(|kv| {
                Some(ApplicationRoute {
                    node: kv.key_str().ok()?.strip_prefix(&prefix)?.to_owned(),
                    weight: kv.value_str().ok()?.parse().ok()?,
                })
            })
            .collect();
        routes.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.node.cmp(&b.node)));
        Ok(routes)
    }

    /// Picks a node running `app`, each with a chance proportional to its weight;
    /// `pick` is a number in `0..1` (a random one, or a hash for stickiness).
    pub async fn choose_application_node(
        &self,
        app: &str,
        pick: f64,
    ) -> Result<Option<String>, EtcdError> {
        let routes = self.resolve_application(app).await?;
        Ok(weighted(&routes, pick).map(str::to_owned))
    }

    /// Sets a configuration value (JSON) in `scope`.
    pub async fn set_config<T: Serialize>(
        &self,
        scope: ConfigScope,
        item: &str,
        value: &T,
    ) -> Result<(), EtcdError> {
        let key = self.config_key(&scope, item);
        let json = serde_json::to_string(value).map_err(|e| EtcdError::Config {
            key: key.clone(),
            error: e.to_string(),
        })?;
        self.client().put(key, json, None).await?;
        Ok(())
    }

    /// Removes a configuration value from `scope`.
    pub async fn remove_config(&self, scope: ConfigScope, item: &str) -> Result<(), EtcdError> {
        self.client()
            .delete(self.config_key(&scope, item), None)
            .await?;
        Ok(())
    }

    /// The configuration value `item` for this node, running `app` if given: the
    /// node's own value, else the application's, else the cluster's.
    pub async fn config<T: DeserializeOwned>(
        &self,
        item: &str,
        app: Option<&str>,
    ) -> Result<Option<T>, EtcdError> {
        let node = self.me.lock().node.clone();
        let node = node.ok_or(EtcdError::NotRegistered)?;
        self.config_of(&node, app, item).await
    }

    /// As [`EtcdRegistrar::config`], for any node.
    pub async fn config_of<T: DeserializeOwned>(
        &self,
        node: &str,
        app: Option<&str>,
        item: &str,
    ) -> Result<Option<T>, EtcdError> {
        let mut scopes = vec![ConfigScope::Node(node.to_owned())];
        scopes.extend(app.map(|a| ConfigScope::Application(a.to_owned())));
        scopes.push(ConfigScope::Cluster);
        for scope in scopes {
            let key = self.config_key(&scope, item);
            let found = self.client().get(key.clone(), None).await?;
            if let Some(kv) = found.kvs().first() {
                return serde_json::from_slice(kv.value()).map(Some).map_err(|e| {
                    EtcdError::Config {
                        key,
                        error: e.to_string(),
                    }
                });
            }
        }
        Ok(None)
    }

    /// Cluster events from now on (nodes joining and leaving, applications started
    /// and stopped, configuration changed), once [`EtcdRegistrar::watch`] runs.
    pub fn subscribe(&self) -> broadcast::Receiver<ClusterEvent> {
        self.events.subscribe()
    }

    /// Watches the cluster: its changes become [`ClusterEvent`]s on
    /// [`EtcdRegistrar::subscribe`] receivers and, if `node` is given, the node event
    /// [`CLUSTER_EVENT`] of that node (processes subscribe with `monitor_event`).
    /// Returns once the watch is in place.
    pub async fn watch(
        self: &Arc<Self>,
        node: Option<&ergo_runtime::Node>,
    ) -> Result<(), EtcdError> {
        let token = match node {
            Some(node) => Some(
                ergo_otp::events::register_node_event::<ClusterEvent>(
                    node,
                    CLUSTER_EVENT,
                    ergo_otp::events::EventOptions::new(),
                )
                .map_err(|e| EtcdError::Event(e.to_string()))?,
            ),
            None => None,
        };
        let stream = self
            .client()
            .watch(
                self.root.clone(),
                Some(
                    etcd_client::WatchOptions::new()
                        .with_prefix()
                        .with_prev_key(),
                ),
            )
            .await?;
        let task = tokio::spawn(events::run(
            stream,
            self.root.clone(),
            self.events.clone(),
            token,
        ));
        self.tasks.lock().push(task.abort_handle());
        Ok(())
    }
}

/// The node chosen by `pick` (in `0..1`) among `routes`, weighted.
pub fn weighted(routes: &[ApplicationRoute], pick: f64) -> Option<&str> {
    let total: u64 = routes.iter().map(|r| u64::from(r.weight)).sum();
    if total == 0 {
        return routes.first().map(|r| r.node.as_str());
    }
    let mut at = (pick.clamp(0.0, 1.0) * total as f64) as u64;
    for route in routes {
        let w = u64::from(route.weight);
        if at < w {
            return Some(&route.node);
        }
        at -= w;
    }
    routes.last().map(|r| r.node.as_str())
}

/// Keeps the lease alive; renews it (re-registering) if it is lost or etcd was away.
async fn keep_alive(registrar: std::sync::Weak<EtcdRegistrar>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(strong) = registrar.upgrade() else {
            return;
        };
        let lease = strong.me.lock().lease;
        let period = (strong.options.lease_ttl / 3).max(Duration::from_millis(300));
        let mut client = strong.client();
        drop(strong);
        if let Ok((mut keeper, mut stream)) = client.lease_keep_alive(lease).await {
            backoff = Duration::from_millis(100);
            loop {
                if keeper.keep_alive().await.is_err() {
                    break;
                }
                match stream.message().await {
                    Ok(Some(answer)) if answer.ttl() > 0 => {}
                    _ => break, // expired (ttl 0) or the stream ended
                }
                tokio::time::sleep(period).await;
                if registrar.strong_count() == 0 {
                    return;
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
        let Some(strong) = registrar.upgrade() else {
            return;
        };
        if let Err(e) = strong.renew().await {
            tracing::warn!(error = %e, "etcd: renewing the node's lease failed; retrying");
        } else {
            tracing::info!("etcd: the node's lease was renewed");
        }
    }
}

impl ergo_net::Registrar for EtcdRegistrar {
    fn register<'a>(
        &'a self,
        node: &'a str,
        addr: SocketAddr,
    ) -> ergo_net::RegistrarFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.register_node(node, addr).await {
                tracing::warn!(%node, error = %e, "etcd: registering the node failed");
            }
        })
    }

    fn resolve<'a>(&'a self, node: &'a str) -> ergo_net::RegistrarFuture<'a, Option<SocketAddr>> {
        Box::pin(async move {
            match self.resolve_node(node).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(%node, error = %e, "etcd: resolving failed");
                    None
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_choice_follows_the_weights() {
        let routes = vec![
            ApplicationRoute {
                node: "a".into(),
                weight: 3,
            },
            ApplicationRoute {
                node: "b".into(),
                weight: 1,
            },
        ];
        let picks: Vec<_> = (0..8)
            .map(|i| weighted(&routes, i as f64 / 8.0).unwrap())
            .collect();
        assert_eq!(picks, ["a", "a", "a", "a", "a", "a", "b", "b"]);
        assert_eq!(weighted(&[], 0.5), None);
    }
}
