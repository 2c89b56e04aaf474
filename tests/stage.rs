//! The stage-mode helpers of `ergo::testing` on real nodes: bounded waits, the
//! handled-messages probe, and a cluster of networked nodes started in one call.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ergo::prelude::*;
use ergo::testing::{eventually, handled, wait_handled, Cluster, NotReached};
use ergo::{ActorRef, Node};

/// A failure guard for waits that must end: no test depends on how long they take.
const BOUND: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Counter {
    count: u64,
}

#[actor]
impl Counter {
    #[handle_cast]
    fn bump(&mut self) {
        self.count += 1;
    }

    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }
}

async fn node(name: &str) -> Node {
    Node::builder(&format!("{name}@127.0.0.1"))
        .start()
        .await
        .expect("node starts")
}

#[tokio::test]
async fn eventually_waits_for_a_condition_another_task_makes_true() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        for _ in 0..3 {
            tokio::task::yield_now().await;
            h.fetch_add(1, Ordering::SeqCst);
        }
    });
    eventually(|| hits.load(Ordering::SeqCst) == 3)
        .within(BOUND)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn eventually_reports_a_condition_that_never_holds() {
    let looks = AtomicU32::new(0);
    let err = eventually(|| {
        looks.fetch_add(1, Ordering::SeqCst);
        false
    })
    .every(Duration::from_millis(10))
    .within(Duration::from_millis(100))
    .await
    .unwrap_err();
    // On the paused clock the looks fall at virtual instants 0, 10, ..., 100 ms.
    assert_eq!(
        err,
        NotReached {
            bound: Duration::from_millis(100),
            looks: 11
        }
    );
    assert_eq!(looks.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn wait_handled_sees_the_nth_message_handled() {
    let node = node("stage_handled").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    let pid = counter.pid();
    assert_eq!(handled(&node, pid), Some(0));
    for _ in 0..500 {
        counter.bump().unwrap();
    }
    wait_handled(&node, pid, 500).within(BOUND).await.unwrap();
    assert_eq!(handled(&node, pid), Some(500));
    assert_eq!(counter.add(0).await, Ok(500), "all 500 casts were handled");
    assert_eq!(handled(&node, pid), Some(501));
    node.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn wait_handled_fails_for_a_count_never_reached_and_a_dead_process() {
    let node = node("stage_never").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    counter.bump().unwrap();
    let err = wait_handled(&node, counter.pid(), 2)
        .within(Duration::from_millis(50))
        .await;
    assert!(err.is_err(), "only one message was sent");
    wait_handled(&node, counter.pid(), 1)
        .within(BOUND)
        .await
        .unwrap();
    counter.exit(ergo::Reason::Kill);
    eventually(|| handled(&node, counter.pid()).is_none())
        .within(BOUND)
        .await
        .unwrap();
    assert!(wait_handled(&node, counter.pid(), 5)
        .within(BOUND)
        .await
        .is_err());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_cluster_of_three_nodes_reach_each_other() {
    let cluster = Cluster::start("stage_mesh", 3).await.unwrap();
    for (i, node) in cluster.iter().enumerate() {
        node.spawn_register("counter", Counter::default())
            .await
            .unwrap();
        assert_eq!(&*node.name().as_str(), format!("stage_mesh{i}@127.0.0.1"));
    }
    // Every node calls every other node's counter: each gets 2 calls of 1.
    for (i, from) in cluster.iter().enumerate() {
        for (j, to) in cluster.iter().enumerate() {
            if i == j {
                continue;
            }
            let remote: ActorRef<Counter> = from
                .lookup_remote("counter", &to.name().as_str())
                .await
                .unwrap();
            assert!(!remote.is_local());
            remote.add(1).timeout(BOUND).await.unwrap();
        }
    }
    for node in cluster.iter() {
        let local: ActorRef<Counter> = node.lookup("counter").unwrap();
        assert_eq!(local.add(0).await, Ok(2), "{}", node.name());
    }
    cluster.stop().await.unwrap();
}
