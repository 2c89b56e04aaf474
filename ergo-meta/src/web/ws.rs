//! WebSocket connections as meta processes, server side ([`websocket`], a route that
//! upgrades requests) and client side ([`WsConnection::connect`]). Each connection's
//! messages (text, binary, ping, pong, close) go to its worker as [`WsEvent`]s; what the
//! worker sends through its [`WsConn`] is written in order. A connection dies with its
//! worker, and its socket closes whatever way it ends.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::{self, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite as ts;

use ergo_runtime::{
    Actor, ActorRef, Context, Down, Handles, Node, Pid, Reason, ReplyTo, SendError, SpawnOptions,
    Step,
};

use super::server::ServedBy;
use crate::meta::{watch, MetaError, Tasks};
use crate::recipient::Recipient;

/// How long a client's handshake may take.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest message a connection accepts (1 MiB); a larger one closes it.
pub const MAX_MESSAGE: usize = 1 << 20;

/// One WebSocket message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsMessage {
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Binary(Bytes),
    /// A ping (the other side answers with a pong by itself).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close, with its code and reason if any.
    Close(Option<(u16, String)>),
}

/// What a connection's worker receives (handle it with `#[handle_info(local)]`).
#[derive(Debug)]
pub enum WsEvent {
    /// The connection is up (`uri`: the upgraded request's, or the dialled URL).
    Connect {
        /// The connection.
        conn: WsConn,
        /// The request path and query.
        uri: Uri,
    },
    /// A message arrived.
    Message {
        /// The connection.
        conn: WsConn,
        /// The message.
        message: WsMessage,
    },
    /// The connection closed; its process is ending.
    Disconnect {
        /// The connection.
        conn: WsConn,
        /// Why, unless it closed cleanly.
        reason: Option<String>,
    },
}

/// A handle to a WebSocket connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WsConn(ActorRef<WsConnection>);

impl WsConn {
    /// The connection process's pid.
    pub fn pid(&self) -> Pid {
        self.0.pid()
    }

    /// Queues a message.
    pub fn send(&self, message: WsMessage) -> Result<(), MetaError> {
        self.0.send(WsMsg::Write(message)).map_err(|e| match e {
            SendError::MailboxFull(_) => MetaError::Busy,
            _ => MetaError::Closed,
        })
    }

    /// Queues a text message.
    pub fn text(&self, text: impl Into<String>) -> Result<(), MetaError> {
        self.send(WsMessage::Text(text.into()))
    }

    /// Closes the connection (a close frame, then the end).
    pub fn close(&self) -> Result<(), MetaError> {
        self.send(WsMessage::Close(Some((1000, String::new()))))
    }

    /// The connection's process.
    pub fn actor_ref(&self) -> &ActorRef<WsConnection> {
        &self.0
    }
}

type BoxSink = Pin<Box<dyn Sink<WsMessage, Error = String> + Send>>;
type BoxStream = Pin<Box<dyn Stream<Item = Result<WsMessage, String>> + Send>>;

#[doc(hidden)]
pub enum WsMsg {
    Write(WsMessage),
    Ended(Option<String>),
}

/// The WebSocket connection meta process (see [`WsConn`] for its handle).
pub struct WsConnection {
    sink: Option<BoxSink>,
    stream: Option<BoxStream>,
    worker: Recipient<WsEvent>,
    server: Option<Pid>,
    uri: Uri,
    told_disconnect: bool,
    tasks: Tasks,
}

impl Handles<WsMsg> for WsConnection {
    fn into_message(msg: WsMsg) -> WsMsg {
        msg
    }
}

impl WsConnection {
    async fn spawn(
        node: &Node,
        sink: BoxSink,
        stream: BoxStream,
        worker: Recipient<WsEvent>,
        server: Option<Pid>,
        uri: Uri,
    ) -> Result<WsConn, MetaError> {
        let conn = WsConnection {
            sink: Some(sink),
            stream: Some(stream),
            worker,
            server,
            uri,
            told_disconnect: false,
            tasks: Tasks::default(),
        };
        Ok(WsConn(
            node.spawn_with(conn, (), SpawnOptions::default()).await?,
        ))
    }

