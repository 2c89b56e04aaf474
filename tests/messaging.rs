//! Send and call: call timeouts with the late reply dropped, deferred replies, a dropped
//! reply token, calls to self, calls to dead processes, panics that stay isolated, and
//! sends from outside any process.

use std::future::IntoFuture;
use std::time::Duration;

use ergo::{
    Actor, ActorRef, CallError, Context, Handles, Priority, Reason, ReplyTo, SendError, Step,
};
use ergo_tests::{ask, block, eventually, guard, node, seen, task, Cmd, Event, Journal, Probe};

type Answer = Result<u64, CallError>;

/// Answers calls now, later, from another handler, or from another process.
#[derive(Default)]
struct Deferrer {
    pending: Vec<(u64, ReplyTo<Answer>)>,
    helper: Option<ActorRef<Helper>>,
}

enum Ask {
    /// Keep the reply token until told to answer.
    Defer(u64),
    /// Keep the token and answer from the next handler (a message to itself).
    DeferToSelf(u64),
    /// Hand the token to the helper process, which answers `n * 10`.
    Forward(u64),
    /// Drop the token without answering.
    Drop,
    /// Answer at once.
    Echo(u64),
    /// Call itself from an async handler; answer with what that call returned.
    CallSelf,
    /// How many tokens it still holds.
    Pending,
}

enum Tell {
    /// Answer every kept token with its number.
    ReleaseAll,
}

impl Actor for Deferrer {
    type Message = Tell;
    type Call = Ask;
    type Reply = Answer;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, msg: Tell) -> Step<Self> {
        match msg {
            Tell::ReleaseAll => {
                for (n, reply) in self.pending.drain(..) {
                    reply.send(Ok(n));
                }
            }
        }
        Step::Continue
    }

    fn handle_call(
        &mut self,
        ctx: &mut Context<Self>,
        req: Ask,
        reply: ReplyTo<Answer>,
    ) -> Step<Self> {
        match req {
            Ask::Defer(n) => self.pending.push((n, reply)),
            Ask::DeferToSelf(n) => {
                self.pending.push((n, reply));
                ctx.myself().send(Tell::ReleaseAll).expect("alive");
            }
            Ask::Forward(n) => {
                let helper = self.helper.as_ref().expect("helper set");
                helper.send((n, reply)).expect("helper alive");
            }
            Ask::Drop => drop(reply),
            Ask::Echo(n) => reply.send(Ok(n)),
            Ask::CallSelf => {
                return Step::run_async(|me: Deferrer, ctx: Context<Deferrer>| async move {
                    let own = ctx.myself().request(Ask::Echo(1)).await;
                    reply.send(own.and_then(|r| r));
                    (me, ctx)
                })
            }
            Ask::Pending => reply.send(Ok(self.pending.len() as u64)),
        }
        Step::Continue
    }
}

impl Handles<Tell> for Deferrer {
    fn into_message(msg: Tell) -> Tell {
        msg
    }
}

/// Answers the reply tokens it is handed.
struct Helper;

impl Actor for Helper {
    type Message = (u64, ReplyTo<Answer>);
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, (n, reply): Self::Message) -> Step<Self> {
        reply.send(Ok(n * 10));
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }
}

impl Handles<(u64, ReplyTo<Answer>)> for Helper {
    fn into_message(msg: (u64, ReplyTo<Answer>)) -> (u64, ReplyTo<Answer>) {
        msg
    }
}

#[tokio::test]
async fn call_timeout_drops_the_late_reply() {
    let node = node("late").await;
    let d = node.spawn(Deferrer::default()).await.unwrap();

    // Nobody answers until told: the timeout is certain, whatever its length.
    let short = Duration::from_millis(20);
    let timed_out = d.request(Ask::Defer(1)).timeout(short).await;
    assert_eq!(timed_out, Err(CallError::Timeout(short)));
    assert_eq!(d.request(Ask::Pending).await, Ok(Ok(1)));

    // The late reply goes to a caller that gave up: dropped, nothing breaks.
    d.send(Tell::ReleaseAll).unwrap();
    assert_eq!(d.request(Ask::Pending).await, Ok(Ok(0)));
    // The next call gets its own reply, not the stale one.
    assert_eq!(d.request(Ask::Echo(2)).await, Ok(Ok(2)));
    assert_eq!(d.request(Ask::DeferToSelf(3)).await, Ok(Ok(3)));
    assert!(d.is_alive());

    // Several timed-out calls, then their late replies, then fresh calls.
    for n in 10..15 {
        let r = d.request(Ask::Defer(n)).timeout(short).await;
        assert_eq!(r, Err(CallError::Timeout(short)));
    }
    d.send(Tell::ReleaseAll).unwrap();
    for n in 20..25 {
        assert_eq!(d.request(Ask::Echo(n)).await, Ok(Ok(n)));
    }
    node.stop().await.unwrap();
}

