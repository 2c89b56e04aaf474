//! A process's life: init failures and init timeouts that leave nothing behind, many
//! processes spawned and stopped, kills in the middle of a handler, env lookups through
//! node < parent < spawn options, and what process info reports.

use std::future::{Future, IntoFuture};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ergo::{
    Actor, Context, Node, Pid, ProcessState, Reason, ReplyTo, SpawnError, SpawnOptions, Step,
};
use ergo_tests::{ask, block, eventually, guard, node, seen, task, Cmd, Event, Probe, Recorder};
use tokio::sync::oneshot;

// ---- init ----

enum InitMode {
    Fail,
    Panic,
    /// Panics while `init` is called, before it returns its future (the shape a sync
    /// `#[init] fn` expands to).
    SyncPanic,
    Forever,
}

/// An actor whose init fails, panics or never finishes, after linking to, monitoring
/// and registering what it was given.
struct BadInit {
    mode: InitMode,
    link_to: Option<Pid>,
    dropped: Arc<AtomicUsize>,
    terminated: Arc<AtomicUsize>,
}

impl Drop for BadInit {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

impl Actor for BadInit {
    type Message = ();
    type Call = ();
    type Reply = ();
    type Args = ();

    fn init(
        &mut self,
        ctx: &mut Context<Self>,
        _: (),
    ) -> impl Future<Output = Result<(), Reason>> + Send {
        if let Some(other) = self.link_to {
            ctx.link(other).expect("local link");
            ctx.monitor(other).expect("local monitor");
        }
        ctx.create_alias();
        if let InitMode::SyncPanic = self.mode {
            panic!("sync init panicked");
        }
        let mode = std::mem::replace(&mut self.mode, InitMode::Fail);
        async move {
            match mode {
                InitMode::Fail => Err(Reason::error("nope")),
                InitMode::Panic => panic!("init panicked"),
                InitMode::SyncPanic => unreachable!(),
                InitMode::Forever => std::future::pending().await,
            }
        }
    }

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }

    fn terminate(&mut self, _: &mut Context<Self>, _: &Reason) {
        self.terminated.fetch_add(1, Ordering::SeqCst);
    }
}

/// Spawns a `BadInit` under a name, linked to and monitoring a witness process, and
/// checks that the failure leaves no process, name, alias, link or monitor behind, and
/// that the linked witness (trapping exits) learnt why.
async fn failed_spawn(
    node: &Node,
    mode: InitMode,
    options: SpawnOptions,
    expected: Reason,
) -> SpawnError {
    let witness = node.spawn(Probe::new("witness").trapping()).await.unwrap();
    let before = node.info();
    let dropped = Arc::new(AtomicUsize::new(0));
    let terminated = Arc::new(AtomicUsize::new(0));
    let actor = BadInit {
        mode,
        link_to: Some(witness.pid()),
        dropped: dropped.clone(),
        terminated: terminated.clone(),
    };
    let err = node
        .spawn_with(actor, (), options.name("doomed"))
        .await
        .unwrap_err();

    let after = node.info();
    assert_eq!(after.processes, before.processes, "no process left");
    assert_eq!(
        after.registered_names, before.registered_names,
        "no name left"
    );
    assert_eq!(after.aliases, before.aliases, "no alias left");
    assert_eq!(node.whereis("doomed"), None);
    let witness_info = node.process_info(witness.pid()).unwrap();
    assert!(witness_info.links.is_empty(), "no link left");
    assert!(witness_info.monitored_by.is_empty(), "no monitor left");
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the actor was dropped");
    assert_eq!(
        terminated.load(Ordering::SeqCst),
        0,
        "terminate runs only after init"
    );
    // Like any process that dies, it told its link why.
    let exits = ergo_tests::exits(&witness).await;
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert_eq!(exits[0].reason, expected);
    // The name is free again.
    let again = node
        .spawn_register("doomed", Probe::new("next"))
        .await
        .unwrap();
    assert_eq!(node.whereis("doomed"), Some(again.pid()));
    err
}

