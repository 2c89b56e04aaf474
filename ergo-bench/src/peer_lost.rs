//! Losing a peer that holds many links and monitors: how long the core's
//! `connection_lost` takes to fire them all, and how long a call between two other
//! local processes takes meanwhile.

use std::time::{Duration, Instant};

use ergo::dev::Dist;
use ergo::{Atom, Node, Pid, Reason, Target};

const PEER: &str = "peer@127.0.0.1";
/// Monitors the peer's processes hold on local ones.
pub const PEER_MONITORS: u64 = 100_000;
/// Monitors held outside any process on the peer's processes.
pub const LOCAL_MONITORS: u64 = 100_000;
const TARGETS: usize = 100;

/// Returns (time `connection_lost` took, the slowest of the calls made meanwhile).
pub async fn run(node: &Node) -> (Duration, Duration) {
    let dist = Dist::new(node);
    dist.add_transport(std::sync::Arc::new(ergo_tests::CountingTransport::new(
        PEER,
    )));
    let peer = Atom::new(PEER);
    let mut targets = Vec::with_capacity(TARGETS);
    for _ in 0..TARGETS {
        targets.push(crate::stream::spawn_receiver(node).await);
    }
    for i in 0..PEER_MONITORS {
        let target = targets[i as usize % TARGETS].pid();
        let reference = dist.remote_ref(peer, 1, i);
        dist.accept_monitor(Target::Pid(target), Pid::new(peer, i, 1), reference);
    }
    let mut monitors = Vec::with_capacity(LOCAL_MONITORS as usize);
    for i in 0..LOCAL_MONITORS {
        monitors.push(node.monitor(Pid::new(peer, i, 1)).expect("monitor"));
    }
    let (a, _b) = (
        crate::stream::spawn_receiver(node).await,
        crate::stream::spawn_receiver(node).await,
    );
    let lost = {
        let dist = dist.clone();
        tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            dist.connection_lost(peer);
            start.elapsed()
        })
    };
    let mut slowest = Duration::ZERO;
    while !lost.is_finished() {
        let start = Instant::now();
        a.request(()).await.expect("call answered");
        slowest = slowest.max(start.elapsed());
    }
    let took = lost.await.expect("connection_lost");
    for monitor in monitors {
        monitor.down().await;
    }
    for t in targets {
        t.exit(Reason::Kill);
    }
    (took, slowest)
}