    /// Dials a WebSocket server (`ws://host:port/path`); `worker` gets `Connect`, then
    /// the messages, and the connection dies with it.
    pub async fn connect(
        node: &Node,
        url: &str,
        worker: impl Into<Recipient<WsEvent>>,
    ) -> Result<WsConn, MetaError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| MetaError::BadOptions(format!("bad url {url:?}: {e}")))?;
        let config = ts::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let dial = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
        let (socket, _) = tokio::time::timeout(HANDSHAKE_TIMEOUT, dial)
            .await
            .map_err(|_| {
                MetaError::Handshake(format!("{url}: no answer in {HANDSHAKE_TIMEOUT:?}"))
            })?
            .map_err(|e| MetaError::Handshake(e.to_string()))?;
        let (sink, stream) = socket.split();
        let sink = sink
            .with(|m: WsMessage| futures_util::future::ready(Ok(to_tungstenite(m))))
            .sink_map_err(|e: ts::Error| e.to_string());
        let stream = stream.map(|r| r.map(from_tungstenite).map_err(|e| e.to_string()));
        let stream = stream.filter_map(|r| futures_util::future::ready(r.transpose()));
        let (sink, stream) = (Box::pin(sink), Box::pin(stream));
        Self::spawn(node, sink, stream, worker.into(), None, uri).await
    }

    fn disconnect(&mut self, ctx: &Context<Self>, reason: Option<String>) {
        if !std::mem::replace(&mut self.told_disconnect, true) {
            let conn = WsConn(ctx.myself());
            let _ = self.worker.send(WsEvent::Disconnect { conn, reason });
        }
    }
}

