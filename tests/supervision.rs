//! Supervision with real processes and real crashes (panics, error returns, kills):
//! every strategy × every restart policy, restart intensity with escalation two levels
//! up, significant children and auto-shutdown, simple-one-for-one arguments, shutdown
//! order and timeout, the run-time operations, typed children of `supervisor!`, and a
//! chaos test. No test depends on timing: waits are for `Down`s, replies and events.

use std::sync::Arc;
use std::time::Duration;

use ergo::prelude::*;
use ergo::supervisor::{AutoShutdown, ChildInfo, ChildKind, Shutdown};
use ergo::SpawnError;
use ergo_tests::{eventually, guard, node};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

/// What workers report, in the order it happens.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Started(String, Pid),
    Stopped(String, Reason),
    Hanging(String),
}

type Events = UnboundedSender<Ev>;

/// A worker that reports its start and end, and crashes, fails, quits or hangs on
/// request.
struct Worker {
    tag: String,
    events: Events,
    release: Arc<Notify>,
    arg: u64,
}

#[actor]
impl Worker {
    #[init]
    fn init(&mut self, ctx: &mut Context<Self>) {
        let _ = self.events.send(Ev::Started(self.tag.clone(), ctx.pid()));
    }

    #[handle_cast]
    fn crash(&mut self) {
        panic!("worker crashed");
    }

    #[handle_cast]
    fn fail(&mut self) -> Result<(), String> {
        Err("worker failed".into())
    }

    #[handle_cast]
    fn quit(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(Reason::Normal);
    }

    #[handle_cast]
    async fn hang(&mut self) {
        let _ = self.events.send(Ev::Hanging(self.tag.clone()));
        self.release.notified().await;
    }

    #[handle_call]
    fn arg(&mut self) -> u64 {
        self.arg
    }

    #[terminate]
    fn terminate(&mut self, reason: &Reason) {
        let _ = self
            .events
            .send(Ev::Stopped(self.tag.clone(), reason.clone()));
    }
}

/// A simple-one-for-one instance: its init argument is a number.
struct Numbered {
    events: Events,
    n: u64,
}

#[actor]
impl Numbered {
    #[init]
    fn init(&mut self, ctx: &mut Context<Self>, n: u64) {
        self.n = n;
        let _ = self.events.send(Ev::Started(format!("n{n}"), ctx.pid()));
    }

    #[handle_call]
    fn n(&mut self) -> u64 {
        self.n
    }

    #[handle_cast]
    fn crash(&mut self) {
        panic!("numbered crashed");
    }

    #[handle_cast]
    fn quit(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(Reason::Normal);
    }
}

/// An actor whose init takes a string (asked of a supervisor of `Numbered`s).
#[derive(Default)]
struct Stringly;

#[actor]
impl Stringly {
    #[init]
    fn init(&mut self, _name: String) {}
}

/// An actor whose init takes a number too, but is not a `Numbered`.
#[derive(Default)]
struct SameArgs;

#[actor]
impl SameArgs {
    #[init]
    fn init(&mut self, _n: u64) {}
}

fn worker(tag: &str, events: &Events) -> ChildSpec {
    let id = ergo::Atom::new(tag);
    let (tag, events) = (tag.to_owned(), events.clone());
    ChildSpec::new(id, move || {
        let w = Worker {
            tag: tag.clone(),
            events: events.clone(),
            release: Arc::new(Notify::new()),
            arg: 0,
        };
        (w, ())
    })
    .registered()
}

fn channel() -> (Events, UnboundedReceiver<Ev>) {
    unbounded_channel()
}

async fn next(rx: &mut UnboundedReceiver<Ev>) -> Ev {
    guard("a worker event", rx.recv())
        .await
        .expect("events open")
}

/// Skips events until one matches.
async fn until(rx: &mut UnboundedReceiver<Ev>, want: impl Fn(&Ev) -> bool) -> Ev {
    loop {
        let ev = next(rx).await;
        if want(&ev) {
            return ev;
        }
    }
}

