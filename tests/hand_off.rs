//! Hand-off scheduling over the native network, two nodes in one OS process on
//! 127.0.0.1, on a multi-threaded tokio runtime whose workers are named: a process
//! woken by a remote request runs its turn on the connection reader's worker (no
//! scheduler thread involved), on the callee's side and on the caller's (the reply);
//! and a handler that blocks there holds that worker only, never the connection: the
//! same connection keeps carrying messages and calls to other processes meanwhile.

use std::sync::mpsc;
use std::time::Duration;

use ergo::net::NetOptions;
use ergo::prelude::*;
use ergo_tests::{eventually, guard};

/// The name tokio gives the test runtime's worker threads.
const WORKER: &str = "hand-off-worker";

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

/// Tells which thread runs its handlers.
#[derive(Default)]
pub struct Where {
    casts: u64,
}

#[actor]
impl Where {
    #[handle_call]
    fn here(&mut self) -> String {
        thread_name()
    }

    #[handle_cast]
    fn bump(&mut self) {
        self.casts += 1;
    }

    #[handle_call]
    fn casts(&mut self) -> u64 {
        self.casts
    }
}

/// Calls a remote `Where` and tells where the callee ran and where its own turn went
/// on once the reply came.
pub struct Asker {
    to: ActorRef<Where>,
}

#[actor]
impl Asker {
    #[handle_call]
    async fn ask(&mut self) -> (String, String) {
        let there = self.to.here().await.expect("remote call");
        (there, thread_name())
    }
}

/// Blocks its thread in a handler until released (a long handler).
pub struct Blocker {
    entered: mpsc::Sender<String>,
    release: mpsc::Receiver<()>,
}

#[actor]
impl Blocker {
    /// A call (a request is what a reader hands off): true once released.
    #[handle_call]
    fn block(&mut self) -> bool {
        let _ = self.entered.send(thread_name());
        // Bounded: a test that never releases fails on its own guard first.
        self.release.recv_timeout(Duration::from_secs(120)).is_ok()
    }
}

/// A multi-threaded runtime like a server's, its workers named [`WORKER`].
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(WORKER)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Two nodes, one connection each way; `a` reaches `b` by a static route.
async fn pair(a: &str, b: &str) -> (Node, Node) {
    let options = || NetOptions::new().registrar(None).pool_size(1);
    let nb = Node::builder(&format!("{b}@127.0.0.1"))
        .cookie("hand-off")
        .network(options())
        .start()
        .await
        .unwrap();
    let addr = nb.listen_addr().unwrap();
    let na = Node::builder(&format!("{a}@127.0.0.1"))
        .cookie("hand-off")
        .network(options().route(&format!("{b}@127.0.0.1"), addr))
        .start()
        .await
        .unwrap();
    (na, nb)
}

#[test]
fn a_process_woken_from_the_network_runs_on_the_readers_worker_on_both_sides() {
    runtime().block_on(async {
        let (a, b) = pair("hand_a1", "hand_b1").await;
        b.spawn_register("where", Where::default()).await.unwrap();
        let to: ActorRef<Where> = guard("lookup", a.lookup_remote("where", "hand_b1@127.0.0.1"))
            .await
            .unwrap();
        let asker = a.spawn(Asker { to }).await.unwrap();
        for _ in 0..3 {
            let (there, back) = guard("ask", asker.ask()).await.unwrap();
            // The callee was idle: b's reader ran its turn on its own worker.
            assert_eq!(there, WORKER);
            // The caller waited idle for the reply: a's reader ran the rest of its
            // turn, not a scheduler thread.
            assert!(!back.starts_with("ergo-sched-"), "{back}");
        }
        a.stop().await.unwrap();
        b.stop().await.unwrap();
    });
}

#[test]
fn a_handler_blocking_a_reader_worker_does_not_stop_its_connection() {
    runtime().block_on(async {
        let (a, b) = pair("hand_a2", "hand_b2").await;
        let (entered_tx, entered) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        b.spawn_register(
            "blocker",
            Blocker {
                entered: entered_tx,
                release: release_rx,
            },
        )
        .await
        .unwrap();
        b.spawn_register("counter", Where::default()).await.unwrap();
        let blocker: ActorRef<Blocker> =
            guard("lookup", a.lookup_remote("blocker", "hand_b2@127.0.0.1"))
                .await
                .unwrap();
        let counter: ActorRef<Where> =
            guard("lookup", a.lookup_remote("counter", "hand_b2@127.0.0.1"))
                .await
                .unwrap();
        // Answered only once released: no deadline of its own (the guard bounds it).
        let blocked =
            tokio::spawn(async move { blocker.block().timeout(Duration::from_secs(600)).await });
        let mut ran_on = None;
        eventually("the blocker's handler to start", || {
            ran_on = entered.try_recv().ok();
            ran_on.is_some()
        })
        .await;
        // The long handler holds the worker that b's reader handed it to.
        assert_eq!(ran_on.as_deref(), Some(WORKER));
        // Meanwhile the one connection from a to b (and the one back) carries on.
        for _ in 0..100 {
            counter.bump().unwrap();
        }
        let mut casts = 0;
        for _ in 0..10_000 {
            casts = guard("a call over the same connection", counter.casts())
                .await
                .unwrap();
            if casts == 100 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(casts, 100);
        release.send(()).unwrap();
        let answer = guard("the blocked call's answer", blocked).await.unwrap();
        assert_eq!(answer, Ok(true));
        a.stop().await.unwrap();
        b.stop().await.unwrap();
    });
}
