//! Shared helpers of the meta process tests: a node per test, a failure guard for
//! awaits, and `Sink<M>`, a process that hands every message it gets to the test.
#![allow(dead_code)]

use std::future::IntoFuture;
use std::time::Duration;

use ergo_runtime::{Actor, ActorRef, Context, Handles, Node, ReplyTo, Step};
use tokio::sync::mpsc;

/// How long a test waits for something that must happen before it calls it a hang
/// (a failure guard only: no test passes or fails on how long things take).
pub const GUARD: Duration = Duration::from_secs(30);

/// Starts a local node.
pub async fn node(name: &str) -> Node {
    Node::builder(&format!("{name}@127.0.0.1"))
        .start()
        .await
        .expect("node starts")
}

/// Awaits `fut`, failing the test (instead of hanging it) if it never completes.
pub async fn guard<F: IntoFuture>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(GUARD, fut.into_future()).await {
        Ok(out) => out,
        Err(_) => panic!("hang: {what} did not happen within {GUARD:?}"),
    }
}

/// Polls `cond` until it holds (bounded by [`GUARD`]).
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    guard(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// A process that forwards every message to the test.
pub struct Sink<M>(mpsc::UnboundedSender<M>);

impl<M: Send + 'static> Actor for Sink<M> {
    type Message = M;
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, msg: M) -> Step<Self> {
        let _ = self.0.send(msg);
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }
}

impl<M: Send + 'static> Handles<M> for Sink<M> {
    fn into_message(msg: M) -> M {
        msg
    }
}

/// Spawns a sink; the receiver gets what it is sent.
pub async fn sink<M: Send + 'static>(
    node: &Node,
) -> (ActorRef<Sink<M>>, mpsc::UnboundedReceiver<M>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (node.spawn(Sink(tx)).await.expect("sink spawns"), rx)
}

/// The next message of a sink.
pub async fn next<M>(rx: &mut mpsc::UnboundedReceiver<M>) -> M {
    guard("a message", rx.recv())
        .await
        .expect("the sink is alive")
}

/// The number of open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}