fn pids(children: &[ChildInfo]) -> Vec<Option<Pid>> {
    children.iter().map(|c| c.pid).collect()
}

/// How a child is made to end.
#[derive(Clone, Copy, Debug)]
enum End {
    Panic,
    ErrorReturn,
    Normal,
}

impl End {
    fn apply(self, w: &ActorRef<Worker>) {
        match self {
            End::Panic => w.crash().unwrap(),
            End::ErrorReturn => w.fail().unwrap(),
            End::Normal => w.quit().unwrap(),
        }
    }
    fn is_failure(self) -> bool {
        !matches!(self, End::Normal)
    }
}

/// Three children a, b, c; b has `policy`; b ends with `end`. Checks who is
/// restarted (and who is stopped first) for `strategy`.
async fn strategy_case(strategy: Strategy, policy: Restart, end: End) {
    let node = node("sup_matrix").await;
    let (tx, mut rx) = channel();
    let spec = SupervisorSpec::new(strategy)
        .intensity(100, Duration::from_secs(3600))
        .child(worker("a", &tx))
        .child(worker("b", &tx).restart(policy))
        .child(worker("c", &tx));
    let sup = node.spawn(Supervisor::new(spec)).await.unwrap();
    while rx.try_recv().is_ok() {} // the first starts
    let before = pids(&sup.which_children().await.unwrap());
    let b: ActorRef<Worker> = sup.child("b").await.unwrap();
    let down = node.monitor(b.pid()).unwrap();
    end.apply(&b);
    guard("b's Down", down.down()).await;
    // The exit reached the supervisor before the Down reached us; this call is
    // handled after the strategy has run.
    let after = sup.which_children().await.unwrap();
    let restarted = match policy {
        Restart::Permanent => true,
        Restart::Transient => end.is_failure(),
        Restart::Temporary => false,
    };
    let case = format!("{strategy:?} × {policy:?} × {end:?}");
    if !restarted {
        let ids: Vec<String> = after.iter().map(|c| c.id.to_string()).collect();
        if policy == Restart::Temporary {
            assert_eq!(ids, ["a", "c"], "{case}: a temporary child is removed");
            assert_eq!(pids(&after), vec![before[0], before[2]], "{case}");
        } else {
            assert_eq!(pids(&after), vec![before[0], None, before[2]], "{case}");
        }
        assert!(node.whereis("b").is_none(), "{case}");
    } else {
        let same = |i: usize| after[i].pid == before[i];
        let (a_same, c_same) = match strategy {
            Strategy::OneForOne => (true, true),
            Strategy::AllForOne => (false, false),
            Strategy::RestForOne => (true, false),
            Strategy::SimpleOneForOne => unreachable!(),
        };
        assert_eq!((same(0), same(2)), (a_same, c_same), "{case}: siblings");
        assert!(after[1].pid.is_some() && !same(1), "{case}: b restarted");
        assert_eq!(node.whereis("b"), after[1].pid, "{case}: the name moved");
        // Siblings were stopped last-started first, with Shutdown, before restarts.
        let mut stopped = Vec::new();
        let mut started = Vec::new();
        while started.len() < 3 - usize::from(a_same) - usize::from(c_same) {
            match next(&mut rx).await {
                Ev::Stopped(tag, reason) if tag != "b" => {
                    assert_eq!(reason, Reason::Shutdown, "{case}");
                    assert!(started.is_empty(), "{case}: no restart before the stops");
                    stopped.push(tag);
                }
                Ev::Started(tag, pid) if after.iter().any(|c| c.pid == Some(pid)) => {
                    started.push(tag)
                }
                _ => {}
            }
        }
        let expect_stopped: Vec<&str> = match strategy {
            Strategy::AllForOne => vec!["c", "a"],
            Strategy::RestForOne => vec!["c"],
            _ => vec![],
        };
        assert_eq!(stopped, expect_stopped, "{case}: stop order");
        let expect_started: Vec<&str> = match strategy {
            Strategy::AllForOne => vec!["a", "b", "c"],
            Strategy::RestForOne => vec!["b", "c"],
            _ => vec!["b"],
        };
        assert_eq!(started, expect_started, "{case}: restart order");
    }
    assert!(sup.is_alive(), "{case}");
    sup.stop().await.unwrap();
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_strategy_by_every_policy() {
    for strategy in [
        Strategy::OneForOne,
        Strategy::AllForOne,
        Strategy::RestForOne,
    ] {
        for policy in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
            for end in [End::Panic, End::ErrorReturn, End::Normal] {
                strategy_case(strategy, policy, end).await;
            }
        }
    }
}

