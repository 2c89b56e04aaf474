//! Seeing inside a running ergo node: the Observer web UI and its HTTP API
//! ([`observer`]), Prometheus metrics ([`metrics`]), Kubernetes health probes
//! ([`health`]), logging ([`log`]) and cron ([`cron`]).
//!
//! Each part serves a plain `axum::Router`, so it can be mounted on any axum server;
//! [`ObserverExt::start_observer`] serves them all on one address (127.0.0.1:9911 by
//! default).

pub mod clock;
pub mod cron;
pub mod health;
pub mod log;
pub mod metrics;
pub mod observer;
mod stats;

pub use observer::{router, Observer, ObserverError, ObserverExt, ObserverOptions};
