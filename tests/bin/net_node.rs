//! A node in its own OS process for the multi-process tests: `net-node <name>
//! <registrar port or 0>`. Registers a `NetCounter` as `counter`, prints `READY <addr>`,
//! and runs until its stdin closes (or it is killed).

use std::io::{BufRead, Write};
use std::net::SocketAddr;

use ergo::net::{NetBuilderExt, NetworkExt};
use ergo::net::{NetOptions, SpawnPermission};
use ergo::Node;
use ergo_tests::NetCounter;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .expect("usage: net-node <name> <registrar port or 0>");
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let registrar = (port != 0).then(|| SocketAddr::from(([127, 0, 0, 1], port)));
    let node = Node::builder(&name)
        .cookie("multi-process")
        .log_level(tracing::Level::WARN)
        .network(NetOptions::new().registrar(registrar))
        .start()
        .await
        .expect("node starts");
    node.spawn_register("counter", NetCounter::default())
        .await
        .expect("spawn");
    node.enable_spawn("counter", SpawnPermission::Anyone, NetCounter::default)
        .expect("network runs");
    println!("READY {}", node.listen_addr().expect("listening"));
    std::io::stdout().flush().expect("stdout");
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map(|n| n > 0)
            .unwrap_or(false)
        {
            line.clear();
        }
    })
    .await;
    node.stop().await.expect("stop");
}