fn numbered(events: &Events, policy: Restart) -> ChildSpec {
    let events = events.clone();
    ChildSpec::with_args("numbered", move || Numbered {
        events: events.clone(),
        n: 0,
    })
    .restart(policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_one_for_one_restarts_with_the_same_arguments() {
    let node = node("sofo").await;
    let (tx, mut rx) = channel();
    for policy in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
        let spec = SupervisorSpec::new(Strategy::SimpleOneForOne).child(numbered(&tx, policy));
        let sup = node.spawn(Supervisor::new(spec)).await.unwrap();
        while rx.try_recv().is_ok() {} // the previous round's
        assert!(
            sup.which_children().await.unwrap().is_empty(),
            "starts empty"
        );
        let mut instances = Vec::new();
        for n in [1u64, 2, 3] {
            instances.push(sup.start_child_with::<Numbered>(n).await.unwrap());
            until(&mut rx, |e| matches!(e, Ev::Started(..))).await;
        }
        // Arguments of another actor's type (a compile error with the right one).
        assert_eq!(
            sup.start_child_with::<Stringly>("wrong".to_string()).await,
            Err(SupervisorError::BadArgs {
                id: "numbered".into(),
                expected: "u64"
            })
        );
        // The right argument type but another actor: refused, nothing left running.
        let before = sup.which_children().await.unwrap().len();
        assert!(matches!(
            sup.start_child_with::<SameArgs>(9).await,
            Err(SupervisorError::WrongType { .. })
        ));
        assert_eq!(sup.which_children().await.unwrap().len(), before);
        until(&mut rx, |e| matches!(e, Ev::Started(n, _) if n == "n9")).await;
        let down = node.monitor(instances[1].pid()).unwrap();
        instances[1].crash().unwrap();
        guard("instance 2's Down", down.down()).await;
        let children = sup.which_children().await.unwrap();
        if policy == Restart::Temporary {
            assert_eq!(children.len(), 2, "{policy:?}: dropped");
        } else {
            assert_eq!(children.len(), 3, "{policy:?}");
            let restarted = children
                .iter()
                .filter_map(|c| c.pid)
                .find(|p| instances.iter().all(|i| i.pid() != *p))
                .expect("a new instance");
            let again = node.actor_ref::<Numbered>(restarted).unwrap();
            assert_eq!(again.n().await.unwrap(), 2, "{policy:?}: same arguments");
            assert_eq!(
                until(&mut rx, |e| matches!(e, Ev::Started(..))).await,
                Ev::Started("n2".into(), restarted)
            );
        }
        // A normal exit: only permanent instances come back.
        let down = node.monitor(instances[0].pid()).unwrap();
        instances[0].quit().unwrap();
        guard("instance 1's Down", down.down()).await;
        let count = sup.count_children().await.unwrap();
        let expected = match policy {
            Restart::Permanent => 3,
            Restart::Transient => 2,
            Restart::Temporary => 1,
        };
        assert_eq!(count.active, expected, "{policy:?}");
        // Terminating an instance by pid removes it.
        let last = instances[2].pid();
        sup.terminate_child(last).await.unwrap();
        assert!(!instances[2].is_alive());
        assert_eq!(sup.count_children().await.unwrap().active, expected - 1);
        sup.stop().await.unwrap();
    }
    node.stop().await.unwrap();
}

fn sup_spec(id: &str, spec: SupervisorSpec) -> ChildSpec {
    ChildSpec::new(id, move || (Supervisor::new(spec.clone()), ())).registered()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intensity_exceeded_escalates_two_levels_up() {
    let node = node("escalation").await;
    let (tx, mut rx) = channel();
    let hour = Duration::from_secs(3600);
    let bottom = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1, hour)
        .child(worker("w", &tx));
    let mid = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1, hour)
        .child(sup_spec("bottom", bottom));
    let top = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1, hour)
        .child(sup_spec("mid", mid));
    let top = node.spawn(Supervisor::new(top)).await.unwrap();
    assert_eq!(
        top.which_children().await.unwrap()[0].kind,
        ChildKind::Supervisor
    );
    let top_down = node.monitor(top.pid()).unwrap();
    until(&mut rx, |e| matches!(e, Ev::Started(..))).await;
    let mut bottom_exits = 0;
    let mut mid_exits = 0;
    // Each bottom gives up at its 2nd restart, each mid at its 2nd, the top at its
    // 2nd: 8 crashes of the worker take the whole tree down.
    for round in 1..=8 {
        let w: ActorRef<Worker> = node.lookup("w").expect("w is running");
        let bottom = node.whereis("bottom").unwrap();
        let mid = node.whereis("mid").unwrap();
        let (bd, md) = (node.monitor(bottom).unwrap(), node.monitor(mid).unwrap());
        w.crash().unwrap();
        if round < 8 {
            until(&mut rx, |e| matches!(e, Ev::Started(..))).await;
        }
        let mut bd = bd;
        let mut md = md;
        if let Some(down) = bd.try_down() {
            assert_eq!(down.reason, Reason::MaxRestartIntensity);
            bottom_exits += 1;
        }
        if let Some(down) = md.try_down() {
            assert_eq!(down.reason, Reason::MaxRestartIntensity);
            mid_exits += 1;
        }
    }
    let down = guard("the top supervisor's Down", top_down.down()).await;
    assert_eq!(down.reason, Reason::MaxRestartIntensity);
    assert!(
        bottom_exits >= 3 && mid_exits >= 1,
        "{bottom_exits} {mid_exits}"
    );
    assert!(node.whereis("w").is_none() && node.whereis("mid").is_none());
    eventually("the tree is gone", || node.processes().is_empty()).await;
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_that_gives_up_exits_with_a_typed_shutdown() {
    let node = node("give_up").await;
    let (tx, mut rx) = channel();
    // The bottom supervisor gives up at the first restart; it is a transient child of
    // the top one, which (as in OTP, where it exits with `shutdown`) does not restart it.
    let bottom = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(0, Duration::from_secs(3600))
        .child(worker("w", &tx));
    let top = SupervisorSpec::new(Strategy::OneForOne)
        .child(sup_spec("bottom", bottom).restart(Restart::Transient));
    let top = node.spawn(Supervisor::new(top)).await.unwrap();
    until(&mut rx, |e| matches!(e, Ev::Started(..))).await;
    let bottom = node.monitor(node.whereis("bottom").unwrap()).unwrap();
    let w: ActorRef<Worker> = node.lookup("w").unwrap();
    w.crash().unwrap();
    let down = guard("the bottom supervisor's Down", bottom.down()).await;
    assert_eq!(down.reason, Reason::MaxRestartIntensity);
    assert!(!down.reason.is_failure());
    assert_eq!(
        down.reason.to_string(),
        "shutdown: reached max restart intensity"
    );
    // Not restarted, and the top supervisor lives on.
    let children = top.which_children().await.unwrap();
    assert_eq!(pids(&children), [None]);
    assert_eq!(top.count_children().await.unwrap().restarts, 0);
    assert!(node.whereis("w").is_none());
    top.stop().await.unwrap();
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn significant_children_and_auto_shutdown() {
    let node = node("significant").await;
    let (tx, mut rx) = channel();
    // any_significant: one significant transient child ending normally stops it all.
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .auto_shutdown(AutoShutdown::AnySignificant)
        .child(worker("a", &tx))
        .child(
            worker("s", &tx)
                .restart(Restart::Transient)
                .significant(true),
        );
    let sup = node.spawn(Supervisor::new(spec)).await.unwrap();
    let down = node.monitor(sup.pid()).unwrap();
    let s: ActorRef<Worker> = node.lookup("s").unwrap();
    // A failure of a transient significant child is a restart, not a shutdown.
    let s_down = node.monitor(s.pid()).unwrap();
    s.crash().unwrap();
    guard("s's Down", s_down.down()).await;
    assert!(sup.is_alive());
    let s: ActorRef<Worker> = sup.child("s").await.unwrap();
    s.quit().unwrap();
    assert_eq!(
        guard("auto-shutdown", down.down()).await.reason,
        Reason::Shutdown
    );
    until(&mut rx, |e| *e == Ev::Stopped("a".into(), Reason::Shutdown)).await;

    // all_significant: only when the last significant child has ended.
    let spec = SupervisorSpec::new(Strategy::RestForOne)
        .auto_shutdown(AutoShutdown::AllSignificant)
        .child(
            worker("t1", &tx)
                .restart(Restart::Temporary)
                .significant(true),
        )
        .child(
            worker("t2", &tx)
                .restart(Restart::Temporary)
                .significant(true),
        );
    let sup = node.spawn(Supervisor::new(spec)).await.unwrap();
    let down = node.monitor(sup.pid()).unwrap();
    let t1: ActorRef<Worker> = node.lookup("t1").unwrap();
    let t1_down = node.monitor(t1.pid()).unwrap();
    t1.crash().unwrap();
    guard("t1's Down", t1_down.down()).await;
    assert_eq!(sup.count_children().await.unwrap().specs, 1);
    let t2: ActorRef<Worker> = node.lookup("t2").unwrap();
    t2.quit().unwrap();
    assert_eq!(
        guard("auto-shutdown", down.down()).await.reason,
        Reason::Shutdown
    );

    // A significant permanent child is rejected.
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(worker("p", &tx).significant(true));
    match node.spawn(Supervisor::new(spec)).await {
        Err(SpawnError::Init(Reason::Error(msg))) => assert!(msg.contains("significant")),
        other => panic!("{other:?}"),
    }
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_stop_in_reverse_order_and_a_stuck_one_is_killed() {
    let node = node("shutdown_order").await;
    let (tx, mut rx) = channel();
    let release = Arc::new(Notify::new());
    let stuck = {
        let (events, release) = (tx.clone(), release.clone());
        ChildSpec::new("b", move || {
            let w = Worker {
                tag: "b".into(),
                events: events.clone(),
                release: release.clone(),
                arg: 0,
            };
            (w, ())
        })
        .registered()
        .shutdown(Shutdown::Timeout(Duration::from_millis(20)))
    };
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("a", &tx))
        .child(stuck)
        .child(worker("c", &tx));
    let sup = node.spawn(Supervisor::new(spec)).await.unwrap();
    let b: ActorRef<Worker> = node.lookup("b").unwrap();
    b.hang().unwrap();
    until(&mut rx, |e| matches!(e, Ev::Hanging(_))).await;
    let stopping = tokio::spawn({
        let sup = sup.clone();
        async move { sup.stop().await }
    });
    // b cannot handle its shutdown while its handler hangs: after the timeout the
    // supervisor kills it (the kill waits in b's urgent queue behind the shutdown).
    let b_pid = b.pid();
    eventually(
        "the supervisor killing b after its shutdown timeout",
        || {
            node.process_info(b_pid)
                .is_some_and(|info| info.queue_lengths[0] >= 2)
        },
    )
    .await;
    assert!(sup.is_alive(), "the supervisor waits for b");
    assert!(node.whereis("a").is_some(), "a is stopped after b");
    release.notify_one();
    guard("the supervisor's stop", stopping)
        .await
        .unwrap()
        .unwrap();
    let mut order = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let Ev::Stopped(tag, _) = ev {
            order.push(tag);
        }
    }
    assert_eq!(order, ["c", "b", "a"]);
    assert!(!sup.is_alive());
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_failing_init_fails_the_supervisor_cleanly() {
    let node = node("init_failure").await;
    let (tx, mut rx) = channel();
    let bad = ChildSpec::with_args("bad", {
        let events = tx.clone();
        move || Numbered {
            events: events.clone(),
            n: 0,
        }
    });
    // Not a simple-one-for-one: no arguments are given, so its start fails.
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("a", &tx))
        .child(worker("b", &tx))
        .child(bad);
    let before = node.info().processes;
    let err = node.spawn(Supervisor::new(spec)).await.unwrap_err();
    assert!(matches!(err, SpawnError::Init(_)), "{err:?}");
    assert_eq!(node.info().processes, before, "nothing left behind");
    assert!(node.whereis("a").is_none() && node.whereis("b").is_none());
    let mut stopped = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let Ev::Stopped(tag, reason) = ev {
            assert_eq!(reason, Reason::Shutdown);
            stopped.push(tag);
        }
    }
    assert_eq!(stopped, ["b", "a"]);
    node.stop().await.unwrap();
}

