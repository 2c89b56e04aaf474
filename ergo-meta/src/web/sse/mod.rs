//! Server-sent events as meta processes. Server side, [`sse`] is a route whose every
//! request becomes a connection process handed to a worker (round robin), which sends
//! it [`SseMessage`]s (event, data, id, retry); a heartbeat comment keeps idle streams
//! open. Client side, [`SseConnection::connect`] reads a stream, delivers each event,
//! and on a drop reconnects after the server's `retry` with `Last-Event-ID`.
//! Each connection dies with its worker.

mod decode;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use futures_util::stream;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use ergo_runtime::{
    Actor, ActorRef, Context, Down, Handles, Node, Pid, Reason, ReplyTo, SendError, SpawnOptions,
    Step,
};

pub use decode::{encode, SseDecoder, SseError};

use super::server::ServedBy;
use crate::meta::{watch, MetaError, Tasks};
use crate::recipient::Recipient;

/// The default heartbeat of a server stream (15 s).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);

/// The largest line or event a client accepts (1 MiB).
pub const MAX_EVENT: usize = 1 << 20;

/// The default reconnection delay of a client, until the server sets one (3 s).
pub const DEFAULT_RETRY: Duration = Duration::from_secs(3);

/// How long a client waits for the response's head.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many reconnections in a row may fail before a client gives up.
pub const MAX_RECONNECTS: u32 = 100;

/// One event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseMessage {
    /// The event type (`None`: `message`).
    pub event: Option<String>,
    /// The data (lines joined with `\n`).
    pub data: String,
    /// The event id (client side: the last id seen, as the standard keeps it).
    pub id: Option<String>,
    /// The reconnection delay the server asks for.
    pub retry: Option<Duration>,
}

impl SseMessage {
    /// An event with `data` only.
    pub fn data(data: impl Into<String>) -> SseMessage {
        SseMessage {
            data: data.into(),
            ..SseMessage::default()
        }
    }

    /// This event with an id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// This event with a type.
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// This event with a reconnection delay.
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }
}

/// What a connection's worker receives (handle it with `#[handle_info(local)]`).
#[derive(Debug)]
pub enum SseEvent {
    /// A stream opened: a client connected (server side) or the client (re)connected.
    Connect {
        /// The connection.
        conn: SseConn,
        /// The request's path and query (server side) or the URL (client side).
        uri: Uri,
        /// The `Last-Event-ID` the client sent (server side) or will send on its next
        /// reconnection (client side).
        last_event_id: Option<String>,
    },
    /// An event arrived (client side).
    Message {
        /// The connection.
        conn: SseConn,
        /// The event.
        message: SseMessage,
    },
    /// The stream closed. Server side, the connection ends; client side, it reconnects
    /// unless `reconnect` is false.
    Disconnect {
        /// The connection.
        conn: SseConn,
        /// Why, if not a clean end.
        reason: Option<String>,
        /// The client will reconnect.
        reconnect: bool,
    },
}

/// A handle to an SSE connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SseConn(ActorRef<SseConnection>);

impl SseConn {
    /// The connection process's pid.
    pub fn pid(&self) -> Pid {
        self.0.pid()
    }

    /// Sends an event to the client (server side only).
    pub fn send(&self, message: SseMessage) -> Result<(), MetaError> {
        self.post(SseMsg::Send(message))
    }

    /// Ends the stream (server side) or stops the client.
    pub fn close(&self) -> Result<(), MetaError> {
        self.post(SseMsg::Ended(None))
    }

    /// The connection's process.
    pub fn actor_ref(&self) -> &ActorRef<SseConnection> {
        &self.0
    }

    fn post(&self, msg: SseMsg) -> Result<(), MetaError> {
        self.0.send(msg).map_err(|e| match e {
            SendError::MailboxFull(_) => MetaError::Busy,
            _ => MetaError::Closed,
        })
    }
}

#[doc(hidden)]
pub enum SseMsg {
    Send(SseMessage),
    Ended(Option<String>),
}

enum Side {
    /// Server side: the response stream's queue.
    Server(mpsc::Sender<SseMessage>),
    /// Client side: the URL to read.
    Client(String),
}

/// The SSE connection meta process (see [`SseConn`] for its handle).
pub struct SseConnection {
    side: Side,
    worker: Recipient<SseEvent>,
    server: Option<Pid>,
    uri: Uri,
    last_event_id: Option<String>,
    told_disconnect: bool,
    tasks: Tasks,
}

impl Handles<SseMsg> for SseConnection {
    fn into_message(msg: SseMsg) -> SseMsg {
        msg
    }
}

