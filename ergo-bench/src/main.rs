//! ergo benchmarks. `cargo run --release -p ergo-bench -- local [figure]` (or `network`)
//! runs each figure (or only those named by the prefix) 5 times, each run a fresh
//! process, and prints `BENCH <name> <median> <unit> min=<v> max=<v>` lines after the
//! workload and `nproc`. `local-once <figure>` / `network-once <figure>` is one run.
//! `web` compares HTTP requests/s through WebWorkers on a pool with a plain axum handler.

mod calls;
mod erlang;
mod erlang_tls;
mod harness;
mod local;
mod network;
mod peer_lost;
mod pubsub;
mod spawn;
mod stream;
mod web;

#[tokio::main]
async fn main() {
    let arg = |i| std::env::args().nth(i);
    let which = arg(1).unwrap_or_else(|| "local".into());
    match which.as_str() {
        "local" => local::run(arg(2).as_deref()),
        "network" => network::run(arg(2).as_deref()),
        "local-once" => local::once(&arg(2).expect("a figure")).await,
        "network-once" => network::once(&arg(2).expect("a figure")).await,
        "pubsub" => pubsub::run(arg(2).as_deref()).await,
        "erlang" => erlang::run().await,
        "web" => web::run().await,
        "net-peer" => {
            let pairs = arg(2).and_then(|n| n.parse().ok()).unwrap_or(1);
            network::peer(pairs, arg(3)).await
        }
        other => {
            eprintln!(
                "unknown benchmark {other:?}; available: local, network, pubsub, erlang, web"
            );
            std::process::exit(2);
        }
    }
}
