//! The web stack with real clients: HTTP through WebWorkers on a pool (routes, path
//! parameters, 404/405/400, a request timeout giving 504, a crashed worker giving 503
//! and being replaced), WebSocket (a tungstenite client, and ergo's own client) and
//! server-sent events (heartbeat, ids, reconnection with Last-Event-ID), and an actor
//! owning a TCP server through `MetaExt`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use ergo::meta::tcp::{Framing, TcpEvent, TcpOptions};
use ergo::meta::MetaExt;
use ergo::pool::{Pool, PoolExt, PoolOptions};
use ergo::prelude::*;
use ergo::web::sse::{sse, SseConnection, SseEvent, SseMessage};
use ergo::web::ws::{websocket, WsConnection, WsEvent, WsMessage};
use ergo::web::{worker_router, Json, Method, StatusCode, WebOptions, WebRequest, WebServer};
use ergo_tests::{guard, node};

/// The state, in one process.
#[derive(Default)]
struct Ledger {
    balances: std::collections::HashMap<u64, i64>,
}

#[actor]
impl Ledger {
    #[handle_call]
    fn balance(&mut self, id: u64) -> i64 {
        self.balances.get(&id).copied().unwrap_or(0)
    }

    #[handle_call]
    fn deposit(&mut self, id: u64, amount: i64) -> i64 {
        let b = self.balances.entry(id).or_default();
        *b += amount;
        *b
    }
}

/// A stateless web front: WebWorkers behind a pool, each asking the ledger.
struct Front {
    ledger: ActorRef<Ledger>,
    gate: Arc<tokio::sync::Notify>,
}

#[actor]
impl Front {
    #[get("/balance/:id")]
    async fn get_balance(&mut self, id: u64) -> Result<Json<i64>, (StatusCode, String)> {
        self.ledger.balance(id).await.map(Json).map_err(unavailable)
    }

    #[post("/deposit/:id")]
    async fn post_deposit(
        &mut self,
        id: u64,
        req: &WebRequest,
    ) -> Result<String, (StatusCode, String)> {
        let amount: i64 = req
            .text()
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or((StatusCode::BAD_REQUEST, "an amount".to_string()))?;
        let now = self.ledger.deposit(id, amount).await.map_err(unavailable)?;
        Ok(now.to_string())
    }

    #[get("/whoami")]
    fn whoami(&mut self, ctx: &mut Context<Self>) -> String {
        ctx.pid().to_string()
    }

    /// Answers only once the test opens the gate (long after the request timed out).
    #[get("/late")]
    async fn late(&mut self) -> &'static str {
        self.gate.notified().await;
        "late"
    }

    #[get("/crash")]
    fn crash(&mut self) -> &'static str {
        panic!("the front crashed")
    }
}

