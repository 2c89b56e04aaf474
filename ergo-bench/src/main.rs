//! ergo benchmarks. `cargo run --release -p ergo-bench -- local [figure]` prints one
//! `BENCH <name> <value> <unit>` line per figure (or only the one named), after a line
//! stating the workload.

mod erlang;
mod local;
mod network;
mod peer_lost;
mod pubsub;

#[tokio::main]
async fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "local".into());
    match which.as_str() {
        "local" => local::run(std::env::args().nth(2).as_deref()).await,
        "network" => network::run(std::env::args().nth(2).as_deref()).await,
        "pubsub" => pubsub::run(std::env::args().nth(2).as_deref()).await,
        "erlang" => erlang::run().await,
        "net-peer" => {
            let pairs = std::env::args()
                .nth(2)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            network::peer(pairs).await
        }
        other => {
            eprintln!("unknown benchmark {other:?}; available: local, network, pubsub, erlang");
            std::process::exit(2);
        }
    }
}
