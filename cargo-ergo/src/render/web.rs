//! A web worker (`src/<web>.rs`: `#[get]` handlers on a pool of actors behind an HTTP
//! server) and its test over real HTTP.

use super::krate;
use crate::names::snake;
use crate::tree::{Project, Web};

/// `src/<web>.rs`.
pub fn module(p: &Project, w: &Web) -> String {
    format!(
        r#"//! `{ty}`: a web worker of the node. Each HTTP request becomes a call to one of
//! three `{ty}` actors behind a pool (requests are served in parallel); each route is
//! a handler.

use ergo::pool::{{Pool, PoolOptions}};
use ergo::prelude::*;
use ergo::web::{{worker_router, WebListening, WebOptions, WebResponse, WebServer}};

/// Where the node serves `{ty}`.
pub const ADDR: &str = "{host}:{port}";

/// One worker: it serves one request at a time.
#[derive(Default)]
pub struct {ty};

#[actor]
impl {ty} {{
    /// `GET /`: a page.
    #[get("/")]
    fn index(&mut self) -> WebResponse {{
        WebResponse::html(INDEX)
    }}

    /// `GET /hello/:name`: a greeting.
    #[get("/hello/:name")]
    fn hello(&mut self, name: String) -> String {{
        format!("hello, {{name}}")
    }}
}}

/// Starts `{ty}` on `addr`: the pool of workers and the HTTP server, which stops with
/// the pool.
pub async fn start(node: &Node, addr: &str) -> Result<WebListening, Box<dyn std::error::Error>> {{
    let pool = Pool::new(PoolOptions::new({ty}::default));
    let pool = node.spawn(pool).await?;
    let router = worker_router(pool.clone(), WebOptions::default());
    Ok(WebServer::start(node, addr, pool.pid(), router).await?)
}}

const INDEX: &str = "<!doctype html>
<html><head><meta charset=\"utf-8\"><title>{node}</title></head>
<body><h1>{node}</h1><p>Served by <code>{ty}</code>. Try <a href=\"/hello/ergo\">/hello/ergo</a>.</p></body></html>
";
"#,
        ty = w.name,
        host = w.host,
        port = w.port,
        node = p.node,
    )
}

/// `tests/<web>.rs`: the server on a free port, requests written by hand.
pub fn test(p: &Project, w: &Web) -> String {
    let m = snake(&w.name);
    format!(
        r#"//! `{ty}` over real HTTP: the server on a free port of 127.0.0.1, requests
//! written by hand on a TCP stream.

use std::net::SocketAddr;
use std::time::Duration;

use ergo::prelude::*;
use ergo::testing::eventually;
use tokio::io::{{AsyncReadExt, AsyncWriteExt}};

/// The whole response to `GET path` (status line, headers, body).
async fn get(addr: SocketAddr, path: &str) -> String {{
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {{path}} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}}

#[tokio::test]
async fn {m}_answers_its_routes() {{
    let node = Node::builder("test@127.0.0.1").start().await.unwrap();
    let http = {krate}::{m}::start(&node, "127.0.0.1:0").await.unwrap();

    let hello = get(http.addr, "/hello/ergo").await;
    assert!(hello.starts_with("HTTP/1.1 200"), "{{hello}}");
    assert!(hello.ends_with("hello, ergo"), "{{hello}}");
    let index = get(http.addr, "/").await;
    assert!(index.contains("<h1>{node}</h1>"), "{{index}}");
    let missing = get(http.addr, "/nowhere").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{{missing}}");

    // The server stops with the node.
    node.stop().await.unwrap();
    let stopped = eventually(|| std::net::TcpStream::connect(http.addr).is_err());
    stopped.within(Duration::from_secs(5)).await.unwrap();
}}
"#,
        ty = w.name,
        krate = krate(p),
        node = p.node,
    )
}
