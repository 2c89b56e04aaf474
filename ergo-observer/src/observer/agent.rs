//! Attaching to another node: every node that runs the Observer (or
//! [`ObserverExt::start_observer_agent`](super::ObserverExt::start_observer_agent))
//! runs an agent process, registered as [`AGENT_NAME`], that answers the Observer API's
//! requests from other nodes. The request travels over the node network, so only a node
//! that passed its cookie handshake can ask. A local Observer forwards
//! `/node/{name}/api/...` to that node's agent.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use ergo_runtime::Node;
use ergo_runtime::{Actor, ActorRef, Context, ReplyTo, Step, Wire};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

/// The name the agent is registered under on every observed node.
pub const AGENT_NAME: &str = "ergo_observer_agent";

/// How long a forwarded request may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A request to an agent: an Observer API call.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path and query, starting with `/api/`.
    pub path: String,
    /// The JSON body of a `POST`.
    pub body: String,
}

/// An agent's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentReply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
}

/// The agent process: runs API requests against its own node's Observer API.
pub struct Agent {
    api: Router,
}

impl Agent {
    pub(super) fn new(api: Router) -> Self {
        Agent { api }
    }
}

static WIRE: Wire<Agent> = Wire::POSTCARD;

impl Actor for Agent {
    type Message = ();
    type Call = AgentRequest;
    type Reply = AgentReply;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        req: AgentRequest,
        reply: ReplyTo<AgentReply>,
    ) -> Step<Self> {
        let api = self.api.clone();
        // The API awaits (supervisor trees, actor states): answered from a task.
        tokio::spawn(async move { reply.send(run(api, req).await) });
        Step::Continue
    }

    fn wire() -> Option<&'static Wire<Self>> {
        Some(&WIRE)
    }
}

async fn run(api: Router, req: AgentRequest) -> AgentReply {
    if !req.path.starts_with("/api/") {
        return AgentReply {
            status: 404,
            body: "only the Observer API is served to other nodes".into(),
        };
    }
    let request = axum::http::Request::builder()
        .method(req.method.as_str())
        .uri(req.path.as_str())
        .header("content-type", "application/json")
        .body(Body::from(req.body));
    let Ok(request) = request else {
        return AgentReply {
            status: 400,
            body: "a malformed request".into(),
        };
    };
    let response = match api.oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 16 << 20)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    AgentReply { status, body }
}

/// Starts the agent of `node` under [`AGENT_NAME`] (once: an agent already running
/// stays).
pub(super) async fn start(node: &Node, api: Router) {
    if node.whereis(AGENT_NAME).is_some() {
        return;
    }
    if let Err(e) = node.spawn_register(AGENT_NAME, Agent::new(api)).await {
        tracing::debug!(error = %e, "the Observer agent did not start (another start won)");
    }
}

/// `ANY /node/{name}/api/...`: forwarded to that node's agent.
pub(super) fn router(node: Node) -> Router {
    Router::new()
        .route("/node/{name}/{*rest}", any(forward))
        .with_state(node)
}

async fn forward(
    State(node): State<Node>,
    Path((name, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    let method = request.method().to_string();
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let body = match axum::body::to_bytes(request.into_body(), 1 << 20).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    let agent: ActorRef<Agent> = match node.lookup_remote::<Agent>(AGENT_NAME, &name).await {
        Ok(a) => a,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("cannot reach the Observer agent of {name}: {e}"),
            )
                .into_response()
        }
    };
    let req = AgentRequest {
        method,
        path: format!("/{rest}{query}"),
        body,
    };
    match agent.request(req).timeout(TIMEOUT).await {
        Ok(reply) => (
            StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            reply.body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("the Observer agent of {name} did not answer: {e}"),
        )
            .into_response(),
    }
}
