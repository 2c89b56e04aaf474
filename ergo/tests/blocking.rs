//! Blocking work through `ctx.spawn_blocking` / `spawn_blocking_reply` runs off ergo's
//! scheduler threads: while as many jobs as there are scheduler threads are blocked,
//! an unrelated process still answers a call, and so do the processes that started
//! the jobs. The jobs wait on channels the test releases only after those calls were
//! answered: had the jobs held the scheduler threads, no call could be answered and
//! the test would hang (its failure guard would fire). No test depends on timing.

use std::sync::mpsc;
use std::time::Duration;

use ergo::prelude::*;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// How long a wait may take before the test calls it a hang (a guard, not a timing).
const GUARD: Duration = Duration::from_secs(60);

async fn guard<F: std::future::IntoFuture>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(GUARD, fut.into_future())
        .await
        .unwrap_or_else(|_| panic!("hang: {what}"))
}

/// A job's result, delivered as a message.
struct Done(u64);

/// Starts blocking jobs; each reports that it started, then blocks until released.
#[derive(Default)]
struct Blocker {
    done: Vec<u64>,
}

#[actor]
impl Blocker {
    /// Answers with what the job receives.
    #[handle_call(local)]
    fn wait_for(
        &mut self,
        ctx: &mut Context<Self>,
        started: UnboundedSender<()>,
        release: mpsc::Receiver<u64>,
        reply: ReplyTo<u64>,
    ) {
        ctx.spawn_blocking_reply(reply, move || {
            let _ = started.send(());
            release.recv().expect("released")
        });
    }

    /// The job's result comes back as a `Done` message.
    #[handle_cast(local)]
    fn compute(
        &mut self,
        ctx: &mut Context<Self>,
        started: UnboundedSender<()>,
        release: mpsc::Receiver<u64>,
    ) {
        ctx.spawn_blocking(move || {
            let _ = started.send(());
            Done(release.recv().expect("released"))
        });
    }

    /// A job that panics.
    #[handle_call]
    fn doomed(&mut self, ctx: &mut Context<Self>, reply: ReplyTo<u64>) {
        ctx.spawn_blocking_reply(reply, || panic!("the blocking job failed"));
    }

    #[handle_info(local)]
    fn done(&mut self, done: Done) {
        self.done.push(done.0);
    }

    #[handle_call]
    fn results(&mut self) -> Vec<u64> {
        self.done.clone()
    }

    #[handle_call]
    fn ping(&mut self) -> u64 {
        1
    }
}

/// Has nothing to do with the jobs.
struct Bystander;

#[actor]
impl Bystander {
    #[handle_call]
    fn ping(&mut self) -> u64 {
        2
    }
}

/// As many jobs as ergo has scheduler threads (one per core).
fn schedulers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

async fn wait_started(rx: &mut UnboundedReceiver<()>, n: usize) {
    for _ in 0..n {
        guard("a job to start", rx.recv())
            .await
            .expect("a job started");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_jobs_leave_the_scheduler_free() {
    let node = Node::builder("blocking@127.0.0.1").start().await.unwrap();
    let n = schedulers();
    let (started_tx, mut started) = unbounded_channel();
    let mut releases = Vec::new();
    let mut calls = Vec::new();
    let mut blockers = Vec::new();
    for _ in 0..n {
        let blocker = node.spawn(Blocker::default()).await.unwrap();
        let (release, gate) = mpsc::channel();
        releases.push(release);
        calls.push(tokio::spawn(blocker.wait_for(started_tx.clone(), gate)));
        blockers.push(blocker);
    }
    // Every job is blocked now, one per scheduler thread's worth.
    wait_started(&mut started, n).await;

    // A process that has nothing to do with them is answered...
    let bystander = node.spawn(Bystander).await.unwrap();
    assert_eq!(
        guard("the bystander's answer", bystander.ping()).await,
        Ok(2)
    );
    // ... and so are the processes whose jobs are blocked.
    for blocker in &blockers {
        assert_eq!(guard("a blocker's answer", blocker.ping()).await, Ok(1));
    }

    // Released, each job answers its call.
    for (i, release) in releases.iter().enumerate() {
        release.send(10 + i as u64).unwrap();
    }
    for (i, call) in calls.into_iter().enumerate() {
        let answer = guard("a job's answer", call).await.unwrap();
        assert_eq!(answer, Ok(10 + i as u64));
    }
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_job_sends_its_result_as_a_message() {
    let node = Node::builder("blocking_msg@127.0.0.1")
        .start()
        .await
        .unwrap();
    let blocker = node.spawn(Blocker::default()).await.unwrap();
    let (started_tx, mut started) = unbounded_channel();
    let (release, gate) = mpsc::channel();
    blocker.compute(started_tx, gate).unwrap();
    wait_started(&mut started, 1).await;
    // The process is free while its job blocks.
    assert_eq!(blocker.results().await, Ok(vec![]));
    release.send(42).unwrap();
    guard("the job's result", async {
        while blocker.results().await.unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(blocker.results().await, Ok(vec![42]));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_blocking_job_crashes_its_process() {
    let node = Node::builder("blocking_panic@127.0.0.1")
        .start()
        .await
        .unwrap();
    let blocker = node.spawn(Blocker::default()).await.unwrap();
    let monitor = node.monitor(blocker.pid()).unwrap();
    let panic = Reason::Panic("the blocking job failed".into());
    assert_eq!(
        guard("the doomed call", blocker.doomed()).await,
        Err(CallError::Exited(panic.clone()))
    );
    assert_eq!(guard("the Down", monitor.down()).await.reason, panic);
    node.stop().await.unwrap();
}
