//! The Observer: a web UI and its JSON API over a running node, served by the node
//! itself (no external scripts or styles), with the metrics and health probes on the
//! same server. [`ObserverExt::start_observer`] starts it; [`router`] gives the plain
//! `axum::Router` to mount elsewhere.
//!
//! Access: bound to a loopback address without a token, only local clients are
//! answered; with a token (required when bound elsewhere), every request but the
//! health probes must carry it (`Authorization: Bearer <token>`, or `?token=` once in
//! the browser's address, which the page then keeps).

mod access;
mod agent;
mod api;
mod history;
mod tree;
mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use ergo_runtime::Node;

pub use agent::{Agent, AgentReply, AgentRequest, AGENT_NAME};
pub use history::Sample;
pub use tree::TreeNode;

/// The Observer's default address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9911";

/// How the Observer is served.
#[derive(Clone, Debug)]
pub struct ObserverOptions {
    addr: SocketAddr,
    token: Option<String>,
    latency: bool,
}

impl Default for ObserverOptions {
    fn default() -> Self {
        ObserverOptions {
            addr: DEFAULT_ADDR.parse().expect("a valid address"),
            token: None,
            latency: true,
        }
    }
}

impl ObserverOptions {
    /// 127.0.0.1:9911, no token.
    pub fn new() -> Self {
        Self::default()
    }

    /// The address to listen on (port 0: any free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The token every request must carry.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Whether the Observer turns the node's mailbox latency tracking on (the default;
    /// it costs a clock read per message sent, see `Node::set_latency_tracking`).
    pub fn latency_tracking(mut self, on: bool) -> Self {
        self.latency = on;
        self
    }
}

/// Why the Observer did not start.
#[derive(Debug, thiserror::Error)]
pub enum ObserverError {
    /// Bound to a non-loopback address without a token.
    #[error("the Observer on {0} is reachable from other hosts: set a token")]
    TokenRequired(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// A running Observer. Dropping the handle leaves it serving until the node stops;
/// [`Observer::stop`] stops it earlier.
pub struct Observer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Observer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The UI's address (`http://addr/`).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops serving.
    pub fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Observer({})", self.addr)
    }
}

/// Everything the Observer serves, without access control: the UI at `/`, its API
/// under `/api`, the API of other nodes under `/node/{name}/api` (through their
/// agents), `/metrics` and `/health/*`.
pub fn router(node: &Node) -> Router {
    let api = api_router(node);
    Router::new()
        .merge(ui::router())
        .merge(api)
        .merge(agent::router(node.clone()))
        .merge(crate::metrics::router(node.clone()))
        .merge(crate::health::router(node.clone()))
}

fn api_router(node: &Node) -> Router {
    api::router(node.clone(), history::History::start(node))
}

/// Starts the Observer on a node.
#[allow(async_fn_in_trait)] // implemented for `Node` only; its future is `Send`
pub trait ObserverExt {
    /// Serves the Observer, the metrics and the health probes on `options`' address
    /// (127.0.0.1:9911 by default) until the node stops or [`Observer::stop`]. Turns
    /// the node's run-time accounting on, for the run-time columns, and its mailbox
    /// latency tracking unless the options say not to.
    async fn start_observer(&self, options: ObserverOptions) -> Result<Observer, ObserverError>;

    /// Starts only the agent other nodes' Observers attach to (over the node network,
    /// so only nodes that share the cookie), for a node that serves no UI itself.
    async fn start_observer_agent(&self);
}

impl ObserverExt for Node {
    async fn start_observer(&self, options: ObserverOptions) -> Result<Observer, ObserverError> {
        let addr = options.addr;
        if options.token.is_none() && !addr.ip().is_loopback() {
            return Err(ObserverError::TokenRequired(addr));
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ObserverError::Bind(addr, e))?;
        let local = listener
            .local_addr()
            .map_err(|e| ObserverError::Bind(addr, e))?;
        self.set_run_time_accounting(true);
        if options.latency {
            self.set_latency_tracking(true);
        }
        self.start_observer_agent().await;
        let app = access::protect(router(self), Arc::new(options.token));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let node_stopped = self.stopped();
        tokio::spawn(async move {
            let stopped = async move {
                tokio::select! {
                    Ok(()) = rx => {}
                    _ = node_stopped => {}
                }
            };
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(stopped)
            .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "the Observer stopped");
            }
        });
        tracing::info!(url = %format!("http://{local}/"), "Observer started");
        Ok(Observer {
            addr: local,
            stop: Some(tx),
        })
    }

    async fn start_observer_agent(&self) {
        self.set_run_time_accounting(true);
        agent::start(self, api_router(self)).await;
    }
}
