//! Two ergo nodes that meet only over Erlang distribution (no native network): a typed
//! `ActorRef` crosses it like the native one — lookup with the type checked, calls,
//! sends in order, `NoProcess` for a dead pid, monitors firing once.

mod support;

use std::time::Duration;

use ergo::erlang::{Distribution, Options};
use ergo::prelude::*;
use ergo::{NetError, Reason};
use support::{unique, GUARD};

#[derive(Default)]
struct Tally {
    seen: Vec<u64>,
}

#[actor]
impl Tally {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.seen.push(n);
        self.seen.iter().sum()
    }

    #[handle_cast]
    fn record(&mut self, n: u64) {
        self.seen.push(n);
    }

    #[handle_call]
    fn seen(&mut self) -> Vec<u64> {
        self.seen.clone()
    }

    #[handle_cast]
    fn fail(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(Reason::error("asked to fail"));
    }
}

async fn ergo_node(alive: &str) -> (Node, Distribution) {
    support::ensure_ready();
    let node = Node::builder(&format!("{alive}@127.0.0.1"))
        .cookie("typed-erl")
        .start()
        .await
        .unwrap();
    let dist = Distribution::start(&node, Options::default())
        .await
        .unwrap();
    (node, dist)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_handles_cross_erlang_distribution_between_ergo_nodes() {
    let (a, dist_a) = ergo_node(&unique("typed_a")).await;
    let (b, dist_b) = ergo_node(&unique("typed_b")).await;
    let tally = b.spawn_register("tally", Tally::default()).await.unwrap();
    let b_name = b.name().as_str().to_string();
    tokio::time::timeout(GUARD, dist_a.connect(&b_name))
        .await
        .unwrap()
        .unwrap();

    let remote: ActorRef<Tally> = tokio::time::timeout(GUARD, a.lookup_remote("tally", &b_name))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(remote.pid(), tally.pid());
    let wrong = a.lookup_remote::<Wrong>("tally", &b_name).await;
    assert!(
        matches!(wrong, Err(NetError::WrongType { .. })),
        "{wrong:?}"
    );

    assert_eq!(remote.add(5).timeout(GUARD).await.unwrap(), 5);
    for i in 0..1_000 {
        remote.record(i).unwrap();
    }
    let seen = remote.seen().timeout(GUARD).await.unwrap();
    assert_eq!(seen[1..], (0..1_000).collect::<Vec<_>>()[..]);

    // A monitor through the same transport fires once with the exit reason; a call to
    // the dead pid says there is no such process.
    let monitor = a.monitor(tally.pid()).unwrap();
    remote.add(0).timeout(GUARD).await.unwrap();
    remote.fail().unwrap();
    let down = tokio::time::timeout(GUARD, monitor.down()).await.unwrap();
    assert_eq!(down.reason, Reason::error("asked to fail"));
    assert_eq!(
        remote.add(1).timeout(Duration::from_secs(30)).await,
        Err(CallError::NoProcess)
    );
    dist_a.stop();
    dist_b.stop();
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[derive(Default)]
struct Wrong;

#[actor]
impl Wrong {
    #[handle_call]
    fn nothing(&mut self) {}
}
