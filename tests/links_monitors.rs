//! Links, exit signals and monitors: a cascade across linked processes, a trap-exit
//! process that survives it, untrappable kills, exits from a parent, and monitors that
//! fire exactly once with the right reason (or never, once demonitored).

use ergo::{ActorRef, Down, Exit, LinkError, Node, Pid, Reason, Ref, Step, Target};
use ergo_tests::{ask, downs, exits, gate, guard, node, task, Cmd, Probe};
use tokio::sync::oneshot;

async fn spawn_probe(node: &Node, tag: &str) -> ActorRef<Probe> {
    node.spawn(Probe::new(tag)).await.unwrap()
}

async fn trapping_probe(node: &Node, tag: &str) -> ActorRef<Probe> {
    node.spawn(Probe::new(tag).trapping()).await.unwrap()
}

/// Links A–B–C and a trap-exit T to A; ends C with `end`; checks that A, B and C all
/// die with `expected` and that T survives with the exit from A.
async fn cascade(name: &str, end: Cmd, expected: Reason) {
    let node = node(name).await;
    let a = spawn_probe(&node, "a").await;
    let b = spawn_probe(&node, "b").await;
    let c = spawn_probe(&node, "c").await;
    let t = trapping_probe(&node, "t").await;
    node.link(a.pid(), b.pid()).unwrap();
    node.link(b.pid(), c.pid()).unwrap();
    // Linked from inside the trapping process.
    let a_pid = a.pid();
    ask(&t, move |_, ctx| ctx.link(a_pid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(node.process_info(b.pid()).unwrap().links.len(), 2);

    let monitors: Vec<_> = [&a, &b, &c]
        .iter()
        .map(|p| node.monitor(p.pid()).unwrap())
        .collect();
    let before = node.info().processes;
    c.send(end).unwrap();
    for (monitor, who) in monitors.into_iter().zip(["a", "b", "c"]) {
        let down = guard(&format!("{who}'s Down"), monitor.down()).await;
        assert_eq!(
            down.reason, expected,
            "{who} died with the cascade's reason"
        );
    }
    assert!(!a.is_alive() && !b.is_alive() && !c.is_alive());
    assert_eq!(node.info().processes, before - 3);

    // A queued T's exit signal before its own Down was delivered: the call sees it.
    assert_eq!(
        exits(&t).await,
        vec![Exit {
            from: a.pid(),
            reason: expected
        }]
    );
    assert!(t.is_alive());
    assert_eq!(node.process_info(t.pid()).unwrap().links, Vec::<Pid>::new());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_link_cascade_carries_the_error_and_a_trapping_process_survives() {
    let reason = Reason::error("bang");
    cascade("cascade_err", Cmd::Stop(reason.clone()), reason).await;
}

#[tokio::test]
async fn a_link_cascade_carries_the_panic_and_a_trapping_process_survives() {
    cascade(
        "cascade_panic",
        Cmd::Panic("kaboom".into()),
        Reason::Panic("kaboom".into()),
    )
    .await;
}

#[tokio::test]
async fn a_normal_exit_does_not_cascade() {
    let node = node("normal_exit").await;
    let a = spawn_probe(&node, "a").await;
    let b = spawn_probe(&node, "b").await;
    let t = trapping_probe(&node, "t").await;
    node.link(a.pid(), b.pid()).unwrap();
    node.link(t.pid(), b.pid()).unwrap();
    let monitor = node.monitor(b.pid()).unwrap();
    b.send(Cmd::Stop(Reason::Normal)).unwrap();
    assert_eq!(
        guard("b's Down", monitor.down()).await.reason,
        Reason::Normal
    );
    // The non-trapping process ignored the normal exit; the trapping one saw it.
    a.send(1u64).unwrap();
    assert_eq!(ergo_tests::seen(&a).await, vec![1]);
    assert_eq!(node.process_info(a.pid()).unwrap().links, Vec::<Pid>::new());
    assert_eq!(
        exits(&t).await,
        vec![Exit {
            from: b.pid(),
            reason: Reason::Normal
        }]
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn an_unlinked_process_is_not_taken_down() {
    let node = node("unlink").await;
    let a = spawn_probe(&node, "a").await;
    let b = spawn_probe(&node, "b").await;
    node.link(a.pid(), b.pid()).unwrap();
    let b_pid = b.pid();
    ask(&a, move |_, ctx| ctx.unlink(b_pid)).await.unwrap();
    assert!(node.process_info(a.pid()).unwrap().links.is_empty());
    assert!(node.process_info(b.pid()).unwrap().links.is_empty());
    let monitor = node.monitor(b.pid()).unwrap();
    b.send(Cmd::Stop(Reason::error("alone"))).unwrap();
    guard("b's Down", monitor.down()).await;
    assert!(ergo_tests::seen(&a).await.is_empty());
    assert!(a.is_alive());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn linking_to_a_dead_process_sends_no_process() {
    let node = node("link_dead").await;
    let dead = spawn_probe(&node, "dead").await;
    let monitor = node.monitor(dead.pid()).unwrap();
    dead.send(Cmd::Stop(Reason::Normal)).unwrap();
    guard("the Down", monitor.down()).await;

    let t = trapping_probe(&node, "t").await;
    let dead_pid = dead.pid();
    ask(&t, move |_, ctx| ctx.link(dead_pid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        exits(&t).await,
        vec![Exit {
            from: dead.pid(),
            reason: Reason::NoProcess
        }]
    );

    let p = spawn_probe(&node, "p").await;
    let monitor = node.monitor(p.pid()).unwrap();
    node.link(p.pid(), dead.pid()).unwrap();
    assert_eq!(
        guard("p's Down", monitor.down()).await.reason,
        Reason::NoProcess
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn exit_signals_kill_unless_trapped_and_kill_cannot_be_trapped() {
    let node = node("send_exit").await;
    let plain = spawn_probe(&node, "plain").await;
    let trap = trapping_probe(&node, "trap").await;
    let linked = trapping_probe(&node, "linked").await;
    node.link(linked.pid(), trap.pid()).unwrap();

    // Normal is ignored by a process that does not trap.
    assert!(node.send_exit(plain.pid(), Reason::Normal));
    plain.send(1u64).unwrap();
    assert_eq!(ergo_tests::seen(&plain).await, vec![1]);

    // Any other reason ends it.
    let monitor = node.monitor(plain.pid()).unwrap();
    assert!(node.send_exit(plain.pid(), Reason::error("go away")));
    assert_eq!(
        guard("the Down", monitor.down()).await.reason,
        Reason::error("go away")
    );
    assert!(
        !node.send_exit(plain.pid(), Reason::error("again")),
        "dead target"
    );

    // A trapping process gets it as a message, from the sender.
    let trap_pid = trap.pid();
    let sender = spawn_probe(&node, "sender").await;
    let sender_pid = sender.pid();
    ask(&sender, move |_, ctx| {
        ctx.send_exit(trap_pid, Reason::error("from sender"))
    })
    .await
    .unwrap();
    let got = exits(&trap).await;
    assert_eq!(
        got,
        vec![Exit {
            from: sender_pid,
            reason: Reason::error("from sender")
        }]
    );

    // Kill is not trappable; the trapping process linked to it sees Kill as an exit.
    let monitor = node.monitor(trap.pid()).unwrap();
    assert!(node.kill(trap.pid()));
    assert_eq!(guard("the Down", monitor.down()).await.reason, Reason::Kill);
    assert_eq!(
        exits(&linked).await,
        vec![Exit {
            from: trap.pid(),
            reason: Reason::Kill
        }]
    );
    assert!(linked.is_alive());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn an_exit_from_the_parent_ends_a_trapping_child() {
    let node = node("parent_exit").await;
    let parent = spawn_probe(&node, "parent").await;
    let (tx, rx) = oneshot::channel();
    parent
        .send(task(move |_, _| {
            Step::run_async(move |p: Probe, ctx| async move {
                let child = ctx.spawn_link(Probe::new("child").trapping()).await;
                let _ = tx.send(child.expect("child spawns"));
                (p, ctx)
            })
        }))
        .unwrap();
    let child = guard("the child", rx).await.unwrap();
    let info = node.process_info(child.pid()).unwrap();
    assert_eq!(info.parent, Some(parent.pid()));
    assert_eq!(info.links, vec![parent.pid()]);
    assert!(info.trap_exit);

    let monitor = node.monitor(child.pid()).unwrap();
    parent
        .send(Cmd::Stop(Reason::error("parent failed")))
        .unwrap();
    let down = guard("the child's Down", monitor.down()).await;
    assert_eq!(down.reason, Reason::error("parent failed"));
    node.stop().await.unwrap();
}

// ---- monitors ----

/// Has `watcher` monitor `target`, ends the target with `end`, and returns every `Down`
/// the watcher got, read by a call after the target's death is known.
async fn downs_after(
    node: &Node,
    watcher: &ActorRef<Probe>,
    target: Pid,
    end: impl FnOnce(),
) -> (Ref, Vec<Down>) {
    let reference = ask(watcher, move |_, ctx| ctx.monitor(target))
        .await
        .unwrap()
        .unwrap();
    assert!(node
        .process_info(watcher.pid())
        .unwrap()
        .monitors
        .contains(&(reference, target)));
    // Taken after the watcher's: its Down is delivered after the watcher's is queued.
    let node_monitor = node.monitor(target).unwrap();
    end();
    guard("the target's Down", node_monitor.down()).await;
    // A call in the main queue runs after the Down queued in the system queue.
    let got = downs(watcher).await;
    // Another round trip: nothing else arrived meanwhile.
    assert_eq!(downs(watcher).await, got);
    (reference, got)
}

fn one_down(reference: Ref, target: Pid, reason: Reason) -> Vec<Down> {
    vec![Down {
        monitor: reference,
        pid: target,
        name: None,
        reason,
    }]
}

#[tokio::test]
async fn a_monitor_fires_exactly_once_on_a_normal_stop() {
    let node = node("mon_normal").await;
    let w = spawn_probe(&node, "w").await;
    let t = spawn_probe(&node, "t").await;
    let (r, got) = downs_after(&node, &w, t.pid(), || {
        t.send(Cmd::Stop(Reason::Normal)).unwrap();
    })
    .await;
    assert_eq!(got, one_down(r, t.pid(), Reason::Normal));
    assert!(node.process_info(w.pid()).unwrap().monitors.is_empty());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_monitor_fires_exactly_once_on_a_panic() {
    let node = node("mon_panic").await;
    let w = spawn_probe(&node, "w").await;
    let t = spawn_probe(&node, "t").await;
    let (r, got) = downs_after(&node, &w, t.pid(), || {
        t.send(Cmd::Panic("monitored panic".into())).unwrap();
    })
    .await;
    assert_eq!(
        got,
        one_down(r, t.pid(), Reason::Panic("monitored panic".into()))
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_monitor_fires_exactly_once_on_a_kill() {
    let node = node("mon_kill").await;
    let w = spawn_probe(&node, "w").await;
    let t = node.spawn(Probe::new("t").trapping()).await.unwrap();
    let (r, got) = downs_after(&node, &w, t.pid(), || {
        assert!(node.kill(t.pid()));
    })
    .await;
    assert_eq!(got, one_down(r, t.pid(), Reason::Kill));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_monitor_of_a_dead_target_fires_once_with_no_process() {
    let node = node("mon_dead").await;
    let w = spawn_probe(&node, "w").await;
    let t = spawn_probe(&node, "t").await;
    let m = node.monitor(t.pid()).unwrap();
    t.send(Cmd::Stop(Reason::Normal)).unwrap();
    guard("the Down", m.down()).await;

    let target = t.pid();
    let r = ask(&w, move |_, ctx| ctx.monitor(target))
        .await
        .unwrap()
        .unwrap();
    let got = downs(&w).await;
    assert_eq!(got, one_down(r, target, Reason::NoProcess));
    assert_eq!(downs(&w).await, got, "exactly once");

    // From outside any process, too.
    let down = guard("the Down", node.monitor(target).unwrap().down()).await;
    assert_eq!(down.reason, Reason::NoProcess);
    assert_eq!(down.pid, target);

    // By a name nobody has.
    let r = ask(&w, |_, ctx| ctx.monitor("nobody"))
        .await
        .unwrap()
        .unwrap();
    let got = downs(&w).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].monitor, r);
    assert_eq!(got[1].reason, Reason::NoProcess);
    assert_eq!(got[1].name, Some("nobody".into()));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn two_monitors_on_one_target_give_two_downs() {
    let node = node("mon_two").await;
    let w = spawn_probe(&node, "w").await;
    let t = node.spawn_register("twice", Probe::new("t")).await.unwrap();
    let target = t.pid();
    let by_pid = ask(&w, move |_, ctx| ctx.monitor(target))
        .await
        .unwrap()
        .unwrap();
    let by_name = ask(&w, |_, ctx| ctx.monitor(Target::from("twice")))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(by_pid, by_name);
    assert_eq!(node.process_info(target).unwrap().monitored_by.len(), 2);
    t.send(Cmd::Stop(Reason::Shutdown)).unwrap();
    // Monitors of different watchers fire in no particular order: wait for both.
    let mut got = guard("both Downs", async {
        loop {
            let got = downs(&w).await;
            if got.len() >= 2 {
                break got;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    got.sort_by_key(|d| d.name.is_some());
    assert_eq!(
        got,
        vec![
            Down {
                monitor: by_pid,
                pid: target,
                name: None,
                reason: Reason::Shutdown
            },
            Down {
                monitor: by_name,
                pid: target,
                name: Some("twice".into()),
                reason: Reason::Shutdown
            },
        ]
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_demonitored_target_sends_no_down() {
    let node = node("demonitor").await;
    let w = spawn_probe(&node, "w").await;
    let t = spawn_probe(&node, "t").await;
    let target = t.pid();
    let r = ask(&w, move |_, ctx| ctx.monitor(target))
        .await
        .unwrap()
        .unwrap();
    assert!(ask(&w, move |_, ctx| ctx.demonitor(r)).await.unwrap());
    assert!(
        !ask(&w, move |_, ctx| ctx.demonitor(r)).await.unwrap(),
        "already gone"
    );
    assert!(node.process_info(target).unwrap().monitored_by.is_empty());
    let m = node.monitor(target).unwrap();
    t.send(Cmd::Stop(Reason::error("unwatched"))).unwrap();
    guard("the Down", m.down()).await;
    assert_eq!(downs(&w).await, vec![]);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn demonitor_drops_a_down_already_queued() {
    let node = node("demonitor_queued").await;
    let w = spawn_probe(&node, "w").await;
    let t = spawn_probe(&node, "t").await;
    let target = t.pid();
    let r = ask(&w, move |_, ctx| ctx.monitor(target))
        .await
        .unwrap()
        .unwrap();

    // The watcher blocks, then demonitors in the same handler once released.
    let (mut key, gate) = gate();
    let (done_tx, done) = oneshot::channel();
    w.send(task(move |_, _| {
        Step::run_async(move |p: Probe, ctx| async move {
            gate.pass().await;
            let _ = done_tx.send(ctx.demonitor(r));
            (p, ctx)
        })
    }))
    .unwrap();
    key.entered().await;
    let m = node.monitor(target).unwrap();
    t.send(Cmd::Stop(Reason::error("while blocked"))).unwrap();
    guard("the Down", m.down()).await;
    // The watcher's Down is in its queue now; the demonitor comes first.
    assert_eq!(node.process_info(w.pid()).unwrap().queue_lengths[1], 1);
    key.open();
    let _ = guard("the demonitor", done).await.unwrap();
    assert_eq!(
        downs(&w).await,
        vec![],
        "a demonitored Down is never handled"
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn dropping_a_node_monitor_demonitors() {
    let node = node("drop_monitor").await;
    let t = spawn_probe(&node, "t").await;
    let m = node.monitor(t.pid()).unwrap();
    assert_eq!(
        node.process_info(t.pid()).unwrap().monitored_by,
        vec![m.reference()]
    );
    drop(m);
    assert!(node.process_info(t.pid()).unwrap().monitored_by.is_empty());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn remote_pids_and_unknown_names_are_rejected() {
    let node = node("link_errors").await;
    let t = spawn_probe(&node, "t").await;
    let remote = Pid::new("elsewhere@127.0.0.1".into(), 1, 1);
    assert_eq!(node.link(t.pid(), remote), Err(LinkError::Remote(remote)));
    assert!(matches!(node.monitor(remote), Err(LinkError::Remote(_))));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn monitors_and_links_racing_a_death_fire_exactly_once() {
    const ROUNDS: usize = 500;
    let node = node("races").await;
    let w = node.spawn(Probe::new("w").trapping()).await.unwrap();
    let mut refs = Vec::with_capacity(ROUNDS);
    let mut targets = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        let t = spawn_probe(&node, "t").await;
        let target = t.pid();
        let node_monitor = node.monitor(target).unwrap();
        // The target stops on one scheduler thread while the watcher monitors and links
        // to it on another: either before or after its death, never both, never neither.
        t.send(Cmd::Stop(Reason::error("raced"))).unwrap();
        if i % 2 == 1 {
            tokio::task::yield_now().await;
        }
        let r = ask(&w, move |_, ctx| {
            let r = ctx.monitor(target);
            ctx.link(target).map(|()| r)
        })
        .await
        .unwrap()
        .unwrap()
        .unwrap();
        guard("the target's Down", node_monitor.down()).await;
        refs.push(r);
        targets.push(target);
    }
    // One call, one Down and one exit signal per round: wait until the watcher took
    // them all (a lost one hangs here; a duplicate shows up in the counts below).
    ergo_tests::eventually("every Down and exit arriving", || {
        node.process_info(w.pid()).unwrap().messages_in >= 3 * ROUNDS as u64
    })
    .await;
    let got = downs(&w).await;
    let got_exits = exits(&w).await;
    for (r, t) in refs.iter().zip(&targets) {
        let n = got.iter().filter(|d| d.monitor == *r).count();
        assert_eq!(n, 1, "Downs for {t}");
        let down = got.iter().find(|d| d.monitor == *r).unwrap();
        assert!(
            down.reason == Reason::error("raced") || down.reason == Reason::NoProcess,
            "{down:?}"
        );
        let e: Vec<_> = got_exits.iter().filter(|e| e.from == *t).collect();
        assert_eq!(e.len(), 1, "exit signals from {t}: {e:?}");
        assert!(
            e[0].reason == Reason::error("raced") || e[0].reason == Reason::NoProcess,
            "{e:?}"
        );
    }
    assert_eq!(got.len(), ROUNDS);
    assert_eq!(got_exits.len(), ROUNDS);
    let info = node.process_info(w.pid()).unwrap();
    assert!(info.links.is_empty() && info.monitors.is_empty());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn signals_are_never_refused_by_a_full_mailbox() {
    let node = node("signals_bypass").await;
    let w = node
        .spawn_with(
            Probe::new("w"),
            (),
            ergo::SpawnOptions::new().mailbox_limit(1),
        )
        .await
        .unwrap();
    let t = spawn_probe(&node, "t").await;
    let target = t.pid();
    let r = ask(&w, move |_, ctx| ctx.monitor(target))
        .await
        .unwrap()
        .unwrap();
    let mut key = ergo_tests::block(&w).await;
    // Fill every queue to its limit.
    for p in [
        ergo::Priority::Urgent,
        ergo::Priority::High,
        ergo::Priority::Normal,
        ergo::Priority::Low,
    ] {
        w.send_with_priority(1u64, p).unwrap();
        assert!(w.send_with_priority(2u64, p).is_err());
    }
    // A Down still gets in.
    let m = node.monitor(target).unwrap();
    t.send(Cmd::Stop(Reason::Normal)).unwrap();
    guard("t's Down", m.down()).await;
    // Monitors of different watchers fire in no particular order: wait for w's.
    ergo_tests::eventually("w's Down queued", || {
        node.process_info(w.pid()).unwrap().queue_lengths == [1, 2, 1, 1]
    })
    .await;
    key.open();
    ergo_tests::eventually("every queue drained", || {
        node.process_info(w.pid()).unwrap().queue_lengths == [0; 4]
    })
    .await;
    let got = downs(&w).await;
    assert_eq!(got, one_down(r, target, Reason::Normal));
    // And a kill gets in too.
    let mut key = ergo_tests::block(&w).await;
    w.send_with_priority(3u64, ergo::Priority::Urgent).unwrap();
    let m = node.monitor(w.pid()).unwrap();
    assert!(node.kill(w.pid()));
    key.open();
    assert_eq!(guard("w's Down", m.down()).await.reason, Reason::Kill);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_monitor_by_alias_fires() {
    let node = node("mon_alias").await;
    let t = spawn_probe(&node, "t").await;
    let alias = node.create_alias(t.pid()).unwrap();
    let m = node.monitor(alias).unwrap();
    t.send(Cmd::Stop(Reason::error("by alias"))).unwrap();
    let down = guard("the Down", m.down()).await;
    assert_eq!(down.pid, t.pid());
    assert_eq!(down.reason, Reason::error("by alias"));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn kill_sent_to_oneself_cannot_be_trapped() {
    // Erlang: exit(self(), kill) ends the caller unconditionally, trapping or not.
    let node = node("self_kill").await;
    let t = node.spawn(Probe::new("t").trapping()).await.unwrap();
    let m = node.monitor(t.pid()).unwrap();
    t.send(task(|_, ctx| {
        ctx.send_exit(ctx.pid(), Reason::Kill);
        Step::Continue
    }))
    .unwrap();
    // Had the kill been trapped, the process would live on and never send this Down.
    assert_eq!(guard("the Down", m.down()).await.reason, Reason::Kill);
    assert!(!t.is_alive());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn monitors_racing_the_death_of_a_bare_process_fire_exactly_once() {
    const ROUNDS: usize = 500;
    let node = node("races_bare").await;
    let w = spawn_probe(&node, "w").await;
    for _ in 0..ROUNDS {
        // No link, monitor, name or env: the target has no side structure yet.
        let t = node.spawn(ergo_tests::Recorder::default()).await.unwrap();
        let target = t.pid();
        t.exit(Reason::error("raced"));
        ask(&w, move |_, ctx| ctx.monitor(target))
            .await
            .unwrap()
            .unwrap();
    }
    // One call and one Down per round; a lost Down hangs here.
    ergo_tests::eventually("every Down arriving", || {
        node.process_info(w.pid()).unwrap().messages_in >= 2 * ROUNDS as u64
    })
    .await;
    let got = downs(&w).await;
    assert_eq!(got.len(), ROUNDS);
    assert!(node.process_info(w.pid()).unwrap().monitors.is_empty());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn exit_hooks_hear_of_the_processes_marked_for_them_once() {
    use std::sync::{Arc, Mutex};
    let node = node("lm_exit_hooks").await;
    let heard: Arc<Mutex<Vec<(Pid, Reason)>>> = Arc::default();
    let log = heard.clone();
    node.add_exit_hook(Arc::new(move |_node: &Node, pid, reason: &Reason| {
        log.lock().unwrap().push((pid, reason.clone()));
    }));
    let marked = spawn_probe(&node, "marked").await;
    let twice = spawn_probe(&node, "twice").await;
    let unmarked = spawn_probe(&node, "unmarked").await;
    assert!(node.watch_exit(marked.pid()));
    assert!(node.watch_exit(twice.pid()));
    assert!(node.watch_exit(twice.pid()), "marking again is harmless");
    node.kill(marked.pid());
    node.send_exit(twice.pid(), Reason::error("bye"));
    node.kill(unmarked.pid());
    for p in [&marked, &twice, &unmarked] {
        guard("down", node.monitor(p.pid()).unwrap().down()).await;
    }
    let mut seen = heard.lock().unwrap().clone();
    seen.sort_by_key(|(pid, _)| pid.id());
    assert_eq!(
        seen,
        vec![
            (marked.pid(), Reason::Kill),
            (twice.pid(), Reason::error("bye"))
        ]
    );
    // A process that is gone cannot be marked.
    assert!(!node.watch_exit(marked.pid()));
    node.stop().await.unwrap();
}