impl Actor for WsConnection {
    type Message = WsMsg;
    type Call = ();
    type Reply = ();
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        let mut owners = vec![self.worker.pid()];
        owners.extend(self.server);
        watch(ctx, &owners)?;
        let mut stream = self.stream.take().ok_or(Reason::error("no socket"))?;
        let conn = WsConn(ctx.myself());
        let me = ctx.myself();
        let worker = self.worker.clone();
        let uri = self.uri.clone();
        self.tasks.spawn(async move {
            if worker
                .send(WsEvent::Connect {
                    conn: conn.clone(),
                    uri,
                })
                .is_err()
            {
                let _ = me.send(WsMsg::Ended(Some("the worker is gone".into())));
                return;
            }
            let end = loop {
                match stream.next().await {
                    None => break None,
                    Some(Err(e)) => break Some(e),
                    Some(Ok(message)) => {
                        let conn = conn.clone();
                        if worker.send(WsEvent::Message { conn, message }).is_err() {
                            break Some("the worker cannot take the message".into());
                        }
                    }
                }
            };
            let _ = me.send(WsMsg::Ended(end));
        });
        Ok(())
    }

    fn handle_message(&mut self, ctx: &mut Context<Self>, msg: WsMsg) -> Step<Self> {
        match msg {
            WsMsg::Write(message) => {
                let closing = matches!(message, WsMessage::Close(_));
                Step::run_async(move |mut this: Self, mut ctx| async move {
                    if let Some(sink) = this.sink.as_mut() {
                        if let Err(e) = sink.send(message).await {
                            this.disconnect(&ctx, Some(e));
                            ctx.stop(Reason::Normal);
                        } else if closing {
                            this.disconnect(&ctx, None);
                            ctx.stop(Reason::Normal);
                        }
                    }
                    (this, ctx)
                })
            }
            WsMsg::Ended(reason) => {
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
        Some(format!("WsConnection {{ uri: {} }}", self.uri))
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

struct Upgrade {
    node: Node,
    workers: Vec<Recipient<WsEvent>>,
    next: AtomicUsize,
    origins: Vec<String>,
}

/// A route (mount it with `Router::route("/ws", websocket(..))`) that upgrades each
/// request to a WebSocket connection process, handed to the next of `workers` (round
/// robin). A browser's request from another site (an `Origin` whose host is not the
/// request's `Host`) is refused with 403, so a page elsewhere cannot talk to the
/// workers with the user's cookies; [`websocket_with_origins`] allows more origins.
pub fn websocket(node: &Node, workers: Vec<Recipient<WsEvent>>) -> MethodRouter {
    websocket_with_origins(node, workers, Vec::new())
}

/// As [`websocket`], also accepting browsers' requests from `origins` (exactly as
/// the `Origin` header spells them: `https://example.com`).
pub fn websocket_with_origins(
    node: &Node,
    workers: Vec<Recipient<WsEvent>>,
    origins: Vec<String>,
) -> MethodRouter {
    assert!(!workers.is_empty(), "a websocket route needs a worker");
    let state = Arc::new(Upgrade {
        node: node.clone(),
        workers,
        next: AtomicUsize::new(0),
        origins,
    });
    axum::routing::get(
        move |upgrade: WebSocketUpgrade,
              uri: Uri,
              headers: HeaderMap,
              served: Option<axum::Extension<ServedBy>>| {
            let state = state.clone();
            let server = served.map(|s| s.0 .0);
            async move {
                if !origin_allowed(&headers, &state.origins) {
                    return (StatusCode::FORBIDDEN, "cross-origin websocket refused")
                        .into_response();
                }
                upgrade
                    .max_message_size(MAX_MESSAGE)
                    .on_upgrade(move |socket| accept(state, socket, server, uri))
            }
        },
    )
}

/// No `Origin` (not a browser), the same host as the request, or a listed origin.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return headers.get(header::ORIGIN).is_none();
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let host = origin.split_once("://").map_or(origin, |(_, host)| host);
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.eq_ignore_ascii_case(host))
}

async fn accept(state: Arc<Upgrade>, socket: WebSocket, server: Option<Pid>, uri: Uri) {
    let n = state.next.fetch_add(1, Ordering::Relaxed);
    let worker = state.workers[n % state.workers.len()].clone();
    let (sink, stream) = socket.split();
    let sink = sink
        .with(|m: WsMessage| futures_util::future::ready(Ok(to_axum(m))))
        .sink_map_err(|e: axum::Error| e.to_string());
    let stream = stream.map(|r| r.map(from_axum).map_err(|e| e.to_string()));
    let (sink, stream) = (Box::pin(sink), Box::pin(stream));
    if let Err(e) = WsConnection::spawn(&state.node, sink, stream, worker, server, uri).await {
        state.node.log_limiter().log(
            "websocket: connection did not start",
            || tracing::debug!(error = %e, "a websocket connection could not start"),
        );
    }
}

fn to_axum(m: WsMessage) -> ws::Message {
    match m {
        WsMessage::Text(t) => ws::Message::Text(t.into()),
        WsMessage::Binary(b) => ws::Message::Binary(b),
        WsMessage::Ping(b) => ws::Message::Ping(b),
        WsMessage::Pong(b) => ws::Message::Pong(b),
        WsMessage::Close(c) => ws::Message::Close(c.map(|(code, reason)| ws::CloseFrame {
            code,
            reason: reason.into(),
        })),
    }
}

fn from_axum(m: ws::Message) -> WsMessage {
    match m {
        ws::Message::Text(t) => WsMessage::Text(t.as_str().to_string()),
        ws::Message::Binary(b) => WsMessage::Binary(b),
        ws::Message::Ping(b) => WsMessage::Ping(b),
        ws::Message::Pong(b) => WsMessage::Pong(b),
        ws::Message::Close(c) => {
            WsMessage::Close(c.map(|f| (f.code, f.reason.as_str().to_string())))
        }
    }
}

fn to_tungstenite(m: WsMessage) -> ts::Message {
    match m {
        WsMessage::Text(t) => ts::Message::Text(t.into()),
        WsMessage::Binary(b) => ts::Message::Binary(b),
        WsMessage::Ping(b) => ts::Message::Ping(b),
        WsMessage::Pong(b) => ts::Message::Pong(b),
        WsMessage::Close(c) => {
            ts::Message::Close(c.map(|(code, reason)| ts::protocol::CloseFrame {
                code: code.into(),
                reason: reason.into(),
            }))
        }
    }
}

/// A tungstenite message as ours (`None`: a raw frame, never read).
fn from_tungstenite(m: ts::Message) -> Option<WsMessage> {
    Some(match m {
        ts::Message::Text(t) => WsMessage::Text(t.as_str().to_string()),
        ts::Message::Binary(b) => WsMessage::Binary(b),
        ts::Message::Ping(b) => WsMessage::Ping(b),
        ts::Message::Pong(b) => WsMessage::Pong(b),
        ts::Message::Close(c) => {
            WsMessage::Close(c.map(|f| (u16::from(f.code), f.reason.as_str().to_string())))
        }
        ts::Message::Frame(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_same_origin_or_listed_browsers_are_upgraded() {
        let listed = vec!["https://ok.example".to_string()];
        assert!(origin_allowed(&headers(None, "a:1"), &[]));
        assert!(origin_allowed(&headers(Some("http://a:1"), "a:1"), &[]));
        assert!(origin_allowed(&headers(Some("http://A:1"), "a:1"), &[]));
        assert!(!origin_allowed(&headers(Some("http://evil:1"), "a:1"), &[]));
        assert!(!origin_allowed(&headers(Some("null"), "a:1"), &[]));
        assert!(origin_allowed(
            &headers(Some("https://ok.example"), "a:1"),
            &listed
        ));
    }
}