/// An actor whose sync `#[init]` panics.
struct PanicsInInit;

#[actor]
impl PanicsInInit {
    #[init]
    fn init(&mut self) {
        panic!("sync init panicked");
    }

    #[handle_call]
    fn ping(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_whose_sync_init_panics_fails_to_start_and_the_supervisor_lives_on() {
    let node = node("sync_init_panic").await;
    let sup = node
        .spawn(Supervisor::new(SupervisorSpec::new(Strategy::OneForOne)))
        .await
        .unwrap();
    let before = node.info().processes;
    let err = sup
        .start_child::<PanicsInInit>(ChildSpec::new("bad", || (PanicsInInit, ())).registered())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SupervisorError::Start {
            id: ergo::Atom::new("bad"),
            error: SpawnError::Init(Reason::Panic("sync init panicked".into())),
        }
    );
    assert!(sup.is_alive());
    assert!(sup.which_children().await.unwrap().is_empty());
    assert_eq!(node.info().processes, before, "nothing left behind");
    assert!(node.whereis("bad").is_none());
    // The same panic in a supervisor's own start: the spawn fails cleanly.
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(ChildSpec::new("bad", || (PanicsInInit, ())));
    let err = node.spawn(Supervisor::new(spec)).await.unwrap_err();
    assert!(matches!(err, SpawnError::Init(_)), "{err:?}");
    assert_eq!(node.info().processes, before, "nothing left behind");
    guard("the node stop", node.stop()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_time_operations() {
    let node = node("sup_ops").await;
    let (tx, _rx) = channel();
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(worker("a", &tx));
    let sup = node.spawn(Supervisor::new(spec)).await.unwrap();
    let b: ActorRef<Worker> = sup.start_child(worker("b", &tx)).await.unwrap();
    assert_eq!(node.whereis("b"), Some(b.pid()));
    assert_eq!(
        sup.start_child::<Worker>(worker("b", &tx)).await,
        Err(SupervisorError::AlreadyPresent("b".into()))
    );
    // A spec of another actor type than the one asked for: refused before it starts.
    assert!(matches!(
        sup.start_child::<Numbered>(worker("c", &tx)).await,
        Err(SupervisorError::WrongType { .. })
    ));
    assert!(node.whereis("c").is_none());
    let counts = sup.count_children().await.unwrap();
    assert_eq!((counts.specs, counts.active, counts.workers), (2, 2, 2));
    assert_eq!(
        sup.delete_child("b").await,
        Err(SupervisorError::Running("b".into()))
    );
    sup.terminate_child("b").await.unwrap();
    assert!(node.whereis("b").is_none());
    assert_eq!(sup.which_children().await.unwrap()[1].pid, None);
    let b2 = sup.restart_child("b").await.unwrap();
    assert_ne!(b.pid(), b2);
    sup.terminate_child("b").await.unwrap();
    sup.delete_child("b").await.unwrap();
    assert_eq!(sup.which_children().await.unwrap().len(), 1);
    assert_eq!(
        sup.terminate_child("nope").await,
        Err(SupervisorError::UnknownChild("nope".into()))
    );
    assert!(matches!(
        sup.child::<Numbered>("a").await,
        Err(SupervisorError::WrongType { .. })
    ));
    // The supervisor is a process like any other: node shutdown stops it.
    node.stop().await.unwrap();
    assert!(!sup.is_alive());
    assert_eq!(
        sup.which_children().await,
        Err(SupervisorError::NoSupervisor)
    );
}

// ---------------------------------------------------------------------------
// supervisor!: typed children, nested supervisors.

#[derive(Default)]
pub struct Counter(u64);

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.0 += n;
        self.0
    }

    #[handle_cast]
    fn crash(&mut self) {
        panic!("counter crashed");
    }
}

pub struct Cache {
    size: u64,
}

#[actor]
impl Cache {
    #[init]
    fn init(&mut self, extra: u64) {
        self.size += extra;
    }

