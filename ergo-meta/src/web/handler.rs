//! The HTTP side of a WebWorker: an axum [`Router`] that turns every request into a
//! call to the worker (or pool) and its reply into the response; a worker that does
//! not answer in time gives 504, one that is gone, crashed or overloaded gives 503.
//! Mount it in a larger router (`Router::nest`, `merge`) or serve it as it is.

use std::sync::Arc;
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;

use ergo_runtime::{ActorRef, CallError};

use super::request::{WebRequest, WebResponse};
use super::worker::{web_reply, WebWorker};

/// The default time a worker has to answer a request (5 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The default largest request body read (2 MiB); a larger one gets 413.
pub const DEFAULT_MAX_BODY: usize = 2 << 20;

/// How requests reach a worker.
#[derive(Clone, Copy, Debug)]
pub struct WebOptions {
    /// How long the worker has to answer (then 504).
    pub request_timeout: Duration,
    /// The largest body read (then 413).
    pub max_body: usize,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

impl WebOptions {
    /// These options with another request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

struct Target<W: WebWorker> {
    worker: ActorRef<W>,
    options: WebOptions,
}

/// A router that hands every request (any method, any path) to `worker` — an actor
/// with web handlers, or a [`Pool`](ergo_otp::pool::Pool) of them.
pub fn worker_router<W: WebWorker>(worker: ActorRef<W>, options: WebOptions) -> Router {
    let target = Arc::new(Target { worker, options });
    Router::new().fallback(handle::<W>).with_state(target)
}

async fn handle<W: WebWorker>(State(target): State<Arc<Target<W>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, target.options.max_body).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let request = WebRequest {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body,
    };
    call(&target.worker, request, target.options.request_timeout)
        .await
        .into_response()
}

/// Calls `worker` with `request`: its response, or the 5xx that says why there is none.
pub async fn call<W: WebWorker>(
    worker: &ActorRef<W>,
    request: WebRequest,
    timeout: Duration,
) -> WebResponse {
    let reply = worker
        .request_map(W::web_call(request), web_reply::<W>)
        .timeout(timeout)
        .await;
    match reply {
        Ok(response) => response,
        Err(CallError::Timeout(_)) => WebResponse::text(
            StatusCode::GATEWAY_TIMEOUT,
            "the worker did not answer in time",
        ),
        Err(CallError::Exited(reason)) => WebResponse::text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the worker failed: {reason}"),
        ),
        Err(CallError::MailboxFull) => {
            WebResponse::text(StatusCode::SERVICE_UNAVAILABLE, "the workers are busy")
        }
        Err(e) => WebResponse::text(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
