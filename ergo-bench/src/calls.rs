//! Request/response workloads: sequential calls between two processes, many callers on
//! one server, and calls from outside any process.

use std::time::{Duration, Instant};

use ergo::{Actor, ActorRef, Context, Node, ReplyTo, Step};

use crate::stream::{spawn_receiver, Receiver};

pub const CALLS: u64 = 200_000;
pub const CALLERS: usize = 16;
pub const PER_CALLER: u64 = 50_000;

/// Calls `callee` as many times as asked, in a row, from an async handler; answers with
/// the time it took.
struct Caller {
    callee: ActorRef<Receiver>,
}

impl Actor for Caller {
    type Message = ();
    type Call = u64;
    type Reply = Duration;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        calls: u64,
        reply: ReplyTo<Duration>,
    ) -> Step<Self> {
        Step::run_async(move |this: Caller, ctx| async move {
            let start = Instant::now();
            for _ in 0..calls {
                this.callee.request(()).await.expect("call");
            }
            reply.send(start.elapsed());
            (this, ctx)
        })
    }
}

/// Mean round trip of `CALLS` sequential calls from one process to another.
pub async fn call_rtt(node: &Node) -> Duration {
    let callee = spawn_receiver(node).await;
    let caller = node.spawn(Caller { callee }).await.expect("spawn");
    let total = caller
        .request(CALLS)
        .timeout(Duration::from_secs(600))
        .await
        .expect("call");
    total / CALLS as u32
}

/// Calls/s of `CALLERS` processes calling one server, `PER_CALLER` calls each.
pub async fn call_concurrent(node: &Node) -> f64 {
    let server = spawn_receiver(node).await;
    let mut callers = Vec::new();
    for _ in 0..CALLERS {
        let callee = server.clone();
        callers.push(node.spawn(Caller { callee }).await.expect("spawn"));
    }
    let start = Instant::now();
    let runs: Vec<_> = callers
        .iter()
        .map(|c| {
            let run = c.request(PER_CALLER).timeout(Duration::from_secs(600));
            tokio::spawn(run)
        })
        .collect();
    for run in runs {
        run.await.expect("join").expect("calls");
    }
    (CALLERS as u64 * PER_CALLER) as f64 / start.elapsed().as_secs_f64()
}

/// Mean round trip of `CALLS` sequential calls from outside any process.
pub async fn node_call_rtt(node: &Node) -> Duration {
    let callee = spawn_receiver(node).await;
    let start = Instant::now();
    for _ in 0..CALLS {
        callee.request(()).await.expect("call");
    }
    start.elapsed() / CALLS as u32
}
