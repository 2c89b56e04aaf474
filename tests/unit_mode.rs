//! Unit mode of `ergo::testing`: a bank account actor run by hand, through every kind
//! of input (init, casts, calls sync and async, infos, exits, downs, timers, events)
//! and every kind of assertion, with failures injected into what it calls and spawns.

use std::time::Duration;

use ergo::events::{register_node_event, Event, EventDown, EventOptions, EventToken, EventsExt};
use ergo::prelude::*;
use ergo::testing::unit::{Capture, Effect, Refusal, Unit};
use ergo::{Atom, TimerRef, DEFAULT_CALL_TIMEOUT};
use serde::{Deserialize, Serialize};

// ---- the actors the account talks to (never run here: stubs stand in for them) ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    Deposit(u64),
    Withdrawal(u64),
    Interest(u64),
}

#[derive(Default)]
pub struct Ledger;

#[actor]
impl Ledger {
    #[handle_cast]
    fn record(&mut self, entry: Entry) {
        let _ = entry;
    }

    #[handle_call]
    fn entries(&mut self) -> u64 {
        0
    }
}

#[derive(Default)]
pub struct Fraud;

#[actor]
impl Fraud {
    /// Ok when the amount may leave the account.
    #[handle_call]
    fn check(&mut self, amount: u64) -> Result<(), String> {
        let _ = amount;
        Ok(())
    }
}

pub struct Notifier {
    pub channel: String,
}

#[actor]
impl Notifier {
    #[handle_cast]
    fn notify(&mut self, text: String) {
        let _ = text;
    }
}

// ---- the account under test ----

/// Interest is added when this arrives (every 30 days).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interest;

/// A hold on part of the balance ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Release(pub u64);

/// The interest rate in percent, published on the node's event "rates".
#[derive(Debug, Clone, PartialEq)]
pub struct Rate(pub u64);

/// Told to the audit process, by name, untyped.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit(pub String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BankError {
    Insufficient,
    Refused(String),
    Unavailable,
}

impl std::fmt::Display for BankError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BankError::Insufficient => f.write_str("insufficient funds"),
            BankError::Refused(why) => write!(f, "refused by the fraud check: {why}"),
            BankError::Unavailable => f.write_str("the fraud check is unavailable"),
        }
    }
}

pub struct Account {
    pub balance: u64,
    pub held: u64,
    pub rate: u64,
    balances: Option<EventToken<u64>>,
    ledger: ActorRef<Ledger>,
    fraud: ActorRef<Fraud>,
    notifier: Option<ActorRef<Notifier>>,
    hold: Option<TimerRef>,
}

impl Account {
    pub fn new(ledger: ActorRef<Ledger>, fraud: ActorRef<Fraud>) -> Self {
        Account {
            balance: 0,
            held: 0,
            rate: 1,
            balances: None,
            ledger,
            fraud,
            notifier: None,
            hold: None,
        }
    }

    fn publish_balance(&self) {
        if let Some(balances) = &self.balances {
            let _ = balances.publish(self.balance);
        }
    }

    async fn start_notifier(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        let notifier = ctx
            .spawn_link(Notifier {
                channel: "sms".into(),
            })
            .await?;
        self.notifier = Some(notifier);
        Ok(())
    }
}

#[actor]
impl Account {
    #[init]
    async fn init(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        ctx.trap_exit(true);
        ctx.register("account").map_err(|e| e.to_string())?;
        ctx.monitor(self.fraud.pid()).map_err(|e| e.to_string())?;
        ctx.send_every(&ctx.myself(), Interest, Duration::from_secs(30 * 86_400));
        let balances = ctx.register_event::<u64>("balance", EventOptions::new());
        self.balances = Some(balances.map_err(|e| e.to_string())?);
        ctx.monitor_event::<Rate>("rates")
            .map_err(|e| e.to_string())?;
        self.start_notifier(ctx).await.map_err(|e| e.to_string())
    }

    #[handle_call]
    fn deposit(&mut self, amount: u64) -> u64 {
        self.balance += amount;
        let _ = self.ledger.record(Entry::Deposit(amount));
        tracing::info!(amount, "deposit");
        self.publish_balance();
        self.balance
    }