#[tokio::test]
async fn deferred_reply_from_another_handler() {
    let node = node("defer_handler").await;
    let d = node.spawn(Deferrer::default()).await.unwrap();
    assert_eq!(d.request(Ask::DeferToSelf(7)).await, Ok(Ok(7)));
    assert_eq!(d.request(Ask::Pending).await, Ok(Ok(0)));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn deferred_reply_released_by_a_later_message() {
    let node = node("defer_later").await;
    let d = node.spawn(Deferrer::default()).await.unwrap();
    let call = tokio::spawn(d.request(Ask::Defer(8)).into_future());
    eventually("the deferred call held", || {
        // A call made by a task we do not control: wait until the process holds it.
        node.process_info(d.pid()).unwrap().messages_in == 1
    })
    .await;
    d.send(Tell::ReleaseAll).unwrap();
    assert_eq!(guard("the deferred reply", call).await.unwrap(), Ok(Ok(8)));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn deferred_reply_from_another_process() {
    let node = node("defer_process").await;
    let helper = node.spawn(Helper).await.unwrap();
    let d = node
        .spawn(Deferrer {
            pending: Vec::new(),
            helper: Some(helper),
        })
        .await
        .unwrap();
    assert_eq!(d.request(Ask::Forward(5)).await, Ok(Ok(50)));
    assert_eq!(d.request(Ask::Forward(6)).await, Ok(Ok(60)));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_dropped_reply_token_fails_the_call_at_once() {
    let node = node("noreply").await;
    let d = node.spawn(Deferrer::default()).await.unwrap();
    // With the default 5 s timeout: a late NoReply would show up as Timeout instead.
    assert_eq!(d.request(Ask::Drop).await, Err(CallError::NoReply));
    assert_eq!(d.request(Ask::Echo(1)).await, Ok(Ok(1)));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_call_to_self_fails_at_once() {
    let node = node("callself").await;
    let d = node.spawn(Deferrer::default()).await.unwrap();
    let r = d.request(Ask::CallSelf).timeout(ergo_tests::GUARD).await;
    assert_eq!(r, Ok(Err(CallError::CallToSelf)));
    // The process is unharmed and its queue did not get the self-call.
    assert_eq!(d.request(Ask::Echo(4)).await, Ok(Ok(4)));
    assert_eq!(d.request(Ask::Pending).await, Ok(Ok(0)));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn calls_to_dead_or_dying_processes_fail_with_no_process() {
    let node = node("deadcall").await;
    let probe = node.spawn(Probe::new("p")).await.unwrap();

    // A call queued when the process stops is answered NoProcess, not left to time out.
    let mut key = block(&probe).await;
    let queued = {
        let probe = probe.clone();
        tokio::spawn(async move { ask(&probe, |p, _| p.seen.clone()).await })
    };
    eventually("the call queued", || {
        node.process_info(probe.pid()).unwrap().queue_lengths[2] == 1
    })
    .await;
    probe
        .send_with_priority(Cmd::Stop(Reason::Normal), Priority::High)
        .unwrap();
    let monitor = node.monitor(probe.pid()).unwrap();
    key.open();
    assert_eq!(
        guard("the Down", monitor.down()).await.reason,
        Reason::Normal
    );
    assert_eq!(
        guard("the queued call", queued).await.unwrap(),
        Err(CallError::NoProcess)
    );

    // A call to a dead process fails at once.
    assert_eq!(
        ask(&probe, |p, _| p.seen.clone()).await,
        Err(CallError::NoProcess)
    );
    assert!(!probe.is_alive());
    assert!(matches!(probe.send(1u64), Err(SendError::NoProcess(1))));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_panic_ends_only_the_process_that_panicked() {
    let node = node("panic").await;
    let journal = Journal::default();
    let others: Vec<_> = {
        let mut v = Vec::new();
        for i in 0..8 {
            v.push(node.spawn(Probe::new(&format!("other{i}"))).await.unwrap());
        }
        v
    };
    for (i, p) in others.iter().enumerate() {
        p.send(i as u64).unwrap();
    }

    // A panic in a sync handler.
    let (probe, mut events) = Probe::new("sync").journal(&journal).events();
    let victim = node.spawn(probe).await.unwrap();
    let monitor = node.monitor(victim.pid()).unwrap();
    victim.send(Cmd::Panic("boom".into())).unwrap();
    let down = guard("the Down", monitor.down()).await;
    assert_eq!(down.reason, Reason::Panic("boom".into()));
    // Its terminate still ran, with the panic as reason.
    assert_eq!(
        events.recv().await,
        Some(Event::Terminated(Reason::Panic("boom".into())))
    );

    // A panic in an async handler.
    let victim = node
        .spawn(Probe::new("async").journal(&journal))
        .await
        .unwrap();
    let monitor = node.monitor(victim.pid()).unwrap();
    victim
        .send(task(|_, _| {
            Step::run_async(|p: Probe, ctx| async move {
                tokio::task::yield_now().await;
                if p.seen.is_empty() {
                    panic!("async boom");
                }
                (p, ctx)
            })
        }))
        .unwrap();
    let down = guard("the Down", monitor.down()).await;
    assert_eq!(down.reason, Reason::Panic("async boom".into()));

    // A panic inside a call handler: the caller learns at once, and why.
    let victim = node
        .spawn(Probe::new("call").journal(&journal))
        .await
        .unwrap();
    let r = ask(&victim, |_, _| -> u64 { panic!("call boom") }).await;
    assert_eq!(r, Err(CallError::Exited(Reason::Panic("call boom".into()))));

    // Everyone else still answers, with their state intact.
    for (i, p) in others.iter().enumerate() {
        assert_eq!(seen(p).await, vec![i as u64]);
    }
    // The caller may learn before the panicked process has run its terminate.
    ergo_tests::eventually("both panics journaled", || {
        let journal = journal.lock().unwrap();
        journal.contains(&"sync:panic: boom".to_owned())
            && journal.contains(&"call:panic: call boom".to_owned())
    })
    .await;
    node.stop().await.unwrap();
}

#[tokio::test]
async fn sends_and_calls_from_outside_any_process() {
    let node = node("outside").await;
    let probe = node
        .spawn_register("outside_probe", Probe::new("p"))
        .await
        .unwrap();

    // Held while everything below is queued, so the handling order is the queue order.
    let mut key = block(&probe).await;
    // From a plain OS thread, with no tokio runtime: typed, by pid, by name.
    let thread = {
        let (probe, node) = (probe.clone(), node.clone());
        std::thread::spawn(move || {
            probe.send(1u64).unwrap();
            node.send(probe.pid(), 2u64).unwrap();
            node.send("outside_probe", Cmd::Record(3)).unwrap();
            node.send_with_priority(probe.pid(), 4u64, Priority::Low)
                .unwrap();
        })
    };
    thread.join().unwrap();
    // From the test's task.
    node.send("outside_probe", 5u64).unwrap();

    // A type the process does not handle comes back as Unhandled, with the message.
    match node.send(probe.pid(), "not a number") {
        Err(SendError::Unhandled(msg)) => {
            assert_eq!(*msg.downcast::<&str>().unwrap(), "not a number")
        }
        other => panic!("expected Unhandled, got {other:?}"),
    }
    // Unknown names and dead pids: NoProcess, with the message.
    match node.send("nobody_here", 6u64) {
        Err(SendError::NoProcess(msg)) => assert_eq!(*msg.downcast::<u64>().unwrap(), 6),
        other => panic!("expected NoProcess, got {other:?}"),
    }

    key.open();
    // A call from outside, in the log queue so it runs after the Low message.
    let got = ergo_tests::ask_with(&probe, Priority::Low, |p, _| p.seen.clone())
        .await
        .unwrap();
    assert_eq!(got, vec![1, 2, 3, 5, 4]);

    // A typed lookup by name, then a call through it.
    let found = node.lookup::<Probe>("outside_probe").unwrap();
    assert_eq!(found, probe);
    assert!(
        matches!(
            node.lookup::<Deferrer>("outside_probe"),
            Err(ergo::LookupError::WrongType { .. })
        ),
        "wrong actor type"
    );
    assert_eq!(seen(&found).await.len(), 5);
    // Messages sent from outside a process count as nobody's messages out.
    assert_eq!(node.process_info(probe.pid()).unwrap().messages_out, 0);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn reply_then_stop_answers_the_caller_first() {
    let node = node("reply_stop").await;
    let p = node.spawn(Probe::new("p")).await.unwrap();
    let monitor = node.monitor(p.pid()).unwrap();
    let r = ask(&p, |_, ctx| {
        ctx.stop(Reason::error("done here"));
        "last words"
    })
    .await;
    assert_eq!(r, Ok("last words"));
    assert_eq!(
        guard("the Down", monitor.down()).await.reason,
        Reason::error("done here")
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn stop_requested_before_an_async_handler_ends_the_process_when_it_finishes() {
    let node = node("stop_then_await").await;
    let p = node.spawn(Probe::new("p")).await.unwrap();
    let monitor = node.monitor(p.pid()).unwrap();
    p.send(task(|_, ctx| {
        ctx.stop(Reason::error("stop asked in the sync part"));
        Step::run_async(|p: Probe, ctx| async move { (p, ctx) })
    }))
    .unwrap();
    // No further message arrives: the stop must not wait for one.
    let down = guard("the Down", monitor.down()).await;
    assert_eq!(down.reason, Reason::error("stop asked in the sync part"));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn stop_requested_before_an_async_handler_is_not_deferred_to_the_next_message() {
    // With a message queued behind the async handler, that message must not be
    // handled: the process stops as soon as the async handler finishes.
    let node = node("stop_then_await_next").await;
    let (probe, mut events) = Probe::new("p").events();
    let p = node.spawn(probe).await.unwrap();
    let monitor = node.monitor(p.pid()).unwrap();
    // Both are queued while the process is blocked, so the message is surely behind.
    let mut key = block(&p).await;
    p.send(task(|_, ctx| {
        ctx.stop(Reason::error("asked"));
        Step::run_async(|p: Probe, ctx| async move { (p, ctx) })
    }))
    .unwrap();
    p.send(1u64).unwrap();
    key.open();
    let down = guard("the Down", monitor.down()).await;
    assert_eq!(down.reason, Reason::error("asked"));
    let mut handled_after_stop = Vec::new();
    while let Some(event) = events.recv().await {
        if let Event::Seen(n) = event {
            handled_after_stop.push(n);
        }
    }
    assert_eq!(
        handled_after_stop,
        Vec::<u64>::new(),
        "a message was handled after the process asked to stop"
    );
    node.stop().await.unwrap();
}

/// Call handlers that panic (at once, or after an await), and a reply token kept for
/// later in the actor's state.
#[derive(Default)]
struct Fragile {
    kept: Vec<ReplyTo<u64>>,
}

#[ergo::actor]
impl Fragile {
    #[handle_call]
    fn boom(&mut self) -> u64 {
        panic!("boom in a call")
    }

    #[handle_call]
    async fn boom_later(&mut self) -> u64 {
        tokio::task::yield_now().await;
        panic!("boom after an await")
    }

    /// Keeps the token: the answer comes later, or never.
    #[handle_call]
    fn keep(&mut self, reply: ReplyTo<u64>) {
        self.kept.push(reply);
    }

    #[handle_call]
    fn kept(&mut self) -> usize {
        self.kept.len()
    }

    #[handle_cast]
    fn quit(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(Reason::error("asked to quit"));
    }
}

/// Starts a `keep` call and returns once the process holds its token.
async fn kept_call(f: &ActorRef<Fragile>) -> tokio::task::JoinHandle<Result<u64, CallError>> {
    let call = tokio::spawn(f.keep().into_future());
    guard("the token kept", async {
        while f.kept().await.unwrap() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    call
}

#[tokio::test]
async fn a_panicking_call_handler_gives_its_caller_the_panic() {
    let node = node("call_panic").await;
    let panic = |msg: &str| Err(CallError::Exited(Reason::Panic(msg.into())));

    let f = node.spawn(Fragile::default()).await.unwrap();
    assert_eq!(f.boom().await, panic("boom in a call"));
    // The caller is answered when the panic is caught, before the process has left
    // the tables: it is gone soon after.
    eventually("the crashed process gone", || !f.is_alive()).await;

    let f = node.spawn(Fragile::default()).await.unwrap();
    assert_eq!(f.boom_later().await, panic("boom after an await"));

    // A caller whose token the actor kept learns of the panic of another handler.
    let f = node.spawn(Fragile::default()).await.unwrap();
    let waiting = kept_call(&f).await;
    assert_eq!(f.boom().await, panic("boom in a call"));
    assert_eq!(
        guard("the kept call", waiting).await.unwrap(),
        panic("boom in a call")
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_reply_pending_when_the_process_ends_gets_its_exit_reason() {
    let node = node("pending_exit").await;
    let f = node.spawn(Fragile::default()).await.unwrap();
    let waiting = kept_call(&f).await;
    f.quit().unwrap();
    assert_eq!(
        guard("the kept call", waiting).await.unwrap(),
        Err(CallError::Exited(Reason::error("asked to quit")))
    );

    let f = node.spawn(Fragile::default()).await.unwrap();
    let waiting = kept_call(&f).await;
    node.kill(f.pid());
    assert_eq!(
        guard("the kept call", waiting).await.unwrap(),
        Err(CallError::Exited(Reason::Kill))
    );
    // A token dropped by a live handler still says NoReply (see
    // `a_dropped_reply_token_fails_the_call_at_once`).
    node.stop().await.unwrap();
}
