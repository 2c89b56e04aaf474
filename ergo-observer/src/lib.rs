//! Seeing inside a running ergo node: the Observer web UI and its HTTP API
//! ([`observer`]), Prometheus metrics ([`metrics`]), Kubernetes health probes
//! ([`health`]), logging ([`log`]) and cron ([`cron`]).
//!
//! Each part serves a plain `axum::Router`, so it can be mounted on any axum server;
//! [`ObserverExt::start_observer`] serves them all on one address (127.0.0.1:9911 by
//! default).
//!
//! ```no_run
//! use std::sync::Arc;
//! use ergo_observer::clock::SystemClock;
//! use ergo_observer::cron::{Action, Cron};
//! use ergo_observer::health::{Health, Probe, Signal};
//! use ergo_observer::metrics::Metrics;
//! use ergo_observer::{ObserverExt, ObserverOptions};
//! use ergo_runtime::Node;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::builder("app@127.0.0.1").start().await?;
//! let jobs = Metrics::of(&node).counter("jobs", "Jobs run")?;
//! Health::of(&node).register(&node, Signal::new("started", &[Probe::Startup]));
//! let cron = Cron::start(&node, Arc::new(SystemClock));
//! cron.add("tick", "*/5 * * * * *", Action::run(move |_, _| { jobs.inc(); Ok(()) }))?;
//! // UI on http://127.0.0.1:9911/, metrics on /metrics, probes on /health/*.
//! let observer = node.start_observer(ObserverOptions::new()).await?;
//! node.wait().await?;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod cron;
pub mod health;
pub mod log;
pub mod metrics;
pub mod observer;
mod stats;

pub use observer::{router, Observer, ObserverError, ObserverExt, ObserverOptions};