impl SseConnection {
    /// Reads the event stream at `url` (`http://host:port/path`); `worker` gets
    /// `Connect` at each (re)connection, then the events. The client dies with
    /// `worker`, or when the server answers 204, or after [`MAX_RECONNECTS`] failed
    /// reconnections in a row.
    pub async fn connect(
        node: &Node,
        url: &str,
        worker: impl Into<Recipient<SseEvent>>,
    ) -> Result<SseConn, MetaError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| MetaError::BadOptions(format!("bad url {url:?}: {e}")))?;
        let conn = SseConnection {
            side: Side::Client(url.to_string()),
            worker: worker.into(),
            server: None,
            uri,
            last_event_id: None,
            told_disconnect: false,
            tasks: Tasks::default(),
        };
        Ok(SseConn(
            node.spawn_with(conn, (), SpawnOptions::default()).await?,
        ))
    }

    fn disconnect(&mut self, ctx: &Context<Self>, reason: Option<String>) {
        if !std::mem::replace(&mut self.told_disconnect, true) {
            let conn = SseConn(ctx.myself());
            let _ = self.worker.send(SseEvent::Disconnect {
                conn,
                reason,
                reconnect: false,
            });
        }
    }
}

impl Actor for SseConnection {
    type Message = SseMsg;
    type Call = ();
    type Reply = ();
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        let mut owners = vec![self.worker.pid()];
        owners.extend(self.server);
        watch(ctx, &owners)?;
        let conn = SseConn(ctx.myself());
        match &self.side {
            Side::Server(_) => {
                let connect = SseEvent::Connect {
                    conn,
                    uri: self.uri.clone(),
                    last_event_id: self.last_event_id.clone(),
                };
                self.worker
                    .send(connect)
                    .map_err(|_| Reason::error("the worker is gone"))?;
            }
            Side::Client(url) => {
                let task = client(url.clone(), conn, self.worker.clone(), self.uri.clone());
                self.tasks.spawn(task);
            }
        }
        Ok(())
    }

    fn handle_message(&mut self, ctx: &mut Context<Self>, msg: SseMsg) -> Step<Self> {
        match msg {
            SseMsg::Send(message) => {
                let Side::Server(tx) = &self.side else {
                    tracing::debug!("an sse client cannot send events");
                    return Step::Continue;
                };
                match tx.try_send(message) {
                    Ok(()) => Step::Continue,
                    Err(mpsc::error::TrySendError::Full(message)) => {
                        // A slow client: wait for room (the stream's own backpressure).
                        let tx = tx.clone();
                        Step::run_async(move |mut this: Self, mut ctx| async move {
                            if tx.send(message).await.is_err() {
                                this.disconnect(&ctx, None);
                                ctx.stop(Reason::Normal);
                            }
                            (this, ctx)
                        })
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        self.disconnect(ctx, None);
                        Step::Stop(Reason::Normal)
                    }
                }
            }
            SseMsg::Ended(reason) => {
                self.disconnect(ctx, reason);
                Step::Stop(Reason::Normal)
            }
        }
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }

    fn debug_state(&self) -> Option<String> {
        let side = match self.side {
            Side::Server(_) => "server",
            Side::Client(_) => "client",
        };
        Some(format!("SseConnection {{ {side}, uri: {} }}", self.uri))
    }

    fn handle_down(&mut self, _: &mut Context<Self>, _: Down) -> Step<Self> {
        Step::Stop(Reason::Normal)
    }

    fn terminate(&mut self, ctx: &mut Context<Self>, reason: &Reason) {
        self.disconnect(
            ctx,
            Some(reason.to_string()).filter(|_| reason.is_failure()),
        );
    }
}

