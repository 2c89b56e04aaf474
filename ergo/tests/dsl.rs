//! Behaviour tests of the code `#[actor]` generates, on a real node with real
//! processes: calls, casts, infos, signals, errors, deferred replies, async handlers,
//! init and terminate. No test relies on wall-clock timing to pass: every wait is for
//! an event the test itself causes (a reply, a `Down`, a channel message).

use std::fmt;
use std::time::Duration;

use ergo::prelude::*;
use ergo::SpawnError;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

async fn node(name: &str) -> Node {
    Node::builder(&format!("{name}@127.0.0.1"))
        .start()
        .await
        .expect("node starts")
}

// ---------------------------------------------------------------------------
// A counter: sync and async calls, casts, infos, Result handlers, reply-then-stop.

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Tick(u64);

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum MathError {
    Overflow,
    Below(u64),
}

impl fmt::Display for MathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

#[derive(Default)]
pub struct Counter {
    count: u64,
    ticks: u64,
}

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }

    #[handle_call]
    fn get(&mut self) -> u64 {
        self.count
    }

    #[handle_call]
    fn add_both(&mut self, a: u64, b: u64) -> u64 {
        self.count += a + b;
        self.count
    }

    #[handle_call]
    fn checked_sub(&mut self, n: u64) -> Result<u64, MathError> {
        self.count = self
            .count
            .checked_sub(n)
            .ok_or(MathError::Below(self.count))?;
        Ok(self.count)
    }

    #[handle_call]
    async fn slow_add(&mut self, ctx: &mut Context<Self>, n: u64) -> u64 {
        tokio::task::yield_now().await;
        let _ = ctx.pid();
        self.count += n;
        self.count
    }

    #[handle_call]
    async fn async_fallible(&mut self, n: u64) -> Result<u64, MathError> {
        tokio::task::yield_now().await;
        self.count.checked_add(n).ok_or(MathError::Overflow)
    }

    #[handle_call]
    fn pid_of_self(&mut self, ctx: &mut Context<Self>) -> Pid {
        ctx.pid()
    }

    #[handle_call]
    fn ticks(&mut self) -> u64 {
        self.ticks
    }

    /// Replies, then stops with an error reason.
    #[handle_call]
    fn stop_after_reply(&mut self, ctx: &mut Context<Self>, why: String) -> String {
        ctx.stop(Reason::Error(why));
        "bye".to_string()
    }

    #[handle_cast]
    fn reset(&mut self) {
        self.count = 0;
    }

    #[handle_cast]
    fn set(&mut self, n: u64) {
        self.count = n;
    }

    #[handle_cast]
    async fn async_set(&mut self, n: u64) {
        tokio::task::yield_now().await;
        self.count = n;
    }

    #[handle_cast]
    fn fail(&mut self, why: String) -> Result<(), String> {
        Err(why)
    }

    #[handle_cast]
    async fn async_stop(&mut self, ctx: &mut Context<Self>) {
        tokio::task::yield_now().await;
        ctx.stop(Reason::Shutdown);
    }

    #[handle_info]
    fn tick(&mut self, tick: Tick) {
        self.ticks += tick.0;
    }
}