#[tokio::test]
async fn an_init_failure_leaves_nothing_behind() {
    let node = node("init_fail").await;
    let err = failed_spawn(
        &node,
        InitMode::Fail,
        SpawnOptions::new(),
        Reason::error("nope"),
    )
    .await;
    assert_eq!(err, SpawnError::Init(Reason::error("nope")));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn an_init_panic_leaves_nothing_behind() {
    let node = node("init_panic").await;
    let err = failed_spawn(
        &node,
        InitMode::Panic,
        SpawnOptions::new(),
        Reason::Panic("init panicked".into()),
    )
    .await;
    assert_eq!(err, SpawnError::Init(Reason::Panic("init panicked".into())));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_sync_init_panic_fails_the_spawn_and_leaves_nothing_behind() {
    let node = node("init_sync_panic").await;
    let err = failed_spawn(
        &node,
        InitMode::SyncPanic,
        SpawnOptions::new(),
        Reason::Panic("sync init panicked".into()),
    )
    .await;
    assert_eq!(
        err,
        SpawnError::Init(Reason::Panic("sync init panicked".into()))
    );
    // Nothing is stuck in `Init`: the node stops.
    guard("the node stop", node.stop()).await.unwrap();
}

#[tokio::test]
async fn an_init_timeout_leaves_nothing_behind() {
    let node = node("init_timeout").await;
    // The init never finishes: the timeout is certain, whatever its length.
    let timeout = Duration::from_millis(30);
    let options = SpawnOptions::new().init_timeout(timeout);
    let err = failed_spawn(&node, InitMode::Forever, options, Reason::Timeout).await;
    assert_eq!(err, SpawnError::InitTimeout(timeout));
    node.stop().await.unwrap();
}

// ---- many processes ----

#[tokio::test]
async fn a_hundred_thousand_processes_spawned_and_stopped() {
    const N: usize = 100_000;
    let node = node("many").await;
    let base = node.info().processes;
    let mut refs = Vec::with_capacity(N);
    for _ in 0..N {
        refs.push(node.spawn(Recorder::default()).await.unwrap());
    }
    assert_eq!(node.info().processes, base + N);
    // Every one of them runs: a message and a call each for a sample.
    for (i, r) in refs.iter().enumerate().step_by(997) {
        r.send(i as u64).unwrap();
        assert_eq!(r.request(()).await.unwrap(), vec![i as u64]);
    }
    let monitors: Vec<_> = refs
        .iter()
        .map(|r| node.monitor(r.pid()).unwrap())
        .collect();
    for r in &refs {
        assert!(r.exit(Reason::Shutdown));
    }
    // A `Down` is delivered after its process left the table.
    let mut reasons_ok = 0;
    for m in monitors {
        if guard("a Down", m.down()).await.reason == Reason::Shutdown {
            reasons_ok += 1;
        }
    }
    assert_eq!(reasons_ok, N);
    assert_eq!(node.info().processes, base);
    assert!(refs.iter().all(|r| !r.is_alive()));
    node.stop().await.unwrap();
}

// ---- kill during a handler ----

#[tokio::test]
async fn a_kill_during_a_sync_handler_ends_the_process_when_it_returns() {
    let node = node("kill_sync").await;
    let (probe, mut events) = Probe::new("p").events();
    let p = node.spawn(probe).await.unwrap();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let finished = Arc::new(AtomicUsize::new(0));
    let done = finished.clone();
    // Blocks a scheduler thread in a sync handler until released.
    p.send(task(move |_, _| {
        entered_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        done.fetch_add(1, Ordering::SeqCst);
        Step::Continue
    }))
    .unwrap();
    tokio::task::spawn_blocking(move || entered_rx.recv().unwrap())
        .await
        .unwrap();
    p.send(7u64).unwrap();
    let monitor = node.monitor(p.pid()).unwrap();
    assert!(node.kill(p.pid()));
    // The handler cannot return before we release it: the process is still alive.
    assert!(p.is_alive());
    let info = node.process_info(p.pid()).unwrap();
    assert_eq!(info.state, ProcessState::Running);
    assert_eq!(
        info.queue_lengths,
        [1, 0, 1, 0],
        "the kill waits in the urgent queue"
    );

    release_tx.send(()).unwrap();
    assert_eq!(guard("the Down", monitor.down()).await.reason, Reason::Kill);
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the handler ran to its end"
    );
    // The message queued behind the kill was never handled.
    assert_eq!(events.recv().await, Some(Event::Terminated(Reason::Kill)));
    assert_eq!(events.recv().await, None);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_kill_during_an_async_handler_ends_the_process_when_it_returns() {
    let node = node("kill_async").await;
    let (probe, mut events) = Probe::new("p").events();
    let p = node.spawn(probe).await.unwrap();
    let mut key = block(&p).await;
    p.send(7u64).unwrap();
    let monitor = node.monitor(p.pid()).unwrap();
    assert!(node.kill(p.pid()));
    assert!(p.is_alive());
    // A message arriving wakes the process for a moment (it reports Running while it
    // checks its pending handler), then it settles back to Awaiting.
    eventually("the state settling to Awaiting", || {
        node.process_info(p.pid()).unwrap().state == ProcessState::Awaiting
    })
    .await;
    assert!(p.is_alive());
    key.open();
    assert_eq!(guard("the Down", monitor.down()).await.reason, Reason::Kill);
    assert_eq!(events.recv().await, Some(Event::Terminated(Reason::Kill)));
    assert_eq!(
        events.recv().await,
        None,
        "the queued message was never handled"
    );
    node.stop().await.unwrap();
}

// ---- env ----

#[tokio::test]
async fn env_lookups_go_spawn_options_then_parent_then_node() {
    let node = Node::builder("env@127.0.0.1")
        .env("a", "node")
        .env("B", "node")
        .env("c", "node")
        .start()
        .await
        .unwrap();
    assert_eq!(node.env("A").as_deref(), Some("node"));
    assert_eq!(node.env_or("missing", "fallback"), "fallback");

    let parent = node
        .spawn_with(
            Probe::new("parent"),
            (),
            SpawnOptions::new().env("b", "parent").env("C", "parent"),
        )
        .await
        .unwrap();
    let (tx, rx) = oneshot::channel();
    parent
        .send(task(move |_, _| {
            Step::run_async(move |p: Probe, ctx| async move {
                let child = ctx
                    .spawn_with(
                        Probe::new("child"),
                        (),
                        SpawnOptions::new().env("c", "child"),
                    )
                    .await
                    .expect("child spawns");
                let _ = tx.send(child);
                (p, ctx)
            })
        }))
        .unwrap();
    let child = guard("the child", rx).await.unwrap();

    let read = |keys: &'static [&'static str]| {
        move |_: &mut Probe, ctx: &mut Context<Probe>| -> Vec<Option<String>> {
            keys.iter().map(|k| ctx.env(k)).collect()
        }
    };
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        ask(&parent, read(&["a", "b", "c", "d"])).await.unwrap(),
        vec![s("node"), s("parent"), s("parent"), None]
    );
    assert_eq!(
        ask(&child, read(&["A", "B", "C", "D"])).await.unwrap(),
        vec![s("node"), s("parent"), s("child"), None]
    );
    // The node level is read at lookup time.
    node.set_env("d", Some("late"));
    node.set_env("a", None);
    assert_eq!(
        ask(&child, read(&["a", "d"])).await.unwrap(),
        vec![None, s("late")]
    );
    node.stop().await.unwrap();
}