    #[handle_call]
    async fn withdraw(&mut self, ctx: &mut Context<Self>, amount: u64) -> Result<u64, BankError> {
        if amount > self.balance - self.held {
            return Err(BankError::Insufficient);
        }
        match self.fraud.check(amount).await {
            Ok(()) => {}
            Err(CallError::Handler(why)) => return Err(BankError::Refused(why)),
            Err(e) => {
                tracing::warn!(error = %e, "fraud check failed");
                return Err(BankError::Unavailable);
            }
        }
        self.balance -= amount;
        let _ = self.ledger.record(Entry::Withdrawal(amount));
        if let Some(notifier) = &self.notifier {
            let _ = notifier
                .send_important(NotifierMessage::Notify(format!("-{amount}")))
                .await;
        }
        let _ = ctx.send("audit", Audit(format!("withdrawal {amount}")));
        Ok(self.balance)
    }

    /// Holds `amount` for `minutes`, then releases it.
    #[handle_cast]
    fn hold(&mut self, ctx: &mut Context<Self>, amount: u64, minutes: u64) {
        self.held += amount;
        let timer = ctx.send_after(
            &ctx.myself(),
            Release(amount),
            Duration::from_secs(60 * minutes),
        );
        self.hold = Some(timer);
    }

    #[handle_cast]
    fn release_now(&mut self) {
        if let Some(timer) = self.hold.take() {
            if timer.cancel() {
                self.held = 0;
            }
        }
    }

    #[handle_info]
    fn release(&mut self, release: Release) {
        self.held -= release.0;
        self.hold = None;
    }

    #[handle_info]
    fn interest(&mut self, _tick: Interest) {
        let interest = self.balance * self.rate / 100;
        self.balance += interest;
        let _ = self.ledger.record(Entry::Interest(interest));
    }

    #[handle_info(local)]
    fn rate(&mut self, event: Event<Rate>) {
        self.rate = event.message.0;
    }

    #[handle_info(local)]
    fn rates_ended(&mut self, _: EventDown) {
        self.rate = 1;
    }

    #[handle_info]
    fn fraud_down(&mut self, ctx: &mut Context<Self>, down: Down) {
        tracing::error!(reason = %down.reason, "the fraud service is gone");
        ctx.stop(Reason::error("fraud service down"));
    }

    /// The notifier died: start another.
    #[handle_info]
    async fn child_exit(&mut self, ctx: &mut Context<Self>, exit: Exit) {
        if Some(exit.from) == self.notifier.as_ref().map(|n| n.pid()) {
            self.notifier = None;
            let _ = self.start_notifier(ctx).await;
        }
    }

    #[handle_cast]
    fn close(&mut self) -> Result<(), String> {
        if self.balance > 0 {
            return Err(format!("closing with {} left", self.balance));
        }
        Ok(())
    }

    #[terminate]
    fn terminate(&mut self, reason: &Reason) {
        tracing::info!(%reason, "account closed");
    }
}

/// A started account with its two stubs, the fraud check approving everything.
fn account() -> (Unit<Account>, ActorRef<Ledger>, ActorRef<Fraud>) {
    let (unit, ledger, fraud, _) = account_and_rates();
    (unit, ledger, fraud)
}

/// An account not yet initialised, on a node with the event "rates" it subscribes to.
fn unstarted() -> (Unit<Account>, EventToken<Rate>) {
    let unit = Unit::new_with(|stubs| Account::new(stubs.stub(), stubs.stub()));
    let rates = register_node_event::<Rate>(unit.node(), "rates", EventOptions::new()).unwrap();
    (unit, rates)
}

fn account_and_rates() -> (
    Unit<Account>,
    ActorRef<Ledger>,
    ActorRef<Fraud>,
    EventToken<Rate>,
) {
    let (mut unit, rates) = unstarted();
    let ledger = unit.actor().ledger.clone();
    let fraud = unit.actor().fraud.clone();
    unit.answer(&fraud, |_| Ok(FraudReply::Check(Ok(()))));
    unit.init().expect("init");
    (unit, ledger, fraud, rates)
}

#[test]
fn init_registers_monitors_arms_interest_and_spawns_a_linked_notifier() {
    let (unit, _, fraud) = account();
    unit.should_register("account").once();
    unit.should_monitor(fraud.pid()).once();
    unit.should_arm_timer()
        .to(unit.pid())
        .every(Duration::from_secs(30 * 86_400))
        .message::<Interest>()
        .once();
    unit.should_spawn::<Notifier>()
        .linked()
        .matching(|n| n.channel == "sms")
        .once();
    unit.should_send().never();
    unit.should_not_stop();
    assert!(unit.actor().notifier.is_some());
}

