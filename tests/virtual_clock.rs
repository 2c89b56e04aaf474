//! Tokio's paused clock and ergo's scheduler threads: virtual time advances only while
//! every process of the node is idle, so timers armed by a busy handler and timeouts of
//! calls to a busy process come out the same on every run. The handlers below burn real
//! time on purpose (`std::thread::sleep`, standing for CPU work): on a clock that did not
//! wait for them, tokio would jump ahead while they run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ergo::prelude::*;
use ergo::{ActorRef, CallError, Node};

/// Real time a handler spends working.
const WORK: Duration = Duration::from_micros(300);
/// The delay of the timer `kick` arms.
const DELAY: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
struct Tick;

#[derive(Default)]
struct Worker {
    ticks: u32,
}

#[actor]
impl Worker {
    /// Works, then arms a timer for `DELAY` from now (virtual now: the same instant the
    /// caller's clock shows, since it could not move meanwhile).
    #[handle_cast]
    fn kick(&mut self, ctx: &mut Context<Self>) {
        std::thread::sleep(WORK);
        ctx.send_after(&ctx.myself(), Tick, DELAY);
    }

    #[handle_info(local)]
    fn tick(&mut self, _tick: Tick) {
        self.ticks += 1;
    }

    #[handle_call]
    fn ticks(&mut self) -> u32 {
        self.ticks
    }

    /// Casts itself `spin` again until `stop` is set: always busy.
    #[handle_cast(local)]
    fn spin(&mut self, ctx: &mut Context<Self>, stop: Arc<AtomicBool>) {
        if !stop.load(Ordering::SeqCst) {
            let _ = ctx.myself().spin(stop);
        }
    }

    /// Answers after real work longer than the callers' timeouts below.
    #[handle_call]
    fn slow(&mut self) -> u32 {
        std::thread::sleep(WORK * 3);
        7
    }
}

/// Calls `worker.slow()` from inside a process, with a timeout shorter than the work.
#[derive(Default)]
struct Caller;

#[actor]
impl Caller {
    #[handle_call(local)]
    async fn ask_slow(&mut self, worker: ActorRef<Worker>) -> Result<u32, String> {
        let answer = worker.slow().timeout(Duration::from_micros(50)).await;
        answer.map_err(|e: CallError| e.to_string())
    }
}

async fn node(name: &str) -> Node {
    Node::builder(&format!("{name}@127.0.0.1"))
        .start()
        .await
        .expect("node starts")
}

#[tokio::test(start_paused = true)]
async fn timers_and_call_timeouts_follow_the_paused_clock_200_times() {
    let node = node("virtual_clock").await;
    let caller = node.spawn(Caller).await.unwrap();
    for round in 0..200 {
        let worker = node.spawn(Worker::default()).await.unwrap();
        let start = tokio::time::Instant::now();
        worker.kick().unwrap();

        // A call queued behind `kick`, with a virtual timeout far shorter than the real
        // work ahead of it: the clock waits for the worker, so the call is answered.
        let answer = worker.slow().timeout(Duration::from_micros(100)).await;
        assert_eq!(answer, Ok(7), "round {round}: a call to a busy process");

        // The timer was armed at `start` (virtual time stood still during the work).
        tokio::time::sleep_until(start + DELAY - Duration::from_millis(1)).await;
        assert_eq!(
            worker.ticks().await,
            Ok(0),
            "round {round}: before the timer"
        );
        tokio::time::sleep_until(start + DELAY + Duration::from_millis(1)).await;
        assert_eq!(
            worker.ticks().await,
            Ok(1),
            "round {round}: after the timer"
        );

        // A process calling a busy process: same answer.
        worker.kick().unwrap();
        assert_eq!(
            caller.ask_slow(worker.clone()).await,
            Ok(7),
            "round {round}: a call between processes"
        );
        worker.exit(ergo::Reason::Kill);
    }
    node.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn virtual_time_stands_still_while_a_process_works() {
    let node = node("virtual_still").await;
    let worker = node.spawn(Worker::default()).await.unwrap();
    let start = tokio::time::Instant::now();
    // Queued behind the kick's work, so it runs on a scheduler thread, not inline.
    worker.kick().unwrap();
    let r = worker.slow().timeout(Duration::from_secs(3600)).await;
    assert_eq!(r, Ok(7));
    assert_eq!(
        tokio::time::Instant::now(),
        start,
        "virtual time stood still while the worker worked"
    );
    node.stop().await.unwrap();
}

/// A process still busy when a test's runtime shuts down does not keep the runtime
/// (which waits for its blocking tasks) from shutting down.
#[test]
fn a_busy_process_does_not_hold_a_paused_runtime_at_shutdown() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spinning = stop.clone();
    runtime.block_on(async move {
        let node = node("virtual_busy_end").await;
        let worker = node.spawn(Worker::default()).await.unwrap();
        worker.spin(spinning).unwrap();
        // Leaves without stopping the node.
    });
    let (dropped, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(runtime);
        let _ = dropped.send(());
    });
    let ended = done.recv_timeout(Duration::from_secs(60));
    stop.store(true, Ordering::SeqCst);
    assert!(
        ended.is_ok(),
        "the runtime did not shut down while a process was busy"
    );
}
