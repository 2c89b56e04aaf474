//! Health signals without processes: set up or down, and heartbeats on a hand-moved
//! clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ergo_observer::clock::ManualClock;
use ergo_observer::health::{Health, Probe, Signal};
use ergo_runtime::Node;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_and_heartbeats_decide_the_probes() {
    let node = Node::builder("health@127.0.0.1").start().await.unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    let health = Health::of(&node);
    health.set_clock(Arc::new(clock.clone()));
    // No signals: every probe passes.
    assert!(Probe::ALL.iter().all(|p| health.status(*p).up));

    health.register(
        &node,
        Signal::new("db", &[Probe::Ready, Probe::Live]).heartbeat(Duration::from_secs(10)),
    );
    health.register(&node, Signal::new("warmed", &[Probe::Startup]).down());
    assert!(!health.status(Probe::Startup).up);
    assert!(health.status(Probe::Ready).up);
    assert!(health.set("warmed", true));
    assert!(health.status(Probe::Startup).up);
    assert!(!health.set("unknown", true));

    // Silent for longer than its timeout: down, with the reason; a beat brings it back.
    clock.advance(Duration::from_secs(9));
    assert!(health.status(Probe::Live).up);
    clock.advance(Duration::from_secs(2));
    let live = health.status(Probe::Live);
    assert!(!live.up);
    assert!(live.signals[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("no heartbeat"));
    assert!(!health.status(Probe::Ready).up);
    assert!(
        health.status(Probe::Startup).up,
        "other probes are not affected"
    );
    assert!(health.beat("db"));
    assert!(health.status(Probe::Live).up);

    health.set("db", false);
    assert!(!health.status(Probe::Ready).up);
    assert!(health.unregister("db"));
    assert!(health.status(Probe::Ready).up);
    node.stop().await.unwrap();
}