#[test]
fn a_deposit_replies_records_and_logs() {
    let (mut unit, ledger, _) = account();
    unit.clear();
    assert_eq!(unit.call(|me| me.deposit(100)), Ok(100));
    assert_eq!(unit.call(|me| me.deposit(50)), Ok(150));
    unit.should_send()
        .to(&ledger)
        .message(LedgerMessage::Record(Entry::Deposit(100)))
        .once();
    unit.should_send().to(&ledger).times(2);
    unit.should_send()
        .to(&ledger)
        .matching(|m| matches!(m, LedgerMessage::Record(Entry::Deposit(n)) if *n > 120))
        .never();
    unit.should_log()
        .level(tracing::Level::INFO)
        .containing("deposit")
        .times(2);
    assert_eq!(unit.actor().balance, 150);
}

#[test]
fn an_async_withdrawal_awaits_the_scripted_fraud_check_and_notifies_importantly() {
    let (mut unit, ledger, fraud) = account();
    unit.call(|me| me.deposit(100)).unwrap();
    unit.clear();
    assert_eq!(unit.call(|me| me.withdraw(30)), Ok(70));
    unit.should_call()
        .to(&fraud)
        .request(fraud.check(30))
        .answered()
        .once();
    unit.should_send()
        .to(&ledger)
        .message(LedgerMessage::Record(Entry::Withdrawal(30)))
        .once();
    let notifier = unit.actor().notifier.clone().unwrap();
    unit.should_send()
        .to(&notifier)
        .message(NotifierMessage::Notify("-30".into()))
        .important()
        .once();
    unit.should_send()
        .to_target(Atom::new("audit"))
        .message(Audit("withdrawal 30".into()))
        .once();
}

#[test]
fn failures_injected_into_calls_reach_the_handler() {
    let (mut unit, ledger, fraud) = account();
    unit.call(|me| me.deposit(100)).unwrap();

    // A refusal the stub scripts.
    unit.answer(&fraud, |req| match req {
        FraudCall::Check(n) if *n > 50 => Ok(FraudReply::Check(Err("too much".into()))),
        _ => Ok(FraudReply::Check(Ok(()))),
    });
    assert_eq!(
        unit.call(|me| me.withdraw(60)),
        Err(CallError::Handler(BankError::Refused("too much".into())))
    );

    // A timeout: virtual time moves by the call's timeout, the handler logs it.
    let before = unit.now();
    unit.timeout_next_call(&fraud);
    assert_eq!(
        unit.call(|me| me.withdraw(10)),
        Err(CallError::Handler(BankError::Unavailable))
    );
    assert_eq!(unit.now() - before, DEFAULT_CALL_TIMEOUT);
    unit.should_call().to(&fraud).failed().once();
    unit.should_log()
        .level(tracing::Level::WARN)
        .containing("fraud check failed")
        .once();

    // Any other error.
    unit.fail_next_call(&fraud, CallError::NoProcess);
    assert_eq!(
        unit.call(|me| me.withdraw(10)),
        Err(CallError::Handler(BankError::Unavailable))
    );
    unit.should_call().to(&fraud).failed().times(2);
    unit.should_send()
        .to(&ledger)
        .matching(|m| matches!(m, LedgerMessage::Record(Entry::Withdrawal(_))))
        .never();
    assert_eq!(unit.actor().balance, 100);
}

#[test]
fn a_failed_spawn_fails_init() {
    let (mut unit, _rates) = unstarted();
    unit.fail_next_spawn::<Notifier>(SpawnError::NodeStopping);
    assert!(unit.init().is_err());
    unit.should_spawn::<Notifier>().failed().once();
    assert!(matches!(unit.stopped(), Some(Reason::Error(_))));
}

#[test]
fn a_taken_name_fails_init() {
    let (mut unit, _rates) = unstarted();
    unit.take_name("account");
    assert_eq!(unit.init(), Err(Reason::error("name 'account' is taken")));
    unit.should_register("account").never();
    unit.should_spawn::<Notifier>().never();
}