    #[handle_call]
    fn size(&mut self) -> u64 {
        self.size
    }
}

supervisor! {
    /// The inner tree.
    pub InnerSup: rest_for_one(intensity = 10, period = 1m) {
        /// A counter.
        inner_counter: Counter,
        #[restart(transient)] #[args(5)] #[shutdown(500ms)]
        cache: Cache = Cache { size: 100 },
    }
}

supervisor! {
    pub TopSup: one_for_one(intensity = 10, period = 10s) {
        counter: Counter,
        inner: InnerSup,
    }
}

supervisor! {
    pub Pool: simple_one_for_one {
        #[restart(transient)]
        member: Cache = Cache { size: 1 },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_children_are_typed_and_follow_restarts() {
    let node = node("declared").await;
    let top = node.spawn(TopSup::new()).await.unwrap();
    let counter = top.counter();
    assert_eq!(counter.get().unwrap().add(2).await.unwrap(), 2);
    let inner = top.inner().get().unwrap();
    assert_eq!(inner.cache().get().unwrap().size().await.unwrap(), 105);
    assert_eq!(
        top.which_children().await.unwrap()[1].kind,
        ChildKind::Supervisor
    );

    let old = counter.pid().unwrap();
    let down = node.monitor(old).unwrap();
    counter.get().unwrap().crash().unwrap();
    guard("the counter's Down", down.down()).await;
    top.count_children().await.unwrap(); // the restart is done when this answers
    assert_ne!(counter.pid().unwrap(), old, "a new pid under the same name");
    assert_eq!(
        counter.get().unwrap().add(1).await.unwrap(),
        1,
        "a fresh actor"
    );

    // rest_for_one inside: the counter ending restarts the cache after it.
    let cache_pid = inner.cache().pid().unwrap();
    let down = node.monitor(inner.inner_counter().pid().unwrap()).unwrap();
    inner.inner_counter().get().unwrap().crash().unwrap();
    guard("the inner counter's Down", down.down()).await;
    inner.count_children().await.unwrap();
    assert_ne!(inner.cache().pid().unwrap(), cache_pid);

    // simple_one_for_one: a typed start function, a typed handle back.
    let pool = node.spawn(Pool::new()).await.unwrap();
    let member: ActorRef<Cache> = pool.start_member(41).await.unwrap();
    assert_eq!(member.size().await.unwrap(), 42);

    top.stop().await.unwrap();
    assert!(counter.get().is_err());
    node.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Chaos: many thousands of kills in a three-level tree.

fn chaos_tree(tx: &Events) -> SupervisorSpec {
    let forever = (u32::MAX, Duration::from_secs(1));
    let mut top = SupervisorSpec::new(Strategy::OneForOne).intensity(forever.0, forever.1);
    for m in 0..2 {
        let mut mid = SupervisorSpec::new(Strategy::OneForOne).intensity(forever.0, forever.1);
        for b in 0..2 {
            let strategy = [
                Strategy::OneForOne,
                Strategy::AllForOne,
                Strategy::RestForOne,
            ][(m * 2 + b) % 3];
            let mut bottom = SupervisorSpec::new(strategy).intensity(forever.0, forever.1);
            for w in 0..5 {
                bottom = bottom.child(worker(&format!("w{m}{b}{w}"), tx));
            }
            mid = mid.child(sup_spec(&format!("b{m}{b}"), bottom));
        }
        top = top.child(sup_spec(&format!("m{m}"), mid));
    }
    top
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_kills_leave_the_tree_whole() {
    let node = node("chaos").await;
    let (tx, mut rx) = channel();
    // Drain the events: this test only looks at the tree.
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let top = node.spawn(Supervisor::new(chaos_tree(&tx))).await.unwrap();
    let names: Vec<String> = (0..2)
        .flat_map(|m| (0..2).flat_map(move |b| (0..5).map(move |w| format!("w{m}{b}{w}"))))
        .collect();
    let total = node.info().processes;
    assert_eq!(total, 1 + 2 + 4 + 20);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut kills = 0;
    let rounds = if cfg!(debug_assertions) {
        2_000
    } else {
        20_000
    };
    // Kills happen only while the victim is registered (restarted): go on until enough
    // landed, however busy the machine is (bounded: at most 20 rounds per kill asked).
    let wanted = rounds / 2;
    for _ in 0..rounds * 20 {
        if kills >= wanted {
            break;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let name = &names[(seed % names.len() as u64) as usize];
        let Some(pid) = node.whereis(name.as_str()) else {
            tokio::task::yield_now().await;
            continue;
        };
        if seed & 1 == 0 {
            node.kill(pid);
        } else if let Some(w) = node.actor_ref::<Worker>(pid) {
            let _ = w.crash();
        }
        kills += 1;
        if kills % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert!(kills >= wanted, "{kills} kills");
    eventually("the tree is whole again", || {
        names.iter().all(|n| node.whereis(n.as_str()).is_some()) && node.info().processes == total
    })
    .await;
    for name in &names {
        let w = ChildRef::<Worker>::new(&node, name.as_str());
        // A crash cast may still be queued before our call: retry until the current
        // instance answers.
        guard(&format!("{name} answering"), async {
            loop {
                if let Ok(w) = w.get() {
                    if w.arg().await.is_ok() {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
    }
    for child in top.which_children().await.unwrap() {
        assert!(child.pid.is_some(), "{child:?}");
        let mid = SupervisorRef::new(&node, child.pid.unwrap());
        for bottom in mid.which_children().await.unwrap() {
            let bottom = SupervisorRef::new(&node, bottom.pid.expect("bottom running"));
            assert_eq!(bottom.count_children().await.unwrap().active, 5);
        }
    }
    // The node still answers.
    let counter = node.spawn(Counter::default()).await.unwrap();
    assert_eq!(counter.add(7).await.unwrap(), 7);
    top.stop().await.unwrap();
    node.stop().await.unwrap();
}
