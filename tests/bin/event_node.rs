//! A node in its own OS process for the events tests.
//!
//! `event-node <name>`: registers the node-level event `ticks` (u64 values), prints
//! `READY <addr>`, publishes `0..n` for each `publish <n>` line on stdin, and stops when
//! stdin closes.
//!
//! `event-node <name> subscribe <producer> <addr> <n>`: starts `n` processes that each
//! subscribe to the event `ticks` of node `<producer>` (reached at `<addr>`), prints
//! `SUBSCRIBED`, and runs until stdin closes (or it is killed).

use std::io::{BufRead, Write};

use ergo::events::{register_node_event, EventOptions};
use ergo::net::{NetBuilderExt, NetOptions, NetworkExt};
use ergo::prelude::*;
use ergo::Node;

/// Subscribes to `ticks` of the node it is given when it starts.
struct Subscriber;

#[actor]
impl Subscriber {
    #[init]
    async fn init(&mut self, ctx: &mut Context<Self>, at: String) -> Result<(), String> {
        ctx.monitor_remote_event::<u64>("ticks", at.as_str())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    #[handle_info(local)]
    fn tick(&mut self, _event: Event<u64>) {}

    #[handle_info(local)]
    fn ended(&mut self, _down: EventDown) {}
}

async fn subscribe(name: &str, args: &[String]) {
    let [producer, addr, n] = args else {
        panic!("usage: event-node <name> subscribe <producer> <addr> <n>");
    };
    let addr: std::net::SocketAddr = addr.parse().expect("an address");
    let n: usize = n.parse().expect("a count");
    let node = Node::builder(name)
        .cookie("events")
        .log_level(tracing::Level::WARN)
        .network(NetOptions::new().registrar(None).route(producer, addr))
        .start()
        .await
        .expect("node starts");
    for _ in 0..n {
        node.spawn_with(Subscriber, producer.clone(), SpawnOptions::new())
            .await
            .expect("subscribed");
    }
    println!("SUBSCRIBED");
    std::io::stdout().flush().expect("stdout");
    tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {})
        .await
        .expect("stdin");
    node.stop().await.expect("stop");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args
        .get(1)
        .expect("usage: event-node <name> [subscribe ...]");
    ergo::register_message::<u64>();
    if args.get(2).map(String::as_str) == Some("subscribe") {
        return subscribe(name, &args[3..]).await;
    }
    ergo::register_message::<u64>();
    let node = Node::builder(name)
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