// ---- process info ----

#[tokio::test]
async fn process_info_reports_what_the_process_is_and_does() {
    let node = node("info").await;
    let other = node.spawn(Probe::new("other")).await.unwrap();
    let p = node
        .spawn_with(
            Probe::new("p").trapping(),
            (),
            SpawnOptions::new().name("inspected"),
        )
        .await
        .unwrap();
    let info = node.process_info(p.pid()).unwrap();
    assert_eq!(info.pid, p.pid());
    assert_eq!(info.name, Some("inspected".into()));
    assert!(info.kind.contains("Probe"), "{}", info.kind);
    assert_eq!(info.state, ProcessState::Idle);
    assert_eq!(info.queue_lengths, [0; 4]);
    assert_eq!((info.messages_in, info.messages_out), (0, 0));
    assert!(info.trap_exit);
    assert_eq!(info.parent, None);
    assert!(info.links.is_empty() && info.monitors.is_empty() && info.monitored_by.is_empty());
    assert!(info.uptime <= node.info().uptime);

    // Three messages and a call in; five messages out.
    for i in 0..3u64 {
        p.send(i).unwrap();
    }
    let to = other.clone();
    p.send(task(move |_, _| {
        for i in 0..5u64 {
            to.send(i).unwrap();
        }
        Step::Continue
    }))
    .unwrap();
    assert_eq!(seen(&p).await, vec![0, 1, 2]);
    let info = node.process_info(p.pid()).unwrap();
    assert_eq!(info.messages_in, 5);
    assert_eq!(info.messages_out, 5);
    assert_eq!(seen(&other).await, vec![0, 1, 2, 3, 4]);

    // Links and monitors, both directions.
    node.link(p.pid(), other.pid()).unwrap();
    let other_pid = other.pid();
    let watching = ask(&p, move |_, ctx| ctx.monitor(other_pid))
        .await
        .unwrap()
        .unwrap();
    let watched = node.monitor(p.pid()).unwrap();
    let info = node.process_info(p.pid()).unwrap();
    assert_eq!(info.links, vec![other.pid()]);
    assert_eq!(info.monitors, vec![(watching, other.pid())]);
    assert_eq!(info.monitored_by, vec![watched.reference()]);
    let other_info = node.process_info(other.pid()).unwrap();
    assert_eq!(other_info.links, vec![p.pid()]);
    assert_eq!(other_info.monitored_by, vec![watching]);

    // Queue lengths while it is blocked.
    let mut key = block(&p).await;
    p.send_with_priority(1u64, ergo::Priority::Low).unwrap();
    p.send_with_priority(2u64, ergo::Priority::Low).unwrap();
    p.send_with_priority(3u64, ergo::Priority::High).unwrap();
    for i in 0..4u64 {
        p.send(i).unwrap();
    }
    eventually("the state settling to Awaiting", || {
        node.process_info(p.pid()).unwrap().state == ProcessState::Awaiting
    })
    .await;
    assert_eq!(
        node.process_info(p.pid()).unwrap().queue_lengths,
        [0, 1, 4, 2]
    );
    key.open();

    // Gone once dead.
    p.send(Cmd::Stop(Reason::Normal)).unwrap();
    guard("the Down", watched.down()).await;
    assert!(node.process_info(p.pid()).is_none());
    let other_info = node.process_info(other.pid()).unwrap();
    assert!(other_info.links.is_empty() && other_info.monitored_by.is_empty());
    node.stop().await.unwrap();
}

