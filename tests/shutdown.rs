//! Graceful node shutdown: children stop before their parents, every process sees
//! `Shutdown`, and a stuck process makes `stop` return an error naming it once the
//! timeout passes instead of hanging.

use std::time::Duration;

use ergo::{ActorRef, NodeError, Reason, SpawnError, Step};
use ergo_tests::{gate, guard, node, task, Cmd, Journal, Probe};
use tokio::sync::oneshot;

/// Has `parent` spawn a child probe that journals into `journal`.
async fn spawn_child(parent: &ActorRef<Probe>, tag: &str, journal: &Journal) -> ActorRef<Probe> {
    let child = Probe::new(tag).journal(journal);
    let (tx, rx) = oneshot::channel();
    parent
        .send(task(move |_, _| {
            Step::run_async(move |p: Probe, ctx| async move {
                let _ = tx.send(ctx.spawn(child).await.expect("child spawns"));
                (p, ctx)
            })
        }))
        .unwrap();
    guard("the child spawning", rx).await.unwrap()
}

fn position(journal: &[String], line: &str) -> usize {
    journal
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line} missing from {journal:?}"))
}

#[tokio::test]
async fn shutdown_stops_children_before_parents() {
    let node = node("shutdown_order").await;
    let journal = Journal::default();
    let root = node
        .spawn(Probe::new("root").journal(&journal))
        .await
        .unwrap();
    let c1 = spawn_child(&root, "c1", &journal).await;
    let _c2 = spawn_child(&root, "c2", &journal).await;
    let _g1 = spawn_child(&c1, "g1", &journal).await;
    // Exit trapping does not shield from a shutdown.
    let trapping = Probe::new("g2").journal(&journal).trapping();
    let (tx, rx) = oneshot::channel();
    c1.send(task(move |_, _| {
        Step::run_async(move |p: Probe, ctx| async move {
            let _ = tx.send(ctx.spawn_link(trapping).await.expect("spawns"));
            (p, ctx)
        })
    }))
    .unwrap();
    let g2 = guard("g2 spawning", rx).await.unwrap();
    assert_eq!(node.process_info(g2.pid()).unwrap().parent, Some(c1.pid()));
    let _lone = node
        .spawn(Probe::new("lone").journal(&journal))
        .await
        .unwrap();
    assert_eq!(node.info().processes, 6);

    guard("the shutdown", node.stop()).await.unwrap();
    assert_eq!(node.info().processes, 0);
    let journal = journal.lock().unwrap().clone();
    assert_eq!(journal.len(), 6, "{journal:?}");
    assert!(
        journal.iter().all(|l| l.ends_with(":shutdown")),
        "{journal:?}"
    );
    let at = |tag: &str| position(&journal, &format!("{tag}:shutdown"));
    for grandchild in ["g1", "g2"] {
        assert!(at(grandchild) < at("c1"), "{journal:?}");
        assert!(at(grandchild) < at("root"), "{journal:?}");
    }
    for child in ["c1", "c2"] {
        assert!(at(child) < at("root"), "{journal:?}");
    }

    // A stopped node spawns nothing.
    let err = node.spawn(Probe::new("late")).await.unwrap_err();
    assert_eq!(err, SpawnError::NodeStopping);
}

#[tokio::test]
async fn shutdown_respects_its_timeout_with_a_stuck_process() {
    let node = node("shutdown_stuck").await;
    let journal = Journal::default();
    let fine = node
        .spawn(Probe::new("fine").journal(&journal))
        .await
        .unwrap();
    let stuck = node
        .spawn(Probe::new("stuck").journal(&journal))
        .await
        .unwrap();
    // A handler that waits for a gate nobody opens during the shutdown.
    let (mut key, g) = gate();
    stuck.send(Cmd::Block(g)).unwrap();
    key.entered().await;
    let fine_down = node.monitor(fine.pid()).unwrap();
    let stuck_down = node.monitor(stuck.pid()).unwrap();

    let timeout = Duration::from_millis(100);
    let result = guard("stop returning", node.stop_with_timeout(timeout)).await;
    match result {
        Err(NodeError::ShutdownTimeout {
            timeout: t,
            stuck: left,
        }) => {
            assert_eq!(t, timeout);
            assert!(left.contains(&stuck.pid()), "{left:?}");
            assert!(
                left.iter().all(|p| *p == stuck.pid() || *p == fine.pid()),
                "{left:?}"
            );
        }
        other => panic!("expected ShutdownTimeout, got {other:?}"),
    }
    // The others were stopped; the stuck one was left running.
    assert_eq!(
        guard("fine's Down", fine_down.down()).await.reason,
        Reason::Shutdown
    );
    assert!(stuck.is_alive());
    assert_eq!(node.processes(), vec![stuck.pid()]);
    assert!(matches!(
        node.spawn(Probe::new("late")).await,
        Err(SpawnError::NodeStopping)
    ));

    // Once its handler returns, the queued stop ends it.
    key.open();
    let down = guard("stuck's Down", stuck_down.down()).await;
    assert_eq!(down.reason, Reason::Shutdown);
    assert_eq!(node.info().processes, 0);
    let journal = journal.lock().unwrap().clone();
    assert_eq!(journal, vec!["fine:shutdown", "stuck:shutdown"]);
}
