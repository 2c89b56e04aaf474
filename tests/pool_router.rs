//! Pool and Router: calls forwarded with the caller's reply token (workers answer
//! directly), round robin, a crashed worker replaced, full workers skipped, workers
//! added and removed; routes chosen by a function, owned routes respawned, registered
//! names, and what finds no route.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ergo::pool::{Pool, PoolExt, PoolOptions};
use ergo::prelude::*;
use ergo::router::{Route, RouteError, Router, RouterExt, RouterOptions};
use ergo::{Atom, CallError};
use ergo_tests::{eventually, guard, node};
use tokio::sync::{mpsc, oneshot};

#[derive(Default)]
struct Teller;

#[actor]
impl Teller {
    #[handle_call]
    fn whoami(&mut self, ctx: &mut Context<Self>) -> Pid {
        ctx.pid()
    }

    #[handle_call]
    fn echo(&mut self, ctx: &mut Context<Self>, key: String) -> (String, Pid) {
        (key, ctx.pid())
    }

    #[handle_call]
    fn crash(&mut self) -> u64 {
        panic!("a teller crashed")
    }

    #[handle_cast(local)]
    fn report(&mut self, ctx: &mut Context<Self>, to: mpsc::UnboundedSender<Pid>) {
        let _ = to.send(ctx.pid());
    }

    #[handle_cast(local)]
    async fn hold(&mut self, until: oneshot::Receiver<()>) {
        let _ = until.await;
    }
}