// ---- messages during init ----

/// Waits in init until released; records messages like a probe.
struct SlowInit {
    gate: Option<ergo_tests::Gate>,
    fail: bool,
    seen: Vec<u64>,
}

impl Actor for SlowInit {
    type Message = u64;
    type Call = ();
    type Reply = Vec<u64>;
    type Args = ();

    async fn init(&mut self, _: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        if let Some(gate) = self.gate.take() {
            gate.pass().await;
        }
        if self.fail {
            Err(Reason::error("late failure"))
        } else {
            Ok(())
        }
    }

    fn handle_message(&mut self, _: &mut Context<Self>, n: u64) -> Step<Self> {
        self.seen.push(n);
        Step::Continue
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        _: (),
        reply: ReplyTo<Vec<u64>>,
    ) -> Step<Self> {
        reply.send(self.seen.clone());
        Step::Continue
    }
}

impl ergo::Handles<u64> for SlowInit {
    fn into_message(n: u64) -> u64 {
        n
    }
}

/// Starts spawning a `SlowInit` named `name` and returns once its init is waiting.
async fn spawn_in_init(
    node: &Node,
    name: &'static str,
    fail: bool,
) -> (
    ergo_tests::GateKey,
    tokio::task::JoinHandle<Result<ergo::ActorRef<SlowInit>, SpawnError>>,
) {
    let (mut key, gate) = ergo_tests::gate();
    let actor = SlowInit {
        gate: Some(gate),
        fail,
        seen: Vec::new(),
    };
    let spawning = {
        let node = node.clone();
        tokio::spawn(async move {
            node.spawn_with(actor, (), SpawnOptions::new().name(name))
                .await
        })
    };
    key.entered().await;
    (key, spawning)
}