/// The client's reading loop: connect, read, deliver; reconnect after `retry`.
async fn client(url: String, conn: SseConn, worker: Recipient<SseEvent>, uri: Uri) {
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let mut last_id: Option<String> = None;
    let mut retry = DEFAULT_RETRY;
    let mut failures = 0u32;
    let end = loop {
        let mut req = axum::http::Request::get(uri.clone()).header("accept", "text/event-stream");
        if let Some(id) = &last_id {
            req = req.header("last-event-id", id.as_str());
        }
        let outcome = match req.body(Empty::new()) {
            Ok(req) => match tokio::time::timeout(RESPONSE_TIMEOUT, http.request(req)).await {
                Ok(answer) => answer.map_err(|e| e.to_string()),
                Err(_) => Err(format!("{url}: no answer in {RESPONSE_TIMEOUT:?}")),
            },
            Err(e) => break Some(e.to_string()),
        };
        let reason = match outcome {
            Ok(resp) if resp.status() == StatusCode::NO_CONTENT => break None,
            Ok(resp) if resp.status() != StatusCode::OK => {
                Some(format!("{url}: status {}", resp.status()))
            }
            Err(e) => Some(e),
            Ok(resp) => {
                failures = 0;
                let connect = SseEvent::Connect {
                    conn: conn.clone(),
                    uri: uri.clone(),
                    last_event_id: last_id.clone(),
                };
                if worker.send(connect).is_err() {
                    break Some("the worker is gone".into());
                }
                let mut body = resp.into_body();
                let mut decoder = SseDecoder::new(MAX_EVENT);
                let mut out = Vec::new();
                let reason = loop {
                    let frame = match body.frame().await {
                        None => break None,
                        Some(Err(e)) => break Some(e.to_string()),
                        Some(Ok(frame)) => frame,
                    };
                    let Some(data) = frame.data_ref() else {
                        continue;
                    };
                    if let Err(e) = decoder.feed(data, &mut out) {
                        break Some(e.to_string());
                    }
                    for message in out.drain(..) {
                        if let Some(r) = message.retry {
                            retry = r;
                        }
                        last_id.clone_from(&message.id);
                        let conn = conn.clone();
                        if worker.send(SseEvent::Message { conn, message }).is_err() {
                            return;
                        }
                    }
                };
                reason
            }
        };
        failures += 1;
        if failures > MAX_RECONNECTS {
            break Some(format!("gave up after {MAX_RECONNECTS} reconnections"));
        }
        let disconnect = SseEvent::Disconnect {
            conn: conn.clone(),
            reason,
            reconnect: true,
        };
        if worker.send(disconnect).is_err() {
            return;
        }
        tokio::time::sleep(retry).await;
    };
    let _ = conn.actor_ref().send(SseMsg::Ended(end));
}

struct Streams {
    node: Node,
    workers: Vec<Recipient<SseEvent>>,
    next: AtomicUsize,
    heartbeat: Duration,
}

/// Tells the connection process when the response stream is dropped (the client went
/// away, or the server stopped).
struct Gone(ActorRef<SseConnection>);

impl Drop for Gone {
    fn drop(&mut self) {
        let _ = self.0.send(SseMsg::Ended(None));
    }
}

/// A route (mount it with `Router::route("/events", sse(..))`) whose every request
/// opens an event stream: a connection process handed to the next of `workers` (round
/// robin), kept open by a heartbeat comment every `heartbeat`.
pub fn sse(node: &Node, workers: Vec<Recipient<SseEvent>>, heartbeat: Duration) -> MethodRouter {
    assert!(!workers.is_empty(), "an sse route needs a worker");
    let state = Arc::new(Streams {
        node: node.clone(),
        workers,
        next: AtomicUsize::new(0),
        heartbeat,
    });
    axum::routing::get(
        move |uri: Uri, headers: HeaderMap, served: Option<axum::Extension<ServedBy>>| {
            let state = state.clone();
            let server = served.map(|s| s.0 .0);
            async move { open(state, uri, headers, server).await }
        },
    )
}

async fn open(state: Arc<Streams>, uri: Uri, headers: HeaderMap, server: Option<Pid>) -> Response {
    let n = state.next.fetch_add(1, Ordering::Relaxed);
    let worker = state.workers[n % state.workers.len()].clone();
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (tx, rx) = mpsc::channel::<SseMessage>(64);
    let conn = SseConnection {
        side: Side::Server(tx),
        worker,
        server,
        uri,
        last_event_id,
        told_disconnect: false,
        tasks: Tasks::default(),
    };
    let conn = match state
        .node
        .spawn_with(conn, (), SpawnOptions::default())
        .await
    {
        Ok(conn) => conn,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    let events = stream::unfold((rx, Gone(conn)), |(mut rx, gone)| async move {
        let message = rx.recv().await?;
        Some((Ok::<Event, Infallible>(to_event(message)), (rx, gone)))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(state.heartbeat))
        .into_response()
}

/// The axum event (line breaks in the type or id, which the format cannot carry, are
/// removed; those in the data become `data:` lines).
fn to_event(m: SseMessage) -> Event {
    let one_line = |s: String| s.replace(['\r', '\n', '\0'], "");
    let data = m.data.replace("\r\n", "\n").replace('\r', "\n");
    let mut event = Event::default().data(data);
    if let Some(name) = m.event {
        event = event.event(one_line(name));
    }
    if let Some(id) = m.id {
        event = event.id(one_line(id));
    }
    if let Some(retry) = m.retry {
        event = event.retry(retry);
    }
    event
}
