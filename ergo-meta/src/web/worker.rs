//! [`WebWorker`]: an actor that answers HTTP requests. `#[actor]` implements it for an
//! actor with `#[get("/path/:param")]`, `#[post(..)]`, ... handlers; a [`Pool`] of
//! WebWorkers is one too, so requests spread over its workers.

use ergo_otp::pool::{Pool, PoolCall, PoolReply};
use ergo_runtime::{Actor, CallError};

use super::request::{WebRequest, WebResponse};

/// An actor that answers HTTP requests (a call carrying a [`WebRequest`], answered
/// with a [`WebResponse`]). Implemented by `#[actor]` for actors with web handlers
/// (`#[get("/balance/:id")] fn balance(&mut self, id: u64) -> Json<i64>`); the `ergo`
/// crate's `web` module shows a whole example.
pub trait WebWorker: Actor {
    /// The call that carries `request`.
    fn web_call(request: WebRequest) -> Self::Call;
    /// The response in a reply to [`WebWorker::web_call`].
    fn web_reply(reply: Self::Reply) -> Option<WebResponse>;
}

impl<W: WebWorker> WebWorker for Pool<W> {
    fn web_call(request: WebRequest) -> PoolCall<W> {
        PoolCall::Work(W::web_call(request))
    }

    fn web_reply(reply: PoolReply<W>) -> Option<WebResponse> {
        match reply {
            PoolReply::Work(reply) => W::web_reply(reply),
            PoolReply::Info(_) => None,
        }
    }
}

/// The reply of a web call, or why there is none (used by the HTTP handler).
pub(crate) fn web_reply<W: WebWorker>(reply: W::Reply) -> Result<WebResponse, CallError> {
    W::web_reply(reply).ok_or_else(|| CallError::BadRequest("not a web response".into()))
}