fn pid_of(reply: TellerReply) -> Pid {
    match reply {
        TellerReply::Whoami(pid) => pid,
        _ => panic!("not a whoami reply"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_round_robin_and_workers_answer_directly() {
    let node = node("pool_rr").await;
    let pool = node
        .spawn(Pool::new(PoolOptions::new(Teller::default)))
        .await
        .unwrap();
    let mut seen: HashMap<Pid, usize> = HashMap::new();
    for _ in 0..6 {
        let reply = guard("a call", pool.call_worker(TellerCall::Whoami))
            .await
            .unwrap();
        *seen.entry(pid_of(reply)).or_default() += 1;
    }
    assert_eq!(seen.len(), 3, "the default pool has 3 workers");
    assert!(seen.values().all(|n| *n == 2));
    assert!(!seen.contains_key(&pool.pid()));
    let info = pool.pool_info().await.unwrap();
    assert_eq!((info.workers, info.forwarded), (3, 6));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_forwarded_too() {
    let node = node("pool_msg").await;
    let pool = node
        .spawn(Pool::new(PoolOptions::new(Teller::default).size(2)))
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    for _ in 0..4 {
        pool.send(TellerMessage::Report(tx.clone())).unwrap();
    }
    let mut pids = Vec::new();
    for _ in 0..4 {
        pids.push(guard("a report", rx.recv()).await.unwrap());
    }
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 2);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_worker_is_replaced() {
    let node = node("pool_crash").await;
    let pool = node
        .spawn(Pool::new(PoolOptions::new(Teller::default)))
        .await
        .unwrap();
    let err = guard("the crash", pool.call_worker(TellerCall::Crash)).await;
    assert!(matches!(err, Err(CallError::Exited(Reason::Panic(_)))));
    let mut info = pool.pool_info().await.unwrap();
    for _ in 0..1000 {
        if info.restarts == 1 && info.workers == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        info = pool.pool_info().await.unwrap();
    }
    assert_eq!((info.workers, info.restarts), (3, 1));
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let reply = pool.call_worker(TellerCall::Whoami).await.unwrap();
        seen.insert(pid_of(reply));
    }
    assert_eq!(seen.len(), 3, "three live workers answer");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_workers_are_skipped_and_then_work_is_dropped() {
    let node = node("pool_full").await;
    let options = PoolOptions::new(Teller::default)
        .size(2)
        .worker_mailbox_limit(1);
    let pool = node.spawn(Pool::new(options)).await.unwrap();
    let mut gates = Vec::new();
    for _ in 0..5 {
        let (open, until) = oneshot::channel();
        gates.push(open);
        pool.send(TellerMessage::Hold(until)).unwrap();
    }
    // The counters are read on the admin path (ahead of the work): poll until the
    // pool has handled all five.
    let mut info = pool.pool_info().await.unwrap();
    for _ in 0..1000 {
        if info.forwarded + info.dropped == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        info = pool.pool_info().await.unwrap();
    }
    // Two workers, each busy with one and holding at most one queued.
    assert_eq!(info.forwarded + info.dropped, 5);
    assert!(info.dropped >= 1 && info.forwarded <= 4, "{info:?}");
    drop(gates);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_are_added_and_removed_at_run_time() {
    let node = node("pool_size").await;
    let pool = node
        .spawn(Pool::new(PoolOptions::new(Teller::default)))
        .await
        .unwrap();
    assert_eq!(pool.add_workers(2).await.unwrap().workers, 5);
    assert_eq!(pool.remove_workers(10).await.unwrap().workers, 1);
    let reply = pool.call_worker(TellerCall::Whoami).await.unwrap();
    assert_ne!(pid_of(reply), pool.pid());
    // The counters are also the pool's `sys:get_state` text.
    let (tx, rx) = oneshot::channel();
    let answer = Box::new(move |reply| {
        let _ = tx.send(reply);
    });
    assert!(node.system_request(pool.pid(), ergo::system::SystemRequest::GetState, answer));
    let state = guard("the state", rx).await.unwrap();
    let ergo::system::SystemReply::State(view) = state else {
        panic!("not a state: {state:?}");
    };
    assert_eq!(
        view.debug.as_deref(),
        Some("Pool { workers: 1, forwarded: 1, restarts: 0, dropped: 0 }")
    );
    node.stop().await.unwrap();
}

fn by_key(call: &TellerCall) -> Route {
    match call {
        TellerCall::Echo(key) => Route::To(Atom::from(key)),
        TellerCall::Crash => Route::To(Atom::from("a")),
        _ => Route::Discard,
    }
}

fn nowhere(_: &TellerMessage) -> Route {
    Route::To(Atom::from("missing"))
}

fn echoed(reply: TellerReply) -> (String, Pid) {
    match reply {
        TellerReply::Echo(echo) => echo,
        _ => panic!("not an echo"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_routes_by_function_respawns_and_reports_failures() {
    let node = node("router").await;
    let failed = Arc::new(Mutex::new(Vec::new()));
    let failures = failed.clone();
    let options = RouterOptions::new(nowhere, by_key)
        .route("a", Teller::default)
        .route("b", Teller::default)
        .on_failure(move |f| failures.lock().unwrap().push((f.route, f.reason)));
    let router = node.spawn(Router::new(options)).await.unwrap();
    let registered = node.spawn_register("c", Teller).await.unwrap();

    let (_, a) = echoed(
        router
            .call_route(TellerCall::Echo("a".into()))
            .await
            .unwrap(),
    );
    let (_, b) = echoed(
        router
            .call_route(TellerCall::Echo("b".into()))
            .await
            .unwrap(),
    );
    let (key, c) = echoed(
        router
            .call_route(TellerCall::Echo("c".into()))
            .await
            .unwrap(),
    );
    assert_eq!(key, "c");
    assert_ne!(a, b);
    assert_eq!(c, registered.pid(), "a registered name is a route");
    let none = router.call_route(TellerCall::Echo("zzz".into())).await;
    assert!(matches!(none, Err(CallError::BadRequest(_))));
    let discarded = router.call_route(TellerCall::Whoami).await;
    assert!(matches!(discarded, Err(CallError::BadRequest(_))));

    // Route `a` crashes: it is respawned under the same name.
    let _ = router.call_route(TellerCall::Crash).await;
    let mut again = a;
    for _ in 0..1000 {
        if let Ok(reply) = router.call_route(TellerCall::Echo("a".into())).await {
            again = echoed(reply).1;
            if again != a {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_ne!(again, a, "a new worker serves route a");

    // A message with no route reaches the failure handler.
    let (tx, _rx) = mpsc::unbounded_channel();
    router.send(TellerMessage::Report(tx)).unwrap();
    eventually("the failure is reported", || {
        !failed.lock().unwrap().is_empty()
    })
    .await;
    let (route, reason) = failed.lock().unwrap()[0].clone();
    assert_eq!(route, Atom::from("missing"));
    assert_eq!(reason, RouteError::NoRoute(Atom::from("missing")));

    // Routes are managed at run time.
    assert_eq!(router.routes().await.unwrap().len(), 2);
    router
        .add_route("d", Teller::default)
        .await
        .unwrap()
        .unwrap();
    let (_, d) = echoed(
        router
            .call_route(TellerCall::Echo("d".into()))
            .await
            .unwrap(),
    );
    assert_ne!(d, a);
    router.remove_route("b").await.unwrap().unwrap();
    assert_eq!(
        router.remove_route("b").await.unwrap(),
        Err(RouteError::NoRoute(Atom::from("b")))
    );
    assert_eq!(router.routes().await.unwrap().len(), 2);
    node.stop().await.unwrap();
}