#[test]
fn timers_fire_in_virtual_time_and_a_cancelled_hold_never_does() {
    let (mut unit, ledger, _) = account();
    unit.call(|me| me.deposit(1_000)).unwrap();

    unit.cast(|me| me.hold(400, 10));
    unit.should_arm_timer()
        .after(Duration::from_secs(600))
        .message::<Release>()
        .once();
    assert_eq!(unit.actor().held, 400);
    assert_eq!(
        unit.call(|me| me.withdraw(700)),
        Err(CallError::Handler(BankError::Insufficient))
    );

    unit.advance(Duration::from_secs(599));
    assert_eq!(unit.actor().held, 400);
    unit.advance(Duration::from_secs(1));
    assert_eq!(unit.actor().held, 0);

    // Interest: every 30 days, twice in 61 days (from the start).
    unit.clear();
    unit.advance(Duration::from_secs(61 * 86_400));
    unit.should_send()
        .to(&ledger)
        .matching(|m| matches!(m, LedgerMessage::Record(Entry::Interest(_))))
        .times(2);
    assert_eq!(unit.actor().balance, 1_000 + 10 + 10);

    // A hold released early: its timer is cancelled and never fires.
    let timer = Capture::new();
    unit.cast(|me| me.hold(100, 5));
    unit.should_arm_timer()
        .message::<Release>()
        .capture(&timer)
        .at_least(1);
    unit.cast(|me| me.release_now());
    unit.should_cancel_timer(timer.get()).once();
    assert_eq!(unit.actor().held, 0);
    unit.advance(Duration::from_secs(600));
    assert_eq!(unit.actor().held, 0, "a cancelled release must not fire");
}

#[test]
fn a_down_of_the_fraud_service_stops_the_account_and_terminate_runs() {
    let (mut unit, _, fraud) = account();
    let monitor = Capture::new();
    unit.should_monitor(fraud.pid()).capture(&monitor).once();
    unit.down(Down {
        monitor: monitor.get(),
        pid: fraud.pid(),
        name: None,
        reason: Reason::Kill,
    });
    unit.should_stop_with(Reason::error("fraud service down"));
    unit.should_log()
        .level(tracing::Level::ERROR)
        .containing("gone")
        .once();
    unit.should_log().containing("account closed").once();
}

#[test]
fn exits_are_trapped_and_a_dead_notifier_is_replaced() {
    let (mut unit, _, _) = account();
    let first = Capture::new();
    unit.should_spawn::<Notifier>().capture(&first).once();
    let first = first.get();
    unit.exit(first.pid(), Reason::error("crashed"));
    unit.should_spawn::<Notifier>().times(2);
    let now = unit.actor().notifier.clone().unwrap();
    assert_ne!(now.pid(), first.pid());
    unit.should_not_stop();

    // From its parent an exit is not trapped.
    let parent = unit.parent();
    unit.exit(parent, Reason::Shutdown);
    unit.should_stop_with(Reason::Shutdown);
}

#[test]
fn a_handler_error_stops_the_actor_with_it() {
    let (mut unit, _, _) = account();
    unit.call(|me| me.deposit(5)).unwrap();
    unit.cast(|me| me.close());
    unit.should_stop_with(Reason::error("closing with 5 left"));
    assert!(matches!(unit.effects().last(), Some(Effect::Stop(_))));
}

