//! A node in its own OS process producing an event, for the events tests: `event-node
//! <name>`. Registers the node-level event `ticks` (u64 values), prints `READY <addr>`,
//! publishes `0..n` for each `publish <n>` line on stdin, and stops when stdin closes.

use std::io::{BufRead, Write};

use ergo::events::{register_node_event, EventOptions};
use ergo::net::{NetBuilderExt, NetOptions, NetworkExt};
use ergo::Node;

#[tokio::main]
async fn main() {
    let name = std::env::args().nth(1).expect("usage: event-node <name>");
    ergo::register_message::<u64>();
    let node = Node::builder(&name)
        .cookie("events")
        .log_level(tracing::Level::WARN)
        .network(NetOptions::new().registrar(None))
        .start()
        .await
        .expect("node starts");
    let ticks = register_node_event::<u64>(&node, "ticks", EventOptions::new()).expect("event");
    // The relay that serves other nodes starts with the first event: wait for it.
    while node.whereis("ergo_event_relay").is_none() {
        tokio::task::yield_now().await;
    }
    println!("READY {}", node.listen_addr().expect("listening"));
    std::io::stdout().flush().expect("stdout");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line
                .strip_prefix("publish ")
                .and_then(|n| n.trim().parse().ok())
            {
                if tx.send(n).is_err() {
                    break;
                }
            }
        }
    });
    while let Some(n) = rx.recv().await {
        for i in 0..n {
            ticks.publish(i).expect("publish");
        }
    }
    node.stop().await.expect("stop");
}
