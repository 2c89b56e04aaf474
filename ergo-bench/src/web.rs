//! HTTP requests per second through WebWorkers on a Pool (each request a call to a
//! worker process, answered by it) against a plain axum handler, on the same machine
//! and the same axum/hyper stack. The load generator runs in this process: `CLIENTS`
//! keep-alive connections, each sending requests one after the other.

use std::time::{Duration, Instant};

use axum::extract::Path;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use ergo::pool::{Pool, PoolOptions};
use ergo::prelude::*;
use ergo::web::{worker_router, Router, WebOptions, WebServer};

/// Concurrent keep-alive connections.
const CLIENTS: usize = 32;
/// Requests per measured round.
const REQUESTS: usize = 20_000;
/// Rounds per server (alternating), of which the median is printed.
const ROUNDS: usize = 5;

/// The web worker: answers `GET /hello/:n`.
#[derive(Default)]
pub struct Hello;

#[actor]
impl Hello {
    #[get("/hello/:n")]
    fn hello(&mut self, n: u64) -> String {
        format!("hello {n}")
    }
}

/// Sends `requests` GETs to `url` over `CLIENTS` connections; requests per second.
async fn load(url: &str, requests: usize) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let url = url.to_string();
        let share = requests / CLIENTS + usize::from(c < requests % CLIENTS);
        tasks.push(tokio::spawn(async move {
            let client = Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(1)
                .build_http::<Empty<Bytes>>();
            for i in 0..share {
                let uri: hyper::Uri = format!("{url}/hello/{i}").parse().expect("a url");
                let resp = client.get(uri).await.expect("a response");
                assert!(resp.status().is_success(), "status {}", resp.status());
                let body = resp.into_body().collect().await.expect("a body").to_bytes();
                assert!(body.starts_with(b"hello "));
            }
        }));
    }
    for task in tasks {
        task.await.expect("a client");
    }
    requests as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub async fn run() {
    let node = Node::builder("bench_web@127.0.0.1")
        .start()
        .await
        .expect("node");
    let pool = node
        .spawn(Pool::new(PoolOptions::new(Hello::default)))
        .await
        .expect("pool");
    let ergo_app = worker_router(pool.clone(), WebOptions::default());
    let ergo_http = WebServer::start(&node, "127.0.0.1:0", pool.pid(), ergo_app)
        .await
        .expect("ergo server");
    let plain_app: Router = Router::new().route(
        "/hello/{n}",
        axum::routing::get(|Path(n): Path<u64>| async move { format!("hello {n}") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let plain_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, plain_app).await });

    let ergo_url = format!("http://{}", ergo_http.addr);
    let plain_url = format!("http://{plain_addr}");
    println!(
        "# web: {CLIENTS} keep-alive HTTP/1.1 connections, {REQUESTS} GET /hello/:n per round, \
         {ROUNDS} rounds per server alternating; WebWorkers: a Pool of 3; load generator in \
         the same process; nproc = {}",
        crate::harness::nproc()
    );
    // Warm both up (connections, allocator, caches).
    load(&ergo_url, 2_000).await;
    load(&plain_url, 2_000).await;
    let (mut ergo, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ergo.push(load(&ergo_url, REQUESTS).await);
        plain.push(load(&plain_url, REQUESTS).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("# web_pool_webworkers runs: {}", fmt(&ergo));
    println!("# web_plain_axum runs: {}", fmt(&plain));
    let (e, p) = (median(ergo), median(plain));
    println!("BENCH web_pool_webworkers {e:.0} req/s");
    println!("BENCH web_plain_axum {p:.0} req/s");
    println!("BENCH web_pool_vs_plain {:.3} ratio", e / p);
    let _ = node.stop().await;
}
