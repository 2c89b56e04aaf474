//! A counter over HTTP and a WebSocket chat room, served by one node.
//!
//! ```text
//! cargo run --example web --features web        # PORT=8080 by default
//! curl http://127.0.0.1:8080/counter            # 0
//! curl -X POST http://127.0.0.1:8080/counter/add/5
//! open http://127.0.0.1:8080/chat?say=hello     # the chat page (plain HTML + JS)
//! ```
//!
//! HTTP requests become calls to `Api` WebWorkers behind a `Pool` (three of them, so
//! requests are handled in parallel); they share no state, and ask the one `Counter`
//! process, which owns the count. Each WebSocket connection of the chat page is a meta
//! process; the `Room` actor keeps the connections and sends every text it gets to all
//! of them. The page at `/chat?say=TEXT` sends TEXT once connected and appends every
//! message it receives to its `log` element. The first line of standard output is
//! `listening on http://<addr>/`; the node runs until Ctrl-C.

use ergo::pool::{Pool, PoolOptions};
use ergo::prelude::*;
use ergo::web::ws::{websocket, WsConn, WsEvent, WsMessage};
use ergo::web::{worker_router, Json, Router, StatusCode, WebOptions, WebResponse, WebServer};

/// The count: one process owns it, so it needs no lock.
#[derive(Default)]
pub struct Counter {
    value: i64,
}

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: i64) -> i64 {
        self.value += n;
        self.value
    }

    #[handle_call]
    fn value(&mut self) -> i64 {
        self.value
    }
}

/// The HTTP side: stateless WebWorkers (behind a pool) that ask the counter.
pub struct Api {
    counter: ActorRef<Counter>,
}

#[actor]
impl Api {
    #[get("/")]
    fn index(&mut self) -> WebResponse {
        WebResponse::html(INDEX)
    }

    #[get("/chat")]
    fn chat(&mut self) -> WebResponse {
        WebResponse::html(CHAT)
    }

    #[get("/counter")]
    async fn count(&mut self) -> Result<Json<i64>, (StatusCode, String)> {
        self.counter.value().await.map(Json).map_err(unavailable)
    }

    #[post("/counter/add/:n")]
    async fn add(&mut self, n: i64) -> Result<Json<i64>, (StatusCode, String)> {
        self.counter.add(n).await.map(Json).map_err(unavailable)
    }
}

fn unavailable(e: CallError) -> (StatusCode, String) {
    (StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

/// The chat room: every text from one connection goes to all of them.
#[derive(Default)]
pub struct Room {
    members: Vec<WsConn>,
}

#[actor]
impl Room {
    #[handle_info(local)]
    fn ws(&mut self, event: WsEvent) {
        match event {
            WsEvent::Connect { conn, .. } => {
                self.members.push(conn.clone());
                let _ = conn.text(format!("welcome ({} online)", self.members.len()));
            }
            WsEvent::Message {
                message: WsMessage::Text(text),
                ..
            } => {
                // A member that is gone meanwhile is removed by its Disconnect.
                for member in &self.members {
                    let _ = member.text(text.clone());
                }
            }
            WsEvent::Message { .. } => {}
            WsEvent::Disconnect { conn, .. } => self.members.retain(|m| *m != conn),
        }
    }
}

/// The application: the counter, the pool of web workers, the room, and the router
/// that serves them (the pool owns the server: it stops with it).
pub async fn app(node: &Node) -> Result<(Router, ActorRef<Pool<Api>>), SpawnError> {
    let counter = node.spawn_register("counter", Counter::default()).await?;
    let api = node
        .spawn(Pool::new(PoolOptions::new(move || Api {
            counter: counter.clone(),
        })))
        .await?;
    let room = node.spawn_register("room", Room::default()).await?;
    let router = Router::new()
        .route("/ws", websocket(node, vec![room.into()]))
        .merge(worker_router(api.clone(), WebOptions::default()));
    Ok((router, api))
}

#[allow(dead_code)] // the browser test uses `app` only
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::builder("web@127.0.0.1").start().await?;
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 8080,
    };
    let (router, api) = app(&node).await?;
    let http = WebServer::start(&node, ("127.0.0.1", port), api.pid(), router).await?;
    println!("listening on http://{}/", http.addr);
    tokio::signal::ctrl_c().await?;
    node.stop().await?;
    Ok(())
}

const INDEX: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>ergo web</title></head>
<body>
<h1>ergo web</h1>
<p>Count: <span id="count">?</span> <button id="add">+1</button></p>
<p><a href="/chat">chat room</a></p>
<script>
const show = (r) => r.json().then((n) => { document.getElementById('count').textContent = n; });
fetch('/counter').then(show);
document.getElementById('add').onclick = () => fetch('/counter/add/1', { method: 'POST' }).then(show);
</script>
</body></html>
"#;

const CHAT: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>ergo chat</title></head>
<body>
<h1>chat</h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off"> <button>send</button></form>
<script>
const log = document.getElementById('log');
const append = (text) => {
  const line = document.createElement('div');
  line.className = 'message';
  line.textContent = text;
  log.appendChild(line);
};
const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
const ws = new WebSocket(scheme + location.host + '/ws');
const say = new URLSearchParams(location.search).get('say');
ws.onopen = () => { if (say) ws.send(say); };
ws.onmessage = (event) => append(event.data);
document.getElementById('form').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('text');
  if (input.value) { ws.send(input.value); input.value = ''; }
};
</script>
</body></html>
"#;