#[test]
fn a_failing_assertion_lists_what_the_actor_did() {
    let (mut unit, ledger, _) = account();
    unit.call(|me| me.deposit(7)).unwrap();
    let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        unit.should_send()
            .to(&ledger)
            .message(LedgerMessage::Record(Entry::Deposit(8)))
            .once();
    }))
    .expect_err("the assertion must fail");
    let text = failure.downcast_ref::<String>().unwrap();
    assert!(text.contains("expected one send"), "{text}");
    assert!(text.contains(r#"{"Record":{"Deposit":7}}"#), "{text}");
}

#[test]
fn balances_are_published_and_rates_delivered_to_the_subscribed_account() {
    let (mut unit, ledger, _, rates) = account_and_rates();
    let balances = unit.watch_event::<u64>("balance").unwrap();
    unit.call(|me| me.deposit(1_000)).unwrap();
    unit.call(|me| me.deposit(500)).unwrap();
    unit.should_publish(&balances).message(1_500).once();
    unit.should_publish(&balances).times(2);
    assert_eq!(unit.published(&balances), vec![1_000, 1_500]);

    // A rate published on the node reaches the account, which uses it for interest.
    unit.publish(&rates, Rate(2)).unwrap();
    assert_eq!(unit.actor().rate, 2);
    unit.clear();
    unit.advance(Duration::from_secs(30 * 86_400));
    unit.should_send()
        .to(&ledger)
        .message(LedgerMessage::Record(Entry::Interest(30)))
        .once();

    // The event ends: the account is told (an `EventDown` is delivered like any info).
    unit.send(EventDown {
        name: Atom::new("rates"),
        reason: Reason::Shutdown,
    });
    assert_eq!(unit.actor().rate, 1);
}

// ---- a rate limiter: deferred replies, blocking jobs, self-sends, links ----

/// Lets `capacity` callers through per window; the others wait for the next window.
pub struct Limiter {
    capacity: usize,
    used: usize,
    waiting: Vec<ReplyTo<bool>>,
    refused_sends: usize,
    worker: Option<Pid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Window;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checksum(pub u64);

#[actor]
impl Limiter {
    /// Answers at once while the window has room, else when the next window opens.
    #[handle_call]
    fn acquire(&mut self, ctx: &mut Context<Self>, reply: ReplyTo<bool>) {
        if self.used < self.capacity {
            self.used += 1;
            reply.send(true);
        } else {
            if self.waiting.is_empty() {
                let _ = ctx.myself().send(Window);
            }
            self.waiting.push(reply);
        }
    }

    #[handle_info]
    fn window(&mut self, _: Window) {
        self.used = 0;
        while self.used < self.capacity {
            let Some(reply) = self.waiting.pop() else {
                break;
            };
            self.used += 1;
            reply.send(true);
        }
    }

    /// Hands work to a helper it links to, and sums a file off the scheduler.
    #[handle_cast(local)]
    fn delegate(&mut self, ctx: &mut Context<Self>, worker: ActorRef<Ledger>) {
        let _ = ctx.link(worker.pid());
        self.worker = Some(worker.pid());
        if worker.record(Entry::Deposit(1)).is_err() {
            self.refused_sends += 1;
            let retry = LedgerMessage::Record(Entry::Deposit(1));
            let _ = worker.send_with_priority(retry, Priority::High);
        }
        ctx.spawn_blocking(|| Checksum((1..=10).sum()));
    }

    #[handle_info]
    fn checksum(&mut self, ctx: &mut Context<Self>, sum: Checksum) {
        if let Some(worker) = self.worker.take() {
            ctx.unlink(worker);
            ctx.send_exit(worker, Reason::error(format!("checksum {}", sum.0)));
        }
    }

    #[handle_cast]
    fn crash(&mut self) {
        panic!("limiter state corrupted");
    }
}

fn limiter(capacity: usize) -> Unit<Limiter> {
    Unit::start(Limiter {
        capacity,
        used: 0,
        waiting: Vec::new(),
        refused_sends: 0,
        worker: None,
    })
}

#[test]
fn a_deferred_reply_comes_when_the_actor_gives_it() {
    let mut unit = limiter(1);
    assert_eq!(unit.call(|me| me.acquire()), Ok(true));
    // Full: the caller waits; the actor asks itself for the next window at once.
    unit.clear();
    let pending = unit.call_later(|me| me.acquire());
    unit.should_send().to(unit.me()).once();
    assert_eq!(pending.reply(), Some(Ok(true)));

    // No room at all: the reply stays pending until the actor gives it.
    let mut closed = limiter(0);
    let pending = closed.call_later(|me| me.acquire());
    assert!(pending.reply().is_none());
    closed.actor_mut().capacity = 1;
    closed.send(Window);
    assert_eq!(pending.reply(), Some(Ok(true)));

    // `call` refuses a reply that has not come.
    let unanswered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = limiter(0).call(|me| me.acquire());
    }));
    assert!(unanswered.is_err());
}

#[test]
fn blocking_jobs_links_exits_and_refused_sends_are_recorded() {
    let mut unit = limiter(1);
    let worker = unit.stub::<Ledger>();
    unit.refuse_next_send(worker.pid(), Refusal::MailboxFull);
    unit.cast(|me| me.delegate(worker.clone()));
    assert_eq!(unit.actor().refused_sends, 1);
    unit.should_send()
        .to(&worker)
        .priority(Priority::Normal)
        .never();
    unit.should_send()
        .to(&worker)
        .message(LedgerMessage::Record(Entry::Deposit(1)))
        .priority(Priority::High)
        .once();
    unit.should_link(worker.pid()).once();
    // The blocking job ran and its result came back as a message.
    unit.should_unlink(worker.pid()).once();
    unit.should_send_exit(worker.pid(), Reason::error("checksum 55"))
        .once();
}

#[test]
fn a_panic_stops_the_actor_with_its_message() {
    let mut unit = limiter(1);
    unit.cast(|me| me.crash());
    unit.should_stop_with(Reason::Panic("limiter state corrupted".into()));
}

#[tokio::test]
async fn unit_mode_runs_inside_an_async_test_too() {
    let mut unit = limiter(2);
    assert_eq!(unit.call(|me| me.acquire()), Ok(true));
    unit.stop(Reason::Shutdown);
    unit.should_stop_with(Reason::Shutdown);
}
