//! HTTP for actors: a [`WebServer`] meta process serving an axum router; a
//! [`worker_router`] that turns requests into calls to a [`WebWorker`] (an actor with
//! `#[get("/path/:id")]`-style handlers, or a pool of them) with a request timeout;
//! WebSocket ([`ws`]) and server-sent events ([`sse`]) connections as meta processes.
//!
//! The router is an ordinary [`axum::Router`]: an application mounts it beside its own
//! routes (`Router::new().nest("/api", worker_router(..)).route("/ws", ws::route(..))`)
//! and serves the result with [`WebServer::start`].

mod handler;
mod request;
pub mod route;
mod server;
pub mod sse;
mod worker;
pub mod ws;

pub use axum::http::{HeaderMap, Method, StatusCode};
pub use axum::Router;
pub use handler::{call, worker_router, WebOptions, DEFAULT_MAX_BODY, DEFAULT_REQUEST_TIMEOUT};
pub use request::{IntoWebResponse, Json, WebRequest, WebResponse};
pub use server::{WebListening, WebServer};
pub use worker::WebWorker;