#[tokio::test]
async fn messages_sent_during_init_are_handled_after_it_in_order() {
    let node = node("during_init").await;
    let (mut key, spawning) = spawn_in_init(&node, "slow", false).await;
    // The name is registered before init runs.
    let pid = node.whereis("slow").expect("registered before init");
    assert_eq!(node.process_info(pid).unwrap().state, ProcessState::Init);
    for i in 0..5u64 {
        node.send("slow", i).unwrap();
    }
    key.open();
    let slow = guard("the spawn", spawning).await.unwrap().unwrap();
    assert_eq!(slow.pid(), pid);
    // Nothing else is sent: the messages queued during init must be picked up by
    // themselves once init is done (a call would wake it anyway, so look first).
    eventually("the queued messages handled", || {
        node.process_info(pid).unwrap().messages_in == 5
    })
    .await;
    assert_eq!(slow.request(()).await.unwrap(), vec![0, 1, 2, 3, 4]);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn calls_made_during_a_failing_init_get_no_process() {
    let node = node("during_failed_init").await;
    let (mut key, spawning) = spawn_in_init(&node, "doomed_slow", true).await;
    let pid = node.whereis("doomed_slow").unwrap();
    let slow = node
        .actor_ref::<SlowInit>(pid)
        .expect("typed handle during init");
    let call = tokio::spawn(slow.request(()).into_future());
    eventually("the call queued", || {
        node.process_info(pid).unwrap().queue_lengths[2] == 1
    })
    .await;
    key.open();
    let err = guard("the spawn", spawning).await.unwrap().unwrap_err();
    assert_eq!(err, SpawnError::Init(Reason::error("late failure")));
    assert_eq!(
        guard("the call", call).await.unwrap(),
        Err(ergo::CallError::NoProcess)
    );
    assert_eq!(node.whereis("doomed_slow"), None);
    assert!(node.process_info(pid).is_none());
    node.stop().await.unwrap();
}

// ---- a terminate that panics ----

struct BadTerminate;

impl Actor for BadTerminate {
    type Message = ();
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Stop(Reason::error("stopping"))
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }

    fn terminate(&mut self, _: &mut Context<Self>, _: &Reason) {
        panic!("terminate panicked");
    }
}

impl ergo::Handles<()> for BadTerminate {
    fn into_message(msg: ()) {
        msg
    }
}

#[tokio::test]
async fn a_panicking_terminate_still_cleans_up() {
    let node = node("bad_terminate").await;
    let base = node.info().processes;
    let t = node
        .spawn_with(BadTerminate, (), SpawnOptions::new().name("bad_terminate"))
        .await
        .unwrap();
    let linked = node.spawn(Probe::new("linked").trapping()).await.unwrap();
    node.link(t.pid(), linked.pid()).unwrap();
    let monitor = node.monitor(t.pid()).unwrap();
    t.send(()).unwrap();
    let down = guard("the Down", monitor.down()).await;
    assert_eq!(down.reason, Reason::error("stopping"));
    assert_eq!(node.whereis("bad_terminate"), None);
    assert_eq!(node.info().processes, base + 1);
    let exits = ergo_tests::exits(&linked).await;
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].reason, Reason::error("stopping"));
    node.stop().await.unwrap();
}
