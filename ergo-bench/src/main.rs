//! ergo benchmarks. `cargo run --release -p ergo-bench -- local [figure]` prints one
//! `BENCH <name> <value> <unit>` line per figure (or only the one named), after a line
//! stating the workload.

mod local;

#[tokio::main]
async fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "local".into());
    match which.as_str() {
        "local" => local::run(std::env::args().nth(2).as_deref()).await,
        other => {
            eprintln!("unknown benchmark {other:?}; available: local");
            std::process::exit(2);
        }
    }
}
