//! [`NodeBuilder`]: a node's name and options, with documented defaults.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use tokio::sync::watch;

use crate::error::NodeError;
use crate::pid::Atom;

use super::{Node, NodeInner, ProcessTable, Registry};

/// Default graceful-shutdown timeout: 3 minutes.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(180);

/// Options of a node about to start.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    name: String,
    cookie: Option<String>,
    env: Vec<(String, String)>,
    log_level: Option<tracing::Level>,
    shutdown_timeout: Duration,
    plugins: Plugins,
}

impl NodeBuilder {
    pub(crate) fn new(name: &str) -> Self {
        NodeBuilder {
            name: name.to_owned(),
            cookie: None,
            env: Vec::new(),
            log_level: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            plugins: Plugins::default(),
        }
    }

    /// The cookie peers must know (default: a random one).
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookie = Some(cookie.into());
        self
    }

    /// A node environment variable (the lowest-precedence env level).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_uppercase(), value.into()));
        self
    }

    /// Installs a `tracing` subscriber printing to stderr at `level`, unless the program already
    /// installed one (default: log nothing of our own; `tracing` events still reach a
    /// subscriber the program sets up).
    pub fn log_level(mut self, level: tracing::Level) -> Self {
        self.log_level = Some(level);
        self
    }

    /// How long `stop` waits for processes to finish (default 3 minutes).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Adds a plug-in started with the node, in the order added (a transport such as
    /// the native network or Erlang distribution, an application controller...).
    pub fn plugin(mut self, plugin: impl Plugin) -> Self {
        self.plugins.0.push(Arc::new(plugin));
        self
    }

    /// Starts the node. Must run inside a tokio runtime (timers and I/O of processes
    /// use it; processes themselves run on ergo's scheduler threads).
    pub async fn start(self) -> Result<Node, NodeError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NodeError::NoRuntime)?;
        let plugins = self.plugins.clone();
        let node = self.build(runtime, false)?;
        tracing::info!(node = %node.name(), "node started");
        for plugin in &plugins.0 {
            plugin.start(&node).await?;
        }
        Ok(node)
    }

    /// A node that runs no process of its own and starts no plug-in: the identity,
    /// names, env and events of a unit-test harness (see [`crate::effects`]).
    /// `runtime` backs what the node's code spawns on tokio.
    pub fn detached(self, runtime: tokio::runtime::Handle) -> Result<Node, NodeError> {
        self.build(runtime, true)
    }

    fn build(self, runtime: tokio::runtime::Handle, detached: bool) -> Result<Node, NodeError> {
        validate_name(&self.name)?;
        if let Some(level) = self.log_level {
            use std::io::IsTerminal;
            let _ = tracing_subscriber::fmt()
                .with_max_level(level)
                .with_target(false)
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .try_init();
        }
        // Panics in handlers are logged once, through `tracing`, where they are caught.
        crate::process::guard::install_hook();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let cookie = self.cookie.unwrap_or_else(|| random_cookie(now));
        let (stopped, _) = watch::channel(false);
        Ok(Node(Arc::new(NodeInner {
            name: Atom::new(&self.name),
            creation: random_creation(now),
            cookie,
            started: Instant::now(),
            shutdown_timeout: self.shutdown_timeout,
            table: ProcessTable::new(),
            registry: Registry::default(),
            env: RwLock::new(self.env.into_iter().collect::<FxHashMap<_, _>>()),
            // id 0 is the node itself (the sender of node-level signals)
            next_id: AtomicU64::new(1),
            next_ref: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
            run_time_accounting: AtomicBool::new(false),
            latency_tracking: AtomicBool::new(false),
            logs: crate::logs::LogLimiter::node_default(&self.name),
            stopped,
            transports: RwLock::new(Vec::new()),
            books: Default::default(),
            extensions: RwLock::new(FxHashMap::default()),
            exit_hooks: RwLock::new(Vec::new()),
            clock: if detached {
                None
            } else {
                crate::clock::ClockGate::detect(&runtime)
            },
            detached,
            call_timers: crate::call::CallTimers::new(runtime.clone()),
            runtime,
        })))
    }
}

fn validate_name(name: &str) -> Result<(), NodeError> {
    match name.split_once('@') {
        Some((n, h)) if !n.is_empty() && !h.is_empty() && !h.contains('@') && name.len() <= 255 => {
            Ok(())
        }
        _ => Err(NodeError::BadName(name.to_owned())),
    }
}

/// A node's creation: a random nonzero 32-bit number drawn at start (OTP 23+ also uses
/// 32-bit creations). Two incarnations of one node name, even started within the same
/// second, get different creations with probability 1 − 2⁻³², so a pid, reference or
/// monitor of a former incarnation never reaches a process of the new one: it is not
/// local there and gets `NoProcess`. Nothing is persisted; the randomness comes from the
/// OS-seeded `RandomState`, mixed with the start time.
fn random_creation(now: Duration) -> u32 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(now.as_nanos());
        let c = h.finish();
        let creation = (c ^ (c >> 32)) as u32;
        if creation != 0 {
            return creation;
        }
    }
}

fn random_cookie(now: Duration) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now.as_nanos());
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_need_name_at_host() {
        assert!(validate_name("demo@127.0.0.1").is_ok());
        for bad in ["demo", "@host", "demo@", "a@b@c", ""] {
            assert!(
                matches!(validate_name(bad), Err(NodeError::BadName(_))),
                "{bad}"
            );
        }
    }
}

/// Something started with a node by [`NodeBuilder::plugin`]: a transport, a behaviour.
pub trait Plugin: Send + Sync + 'static {
    /// A short name, for logs and `Debug`.
    fn name(&self) -> &'static str;
    /// Starts the plug-in on a node that has just started; an error stops the node's
    /// start.
    fn start(&self, node: &Node) -> crate::dist::BoxFuture<Result<(), NodeError>>;
}

#[derive(Clone, Default)]
struct Plugins(Vec<Arc<dyn Plugin>>);

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|p| p.name()))
            .finish()
    }
}