fn unavailable(e: CallError) -> (StatusCode, String) {
    (StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn http(client: &Http, method: Method, url: &str, body: &str) -> (StatusCode, String) {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = guard("an http answer", client.request(req)).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_through_webworkers_on_a_pool() {
    let node = node("web_http").await;
    let ledger = node.spawn(Ledger::default()).await.unwrap();
    let gate = Arc::new(tokio::sync::Notify::new());
    let front_gate = gate.clone();
    let options = PoolOptions::new(move || Front {
        ledger: ledger.clone(),
        gate: front_gate.clone(),
    });
    let pool = node.spawn(Pool::new(options)).await.unwrap();
    let app = worker_router(
        pool.clone(),
        WebOptions::default().request_timeout(Duration::from_millis(300)),
    );
    let http_server = WebServer::start(&node, "127.0.0.1:0", pool.pid(), app)
        .await
        .unwrap();
    let base = format!("http://{}", http_server.addr);
    let client: Http = Client::builder(TokioExecutor::new()).build_http();

    let get = |path: &str| format!("{base}{path}");
    assert_eq!(
        http(&client, Method::GET, &get("/balance/7"), "").await,
        (StatusCode::OK, "0".into())
    );
    assert_eq!(
        http(&client, Method::POST, &get("/deposit/7"), "40").await,
        (StatusCode::OK, "40".into())
    );
    assert_eq!(
        http(&client, Method::POST, &get("/deposit/7"), "2").await,
        (StatusCode::OK, "42".into())
    );
    assert_eq!(
        http(&client, Method::GET, &get("/balance/7/"), "").await,
        (StatusCode::OK, "42".into())
    );
    let (status, _) = http(&client, Method::POST, &get("/deposit/7"), "lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = http(&client, Method::GET, &get("/balance/seven"), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        http(&client, Method::HEAD, &get("/balance/7"), "").await,
        (StatusCode::OK, String::new())
    );
    let (status, _) = http(&client, Method::GET, &get("/nothing/here"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = http(&client, Method::DELETE, &get("/balance/7"), "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // Requests spread over the pool's workers.
    let mut fronts = std::collections::HashSet::new();
    for _ in 0..3 {
        fronts.insert(http(&client, Method::GET, &get("/whoami"), "").await.1);
    }
    assert_eq!(fronts.len(), 3);

    // A worker that does not answer in time: the client gets 504, not a hung request.
    let (status, _) = http(&client, Method::GET, &get("/late"), "").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    gate.notify_one();

    // A worker that crashes: the client gets 503, and the pool replaces the worker.
    let (status, body) = http(&client, Method::GET, &get("/crash"), "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("the front crashed"), "{body}");
    let mut info = pool.pool_info().await.unwrap();
    for _ in 0..1000 {
        if info.restarts >= 1 && info.workers == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        info = pool.pool_info().await.unwrap();
    }
    assert_eq!((info.workers, info.restarts), (3, 1));
    assert_eq!(
        http(&client, Method::GET, &get("/balance/7"), "").await,
        (StatusCode::OK, "42".into())
    );
    node.stop().await.unwrap();
}

/// Echoes WebSocket messages and reports events to the test.
struct Echo {
    events: mpsc::UnboundedSender<String>,
    echo: bool,
}

#[actor]
impl Echo {
    #[handle_info(local)]
    fn ws(&mut self, event: WsEvent) {
        let note = match event {
            WsEvent::Connect { uri, .. } => format!("connect {}", uri.path()),
            WsEvent::Message { conn, message } => {
                let note = format!("{message:?}");
                if self.echo && matches!(message, WsMessage::Text(_) | WsMessage::Binary(_)) {
                    // The connection may be closing meanwhile: then the echo is lost.
                    let _ = conn.send(message);
                }
                note
            }
            WsEvent::Disconnect { .. } => "disconnect".into(),
        };
        let _ = self.events.send(note);
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    guard("an event", rx.recv()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_with_a_real_client() {
    let node = node("web_ws").await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let echo = node
        .spawn(Echo {
            events: tx,
            echo: true,
        })
        .await
        .unwrap();
    let app = ergo::web::Router::new().route("/ws", websocket(&node, vec![echo.clone().into()]));
    let server = WebServer::start(&node, "127.0.0.1:0", echo.pid(), app)
        .await
        .unwrap();
    let url = format!("ws://{}/ws", server.addr);
    let (mut client, _) = guard("the handshake", tokio_tungstenite::connect_async(&url))
        .await
        .unwrap();
    assert_eq!(next(&mut events).await, "connect /ws");
    client.send(Message::text("hello")).await.unwrap();
    assert_eq!(
        guard("the echo", client.next()).await.unwrap().unwrap(),
        Message::text("hello")
    );
    client.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(
        guard("the echo", client.next()).await.unwrap().unwrap(),
        Message::binary(vec![1u8, 2, 3])
    );
    client
        .send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    assert_eq!(
        guard("the pong", client.next()).await.unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"p"))
    );
    assert_eq!(next(&mut events).await, "Text(\"hello\")");
    assert_eq!(next(&mut events).await, "Binary(b\"\\x01\\x02\\x03\")");
    assert_eq!(next(&mut events).await, "Ping(b\"p\")");
    client.close(None).await.unwrap();
    assert_eq!(next(&mut events).await, "Close(None)");
    assert_eq!(next(&mut events).await, "disconnect");

    // A browser page of another site is refused.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut cross = url.as_str().into_client_request().unwrap();
    cross
        .headers_mut()
        .insert("origin", "http://elsewhere.example".parse().unwrap());
    match guard("the refusal", tokio_tungstenite::connect_async(cross)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("a cross-origin upgrade: {:?}", other.map(|_| ())),
    }

    // ergo's own client, against the same server.
    let (tx, mut mine) = mpsc::unbounded_channel();
    let me = node
        .spawn(Echo {
            events: tx,
            echo: false,
        })
        .await
        .unwrap();
    let conn = WsConnection::connect(&node, &url, &me).await.unwrap();
    assert_eq!(next(&mut mine).await, "connect /ws");
    assert_eq!(next(&mut events).await, "connect /ws");
    conn.text("ping-pong").unwrap();
    // The server's worker gets it and echoes it; the client's worker gets the echo.
    assert_eq!(next(&mut events).await, "Text(\"ping-pong\")");
    assert_eq!(next(&mut mine).await, "Text(\"ping-pong\")");
    // The client's worker dies: its connection closes, the server side disconnects.
    me.exit(Reason::Kill);
    assert_eq!(next(&mut events).await, "disconnect");
    node.stop().await.unwrap();
}

/// Sends three events to each new stream, then closes it; to a stream that resumes
/// after id 3, sends the fourth.
struct Feed;

#[actor]
impl Feed {
    #[handle_info(local)]
    fn sse(&mut self, event: SseEvent) {
        if let SseEvent::Connect {
            conn,
            last_event_id,
            ..
        } = event
        {
            match last_event_id.as_deref() {
                None => {
                    for i in 1..=3 {
                        let m = SseMessage::data(format!("tick {i}"))
                            .id(i.to_string())
                            .event("tick")
                            .retry(Duration::from_millis(20));
                        conn.send(m).unwrap();
                    }
                    conn.close().unwrap();
                }
                Some("3") => conn.send(SseMessage::data("tick 4\nlast").id("4")).unwrap(),
                Some(other) => panic!("resumed after {other}"),
            }
        }
    }
}

/// Reports a client's SSE events to the test.
struct Reader {
    events: mpsc::UnboundedSender<String>,
}

#[actor]
impl Reader {
    #[handle_info(local)]
    fn sse(&mut self, event: SseEvent) {
        let note = match event {
            SseEvent::Connect { last_event_id, .. } => format!("connect {last_event_id:?}"),
            SseEvent::Message { message, .. } => format!(
                "{} {} {}",
                message.event.unwrap_or_default(),
                message.id.unwrap_or_default(),
                message.data
            ),
            SseEvent::Disconnect { reconnect, .. } => format!("disconnect {reconnect}"),
        };
        let _ = self.events.send(note);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_resume_after_the_last_id() {
    let node = node("web_sse").await;
    let feed = node.spawn(Feed).await.unwrap();
    let app = ergo::web::Router::new().route(
        "/events",
        sse(&node, vec![feed.clone().into()], Duration::from_millis(20)),
    );
    let server = WebServer::start(&node, "127.0.0.1:0", feed.pid(), app)
        .await
        .unwrap();
    let url = format!("http://{}/events", server.addr);

    let (tx, mut events) = mpsc::unbounded_channel();
    let reader = node.spawn(Reader { events: tx }).await.unwrap();
    let _client = SseConnection::connect(&node, &url, &reader).await.unwrap();
    let want = [
        "connect None",
        "tick 1 tick 1",
        "tick 2 tick 2",
        "tick 3 tick 3",
        "disconnect true",
        "connect Some(\"3\")",
        " 4 tick 4\nlast",
    ];
    for w in want {
        assert_eq!(next(&mut events).await, w);
    }

    // A plain HTTP client sees the format itself, heartbeat comments included.
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::get(&url)
        .header("last-event-id", "3")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = guard("the stream", client.request(req)).await.unwrap();
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut body = resp.into_body();
    let mut seen = String::new();
    while !(seen.contains("data: tick 4\ndata: last\n") && seen.contains("\n:\n")) {
        let frame = guard("more of the stream", body.frame())
            .await
            .unwrap()
            .unwrap();
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
    assert!(seen.contains("id: 4\n"), "{seen}");
    node.stop().await.unwrap();
}

/// An actor that owns a TCP server (started in its init) and echoes every frame.
#[derive(Default)]
struct Owner {
    addr: Option<std::net::SocketAddr>,
}

#[actor]
impl Owner {
    #[init]
    async fn init(&mut self, ctx: &mut Context<Self>) -> Result<(), ergo::meta::MetaError> {
        let options = TcpOptions::default().framing(Framing::length_prefixed(1));
        self.addr = Some(ctx.tcp_listen("127.0.0.1:0", options).await?.addr);
        Ok(())
    }

    #[handle_call]
    fn addr(&mut self) -> Option<std::net::SocketAddr> {
        self.addr
    }

    #[handle_info(local)]
    fn tcp(&mut self, event: TcpEvent) {
        if let TcpEvent::Data { conn, data } = event {
            let _ = conn.write(data);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_owns_its_tcp_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let node = node("meta_ext").await;
    let owner = node.spawn(Owner::default()).await.unwrap();
    let addr = owner.addr().await.unwrap().unwrap();
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client.write_all(&[2, b'h', b'i']).await.unwrap();
    let mut buf = [0u8; 3];
    guard("the echo", client.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, &[2, b'h', b'i']);
    // The owner dies: its server and connection go with it.
    owner.exit(Reason::Kill);
    let n = guard("the close", client.read(&mut buf)).await.unwrap_or(0);
    assert_eq!(n, 0);
    let mut refused = false;
    for _ in 0..1000 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(refused, "the listener is closed");
    node.stop().await.unwrap();
}
