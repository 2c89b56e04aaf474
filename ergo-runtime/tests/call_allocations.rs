//! A local call in steady state allocates nothing: not from a process (the reply slot
//! is reused, the deadline goes on the node's list without a timer per call), not from
//! outside any process. Counted with a global allocator that counts every allocation
//! of the test binary (this file holds one test so nothing else runs meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ergo_runtime::{Actor, ActorRef, Context, Node, ReplyTo, Step};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as the caller promised.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller promised.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as the caller promised.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Answers every call with its argument plus one, through the reply token.
struct Echo;

impl Actor for Echo {
    type Message = ();
    type Call = u64;
    type Reply = u64;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, n: u64, reply: ReplyTo<u64>) -> Step<Self> {
        reply.send(n + 1);
        Step::Continue
    }
}

/// Makes `n` sequential calls to its callee from an async handler; answers with the
/// allocations counted (process-wide) while they ran.
struct Caller {
    callee: ActorRef<Echo>,
}

impl Actor for Caller {
    type Message = ();
    type Call = u64;
    type Reply = u64;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, n: u64, reply: ReplyTo<u64>) -> Step<Self> {
        Step::run_async(move |this: Caller, ctx| async move {
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            for i in 0..n {
                let answer = this.callee.request(i).await.expect("call");
                assert_eq!(answer, i + 1);
            }
            reply.send(ALLOCATIONS.load(Ordering::Relaxed) - before);
            (this, ctx)
        })
    }
}

const CALLS: u64 = 20_000;
/// Far below one per call: a few allocations elsewhere in the process (a timer armed
/// once per timeout period, a queue growing once) are allowed, one per call is not.
const ALLOWED: u64 = CALLS / 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_calls_allocate_nothing_in_steady_state() {
    let node = Node::builder("alloc@127.0.0.1")
        .start()
        .await
        .expect("node");
    let echo = node.spawn(Echo).await.expect("spawn");
    let caller = node
        .spawn(Caller {
            callee: echo.clone(),
        })
        .await
        .expect("spawn");
    let long = Duration::from_secs(120);

    // Warm up: slot pools, queue nodes, the timer armed for the first deadline.
    caller.request(CALLS).timeout(long).await.expect("warm-up");
    let from_a_process = caller.request(CALLS).timeout(long).await.expect("calls");

    for i in 0..CALLS {
        echo.request(i).await.expect("warm-up");
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in 0..CALLS {
        assert_eq!(echo.request(i).await.expect("call"), i + 1);
    }
    let from_outside = ALLOCATIONS.load(Ordering::Relaxed) - before;

    println!(
        "FIGURE allocations per call: from a process {:.4}, from outside {:.4} ({CALLS} calls each)",
        from_a_process as f64 / CALLS as f64,
        from_outside as f64 / CALLS as f64
    );
    assert!(
        from_a_process <= ALLOWED,
        "{from_a_process} allocations for {CALLS} calls from a process"
    );
    assert!(
        from_outside <= ALLOWED,
        "{from_outside} allocations for {CALLS} calls from outside any process"
    );
    node.stop().await.expect("stop");
}