#[tokio::test]
async fn calls_return_typed_replies() {
    let node = node("calls").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    assert_eq!(counter.add(5).await, Ok(5));
    assert_eq!(counter.add_both(1, 2).await, Ok(8));
    assert_eq!(counter.get().await, Ok(8));
    assert_eq!(counter.pid_of_self().await, Ok(counter.pid()));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn casts_are_handled_in_order() {
    let node = node("casts").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    counter.set(10).unwrap();
    counter.add(1).await.unwrap();
    counter.reset().unwrap();
    counter.async_set(7).unwrap();
    assert_eq!(counter.get().await, Ok(7));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn infos_arrive_by_typed_and_untyped_send() {
    let node = node("infos").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    counter.send(Tick(2)).unwrap();
    node.send(counter.pid(), Tick(3)).unwrap();
    // The message enum itself is accepted too, typed or untyped.
    counter.send(CounterMessage::Set(4)).unwrap();
    node.send(counter.pid(), CounterMessage::Tick(Tick(1)))
        .unwrap();
    assert_eq!(counter.ticks().await, Ok(6));
    assert_eq!(counter.get().await, Ok(4));
    // A type the actor does not handle is given back.
    let refused = node.send(counter.pid(), "not a tick").unwrap_err();
    assert!(matches!(refused, SendError::Unhandled(_)));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn result_handlers_give_the_caller_a_typed_error() {
    let node = node("results").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    counter.set(3).unwrap();
    assert_eq!(counter.checked_sub(2).await, Ok(1));
    assert_eq!(
        counter.checked_sub(5).await,
        Err(CallError::Handler(MathError::Below(1)))
    );
    counter.set(u64::MAX).unwrap();
    assert_eq!(
        counter.async_fallible(1).await,
        Err(CallError::Handler(MathError::Overflow))
    );
    // An error answer does not stop the process.
    assert!(counter.is_alive());
    assert_eq!(counter.get().await, Ok(u64::MAX));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn async_handlers_await_and_keep_their_state() {
    let node = node("async").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    let (a, b) = tokio::join!(counter.slow_add(1), counter.slow_add(2));
    assert_eq!(a.unwrap() + b.unwrap(), 4); // 1 + 3 or 2 + 3, one at a time
    assert_eq!(counter.get().await, Ok(3));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn reply_then_stop() {
    let node = node("replystop").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    let monitor = node.monitor(counter.pid()).unwrap();
    assert_eq!(
        counter.stop_after_reply("done".into()).await,
        Ok("bye".into())
    );
    assert_eq!(monitor.down().await.reason, Reason::Error("done".into()));
    assert!(!counter.is_alive());
    assert_eq!(counter.get().await, Err(CallError::NoProcess));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_cast_returning_err_stops_the_process() {
    let node = node("casterr").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    let monitor = node.monitor(counter.pid()).unwrap();
    counter.fail("broken".into()).unwrap();
    assert_eq!(monitor.down().await.reason, Reason::Error("broken".into()));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn an_async_cast_stops_through_its_context() {
    let node = node("asyncstop").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    let monitor = node.monitor(counter.pid()).unwrap();
    counter.async_stop().unwrap();
    assert_eq!(monitor.down().await.reason, Reason::Shutdown);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn timeout_and_priority_are_set_per_call() {
    let node = node("timeout").await;
    let holder = node.spawn(Holder::default()).await.unwrap();
    let d = Duration::from_millis(20);
    // The holder keeps the token without answering: the call can only time out.
    assert_eq!(holder.hold().timeout(d).await, Err(CallError::Timeout(d)));
    let got = holder
        .count()
        .priority(Priority::High)
        .timeout(Duration::from_secs(30))
        .await;
    assert_eq!(got, Ok(1));
    node.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Reply tokens: held, dropped, answered later from another process.

#[derive(Default)]
pub struct Holder {
    held: Vec<ReplyTo<u64>>,
}

#[actor]
impl Holder {
    #[handle_call]
    fn hold(&mut self, reply: ReplyTo<u64>) {
        self.held.push(reply);
    }

    #[handle_call]
    fn count(&mut self) -> usize {
        self.held.len()
    }

    #[handle_call]
    fn ignore(&mut self, reply: ReplyTo<u64>) {
        drop(reply);
    }
}

#[tokio::test]
async fn a_dropped_reply_token_answers_no_reply_at_once() {
    let node = node("noreply").await;
    let holder = node.spawn(Holder::default()).await.unwrap();
    let got = holder.ignore().timeout(Duration::from_secs(60)).await;
    assert_eq!(got, Err(CallError::NoReply));
    node.stop().await.unwrap();
}

/// Computes on behalf of `Front`, answering Front's callers directly, when released.
pub struct Worker {
    pending: Vec<(u64, ReplyTo<Result<u64, MathError>>)>,
    got_work: UnboundedSender<u64>,
}

#[actor]
impl Worker {
    /// Local: the message carries a reply token, which cannot cross the network.
    #[handle_cast(local)]
    fn work(&mut self, n: u64, reply: ReplyTo<Result<u64, MathError>>) {
        self.pending.push((n, reply));
        let _ = self.got_work.send(n);
    }

    #[handle_cast]
    fn release(&mut self) {
        for (n, reply) in self.pending.drain(..) {
            reply.send(n.checked_mul(2).ok_or(MathError::Overflow));
        }
    }

    #[handle_call]
    async fn double(&mut self, n: u64) -> u64 {
        n * 2
    }
}

pub struct Front {
    worker: ActorRef<Worker>,
}

#[actor]
impl Front {
    #[init]
    fn setup(&mut self, ctx: &mut Context<Self>, worker: ActorRef<Worker>, name: String) {
        ctx.register(name.as_str()).unwrap();
        self.worker = worker;
    }

    /// Deferred: the worker answers the caller.
    #[handle_call]
    fn compute(&mut self, n: u64, reply: ReplyTo<Result<u64, MathError>>) {
        self.worker.work(n, reply).unwrap();
    }

    /// Async: awaits a call to another process before answering.
    #[handle_call]
    async fn ask_worker(&mut self, n: u64) -> Result<u64, String> {
        self.worker.double(n).await.map_err(|e| e.to_string())
    }
}

#[tokio::test]
async fn a_deferred_reply_is_answered_later_by_another_process() {
    let node = node("deferred").await;
    let (tx, mut got_work): (_, UnboundedReceiver<u64>) = unbounded_channel();
    let worker = node
        .spawn(Worker {
            pending: Vec::new(),
            got_work: tx,
        })
        .await
        .unwrap();
    let front = node
        .spawn_with(
            Front {
                worker: worker.clone(),
            },
            (worker.clone(), "front".to_string()),
            SpawnOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(node.whereis("front"), Some(front.pid()));

    let call = tokio::spawn({
        let front = front.clone();
        async move { front.compute(21).await }
    });
    let overflow = tokio::spawn({
        let front = front.clone();
        async move { front.compute(u64::MAX).await }
    });
    assert!(got_work.recv().await.is_some());
    assert!(got_work.recv().await.is_some());
    // Front is free while the worker holds the tokens.
    assert_eq!(front.ask_worker(4).await, Ok(8));
    worker.release().unwrap();
    assert_eq!(call.await.unwrap(), Ok(42));
    assert_eq!(
        overflow.await.unwrap(),
        Err(CallError::Handler(MathError::Overflow))
    );
    node.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Init (args, async, failing), terminate, Down and Exit.

pub struct Account {
    balance: u64,
}

#[actor]
impl Account {
    #[init]
    async fn open(&mut self, deposit: u64) -> Result<(), String> {
        tokio::task::yield_now().await;
        if deposit == 0 {
            return Err("an account opens with a deposit".into());
        }
        self.balance = deposit;
        Ok(())
    }

    #[handle_call]
    fn balance(&mut self) -> u64 {
        self.balance
    }
}

#[tokio::test]
async fn init_takes_arguments_and_may_fail() {
    let node = node("init").await;
    let account = node
        .spawn_with(Account { balance: 0 }, 10, SpawnOptions::new())
        .await
        .unwrap();
    assert_eq!(account.balance().await, Ok(10));
    let failed = node
        .spawn_with(Account { balance: 0 }, 0, SpawnOptions::new())
        .await;
    assert_eq!(
        failed.unwrap_err(),
        SpawnError::Init(Reason::Error("an account opens with a deposit".into()))
    );
    node.stop().await.unwrap();
}

/// Watches other processes; reports every signal and its own end on a channel.
pub struct Watcher {
    events: UnboundedSender<String>,
}

#[actor]
impl Watcher {
    #[init]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.trap_exit(true);
    }

    #[handle_call]
    fn watch(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.monitor(pid).is_ok()
    }

    #[handle_call]
    fn link_to(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.link(pid).is_ok()
    }

    #[handle_cast]
    fn quit(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(Reason::Error("asked to".into()));
    }

    #[handle_info]
    fn down(&mut self, down: Down) {
        let _ = self.events.send(format!("down {}", down.reason));
    }

    #[handle_info]
    async fn exit(&mut self, ctx: &mut Context<Self>, exit: Exit) {
        tokio::task::yield_now().await;
        assert!(ctx.is_trapping_exits());
        let _ = self.events.send(format!("exit {}", exit.reason));
    }

    #[terminate]
    fn end(&mut self, reason: &Reason) {
        let _ = self.events.send(format!("terminate {reason}"));
    }
}

#[tokio::test]
async fn down_exit_and_terminate_reach_their_handlers() {
    let node = node("signals").await;
    let (tx, mut events) = unbounded_channel();
    let watcher = node.spawn(Watcher { events: tx }).await.unwrap();

    let watched = node.spawn(Counter::default()).await.unwrap();
    assert_eq!(watcher.watch(watched.pid()).await, Ok(true));
    watched.stop_after_reply("watched".into()).await.unwrap();
    assert_eq!(events.recv().await.unwrap(), "down error: watched");

    let linked = node.spawn(Counter::default()).await.unwrap();
    assert_eq!(watcher.link_to(linked.pid()).await, Ok(true));
    linked.fail("linked".into()).unwrap();
    assert_eq!(events.recv().await.unwrap(), "exit error: linked");

    watcher.quit().unwrap();
    assert_eq!(events.recv().await.unwrap(), "terminate error: asked to");
    node.stop().await.unwrap();
}

#[tokio::test]
async fn raw_requests_use_the_generated_enums() {
    let node = node("raw").await;
    let counter = node.spawn(Counter::default()).await.unwrap();
    let reply = counter.request(CounterCall::Add(2)).await.unwrap();
    assert!(matches!(reply, CounterReply::Add(2)));
    // The handle is the actor ref, seen through `Deref`.
    let handle: &CounterHandle = &counter;
    assert_eq!(handle.get().await, Ok(2));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_registered_actor_is_found_typed() {
    let node = node("lookup").await;
    let counter = node
        .spawn_register("counter", Counter::default())
        .await
        .unwrap();
    let found: ActorRef<Counter> = node.lookup("counter").unwrap();
    assert_eq!(found, counter);
    assert_eq!(found.add(1).await, Ok(1));
    assert_eq!(
        node.lookup::<Holder>("counter"),
        Err(LookupError::WrongType {
            expected: std::any::type_name::<Holder>(),
            found: std::any::type_name::<Counter>(),
        })
    );
    assert_eq!(node.lookup::<Counter>("nobody"), Err(LookupError::NotFound));
    node.stop().await.unwrap();
}

#[test]
fn the_generated_enums_serialize() {
    fn roundtrip<T: Serialize + for<'de> Deserialize<'de>>() {}
    roundtrip::<CounterCall>();
    roundtrip::<CounterReply>();
    roundtrip::<CounterMessage>();
    roundtrip::<WorkerMessage>(); // `work` is local: skipped, the rest still serializes
}
