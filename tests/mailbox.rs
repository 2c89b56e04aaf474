//! Mailbox behaviour seen from outside: strict priority order, per-queue limits that
//! give the message back, FIFO per sender→receiver pair, and no lost wake-up under a
//! flood or a long ping-pong.

use std::collections::HashMap;

use ergo::{
    Actor, ActorRef, CallError, Context, Handles, Priority, ReplyTo, SendError, SpawnOptions, Step,
};
use ergo_tests::{ask_with, block, guard, node, seen, Cmd, Probe};
use tokio::sync::oneshot;

const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

fn rank(p: Priority) -> u64 {
    match p {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Normal => 2,
        Priority::Low => 3,
    }
}

#[tokio::test]
async fn strict_priority_order_fifo_within_each_queue() {
    let node = node("prio").await;
    let probe = node.spawn(Probe::new("p")).await.unwrap();
    let mut key = block(&probe).await;

    // Interleave the four priorities, lowest first, so arrival order alone would be wrong.
    const PER_QUEUE: u64 = 50;
    for i in 0..PER_QUEUE {
        for p in PRIORITIES {
            probe.send_with_priority(rank(p) * 1000 + i, p).unwrap();
        }
    }
    let info = node.process_info(probe.pid()).unwrap();
    assert_eq!(info.queue_lengths, [PER_QUEUE as u32; 4]);

    key.open();
    // A call in the log queue runs after everything queued before it.
    let order = ask_with(&probe, Priority::Low, |p, _| p.seen.clone())
        .await
        .unwrap();
    let expected: Vec<u64> = (0..4)
        .flat_map(|r| (0..PER_QUEUE).map(move |i| r * 1000 + i))
        .collect();
    assert_eq!(
        order, expected,
        "urgent > high > normal > low, FIFO within each"
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_higher_priority_call_overtakes_queued_messages() {
    let node = node("prio_call").await;
    let probe = node.spawn(Probe::new("p")).await.unwrap();
    let mut key = block(&probe).await;
    for i in 0..5u64 {
        probe.send(i).unwrap();
    }
    let caller = {
        let probe = probe.clone();
        tokio::spawn(async move { ask_with(&probe, Priority::Urgent, |p, _| p.seen.clone()).await })
    };
    // The urgent call is queued behind nothing.
    ergo_tests::eventually("the urgent call queued", || {
        node.process_info(probe.pid()).unwrap().queue_lengths[0] == 1
    })
    .await;
    key.open();
    assert_eq!(caller.await.unwrap().unwrap(), Vec::<u64>::new());
    assert_eq!(seen(&probe).await, vec![0, 1, 2, 3, 4]);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_full_queue_gives_the_message_back() {
    let node = node("limit").await;
    let probe = node
        .spawn_with(Probe::new("p"), (), SpawnOptions::new().mailbox_limit(2))
        .await
        .unwrap();
    let mut key = block(&probe).await;

    probe.send(1u64).unwrap();
    probe.send(2u64).unwrap();
    match probe.send(3u64) {
        Err(SendError::MailboxFull(msg)) => assert_eq!(msg, 3),
        other => panic!("expected MailboxFull, got {other:?}"),
    }
    // Typed message enums come back whole, too.
    match probe.send(Cmd::Record(4)) {
        Err(SendError::MailboxFull(Cmd::Record(4))) => {}
        other => panic!("expected MailboxFull(Record(4)), got {other:?}"),
    }
    // Untyped sends give the box back.
    match node.send(probe.pid(), 5u64) {
        Err(SendError::MailboxFull(msg)) => assert_eq!(*msg.downcast::<u64>().unwrap(), 5),
        other => panic!("expected MailboxFull, got {other:?}"),
    }
    // A call to the full queue fails at once.
    let call = ask_with(&probe, Priority::Normal, |p, _| p.seen.clone()).await;
    assert_eq!(call, Err(CallError::MailboxFull));
    // The limit is per queue: the system queue still has room.
    probe.send_with_priority(10u64, Priority::High).unwrap();
    probe.send_with_priority(11u64, Priority::High).unwrap();
    assert!(matches!(
        probe.send_with_priority(12u64, Priority::High),
        Err(SendError::MailboxFull(12))
    ));
    assert_eq!(
        node.process_info(probe.pid()).unwrap().queue_lengths,
        [0, 2, 2, 0]
    );

    key.open();
    // The log queue is empty: a call there is admitted and runs after the rest.
    let order = ask_with(&probe, Priority::Low, |p, _| p.seen.clone())
        .await
        .unwrap();
    assert_eq!(order, vec![10, 11, 1, 2]);
    // Drained: the queue accepts again.
    probe.send(6u64).unwrap();
    assert_eq!(seen(&probe).await, vec![10, 11, 1, 2, 6]);
    node.stop().await.unwrap();
}

// ---- FIFO per sender→receiver pair ----

const SENDERS: usize = 8;

/// Checks that every sender's numbers arrive in order; reports when all arrived.
struct Checker {
    next: Vec<u64>,
    out_of_order: Vec<(usize, u64, u64)>,
    received: u64,
    expected: u64,
    done: Option<oneshot::Sender<()>>,
}

impl Checker {
    fn new(senders: usize, expected: u64, done: oneshot::Sender<()>) -> Checker {
        Checker {
            next: vec![0; senders],
            out_of_order: Vec::new(),
            received: 0,
            expected,
            done: Some(done),
        }
    }
}

/// Per sender: its next expected number, and the out-of-order arrivals
/// `(sender, expected, got)`.
type Report = (Vec<u64>, Vec<(usize, u64, u64)>);

impl Actor for Checker {
    type Message = (usize, u64);
    type Call = ();
    type Reply = Report;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, (from, seq): (usize, u64)) -> Step<Self> {
        if seq != self.next[from] {
            self.out_of_order.push((from, self.next[from], seq));
        }
        self.next[from] = seq + 1;
        self.received += 1;
        if self.received == self.expected {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<Report>) -> Step<Self> {
        reply.send((self.next.clone(), self.out_of_order.clone()));
        Step::Continue
    }
}

impl Handles<(usize, u64)> for Checker {
    fn into_message(msg: (usize, u64)) -> (usize, u64) {
        msg
    }
}

/// Sends its numbered sequence to a checker in bursts, re-queuing itself between
/// bursts so the senders interleave.
struct Sender {
    id: usize,
    next: u64,
    total: u64,
    to: ActorRef<Checker>,
}

struct Burst;

impl Actor for Sender {
    type Message = Burst;
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, ctx: &mut Context<Self>, _: Burst) -> Step<Self> {
        let end = (self.next + 97).min(self.total);
        while self.next < end {
            self.to.send((self.id, self.next)).expect("checker alive");
            self.next += 1;
        }
        if self.next < self.total {
            ctx.myself().send(Burst).expect("sender alive");
        }
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }
}

impl Handles<Burst> for Sender {
    fn into_message(msg: Burst) -> Burst {
        msg
    }
}

#[tokio::test]
async fn fifo_per_pair_with_8_sender_processes() {
    const EACH: u64 = 20_000;
    let node = node("fifo_procs").await;
    let (done_tx, done) = oneshot::channel();
    let checker = node
        .spawn(Checker::new(SENDERS, EACH * SENDERS as u64, done_tx))
        .await
        .unwrap();
    let mut senders = Vec::new();
    for id in 0..SENDERS {
        let sender = Sender {
            id,
            next: 0,
            total: EACH,
            to: checker.clone(),
        };
        senders.push(node.spawn(sender).await.unwrap());
    }
    for s in &senders {
        s.send(Burst).unwrap();
    }
    guard("all messages arriving", done).await.unwrap();
    let (next, out_of_order) = checker.request(()).await.unwrap();
    assert_eq!(out_of_order, vec![], "per-sender order broken");
    assert_eq!(next, vec![EACH; SENDERS]);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn fifo_per_pair_with_8_sender_threads() {
    const EACH: u64 = 20_000;
    let node = node("fifo_threads").await;
    let (done_tx, done) = oneshot::channel();
    let checker = node
        .spawn(Checker::new(SENDERS, EACH * SENDERS as u64, done_tx))
        .await
        .unwrap();
    let threads: Vec<_> = (0..SENDERS)
        .map(|id| {
            let to = checker.clone();
            std::thread::spawn(move || {
                for seq in 0..EACH {
                    to.send((id, seq)).expect("checker alive");
                }
            })
        })
        .collect();
    guard("all messages arriving", done).await.unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let (next, out_of_order) = checker.request(()).await.unwrap();
    assert_eq!(out_of_order, vec![], "per-sender order broken");
    assert_eq!(next, vec![EACH; SENDERS]);
    node.stop().await.unwrap();
}

// ---- no lost wake-up ----

/// Counts messages per producer; reports once the expected number arrived. Sends
/// nothing back, so the only thing that can wake it is the producers' own messages.
struct Counter {
    per_producer: HashMap<u32, u64>,
    total: u64,
    expected: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Actor for Counter {
    type Message = u32;
    type Call = ();
    type Reply = HashMap<u32, u64>;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, producer: u32) -> Step<Self> {
        *self.per_producer.entry(producer).or_default() += 1;
        self.total += 1;
        if self.total == self.expected {
            if let Some(done) = self.done.take() {
                let _ = done.send(self.total);
            }
        }
        Step::Continue
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        _: (),
        reply: ReplyTo<Self::Reply>,
    ) -> Step<Self> {
        reply.send(self.per_producer.clone());
        Step::Continue
    }
}

impl Handles<u32> for Counter {
    fn into_message(msg: u32) -> u32 {
        msg
    }
}

#[tokio::test]
async fn no_lost_wakeup_one_million_messages_from_4_producers() {
    const PRODUCERS: u32 = 4;
    const EACH: u64 = 250_000;
    let node = node("flood").await;
    let (done_tx, done) = oneshot::channel();
    let counter = node
        .spawn(Counter {
            per_producer: HashMap::new(),
            total: 0,
            expected: EACH * u64::from(PRODUCERS),
            done: Some(done_tx),
        })
        .await
        .unwrap();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|id| {
            let to = counter.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    to.send(id).expect("counter alive");
                    // Small bursts: the counter drains them and goes idle over and over,
                    // so most bursts start with a wake-up race.
                    if i % 16 == 15 {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    // The counter reports by itself; nothing else is sent to it until it has, so a lost
    // wake-up leaves it idle with messages queued and this never completes.
    let total = guard("the counter seeing all 1,000,000 messages", done)
        .await
        .unwrap();
    assert_eq!(total, 1_000_000);
    for p in producers {
        p.join().unwrap();
    }
    let per_producer = counter.request(()).await.unwrap();
    for id in 0..PRODUCERS {
        assert_eq!(per_producer.get(&id), Some(&EACH), "producer {id}");
    }
    let info = node.process_info(counter.pid()).unwrap();
    assert_eq!(info.messages_in, 1_000_000 + 1);
    node.stop().await.unwrap();
}

/// Bounces a counter with its peer until it reaches zero.
struct Player {
    peer: Option<ActorRef<Player>>,
    hits: u64,
    done: Option<oneshot::Sender<u64>>,
}

enum Play {
    Peer(ActorRef<Player>),
    Ball(u64),
}

impl Actor for Player {
    type Message = Play;
    type Call = ();
    type Reply = u64;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, msg: Play) -> Step<Self> {
        match msg {
            Play::Peer(peer) => self.peer = Some(peer),
            Play::Ball(left) => {
                self.hits += 1;
                if left == 0 {
                    if let Some(done) = self.done.take() {
                        let _ = done.send(self.hits);
                    }
                } else {
                    let peer = self.peer.as_ref().expect("peer set before the ball");
                    peer.send(Play::Ball(left - 1)).expect("peer alive");
                }
            }
        }
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<u64>) -> Step<Self> {
        reply.send(self.hits);
        Step::Continue
    }
}

impl Handles<Play> for Player {
    fn into_message(msg: Play) -> Play {
        msg
    }
}

#[tokio::test]
async fn no_lost_wakeup_in_a_long_ping_pong() {
    const ROUND_TRIPS: u64 = 200_000;
    let node = node("pingpong").await;
    let (done_tx, done) = oneshot::channel();
    let ping = node
        .spawn(Player {
            peer: None,
            hits: 0,
            done: None,
        })
        .await
        .unwrap();
    let pong = node
        .spawn(Player {
            peer: None,
            hits: 0,
            done: Some(done_tx),
        })
        .await
        .unwrap();
    ping.send(Play::Peer(pong.clone())).unwrap();
    pong.send(Play::Peer(ping.clone())).unwrap();
    // Every hop finds its receiver idle: each one is a wake-up that must not be lost.
    ping.send(Play::Ball(2 * ROUND_TRIPS - 1)).unwrap();
    let pong_hits = guard("200,000 round trips", done).await.unwrap();
    assert_eq!(pong_hits, ROUND_TRIPS);
    assert_eq!(ping.request(()).await.unwrap(), ROUND_TRIPS);
    node.stop().await.unwrap();
}

/// Makes `n` sequential calls to a peer from inside an async handler: each reply
/// wakes a process that is awaiting, not one that is idle.
struct CallLoop {
    peer: ActorRef<Probe>,
}

impl Actor for CallLoop {
    type Message = ();
    type Call = u64;
    type Reply = u64;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, n: u64, reply: ReplyTo<u64>) -> Step<Self> {
        Step::run_async(move |me: CallLoop, ctx| async move {
            let mut answered = 0;
            for i in 0..n {
                let echoed = ergo_tests::ask(&me.peer, move |_, _| i)
                    .await
                    .expect("peer answers");
                assert_eq!(echoed, i);
                answered += 1;
            }
            reply.send(answered);
            (me, ctx)
        })
    }
}

#[tokio::test]
async fn no_lost_wakeup_in_a_long_call_ping_pong() {
    const CALLS: u64 = 50_000;
    let node = node("callpong").await;
    let peer = node.spawn(Probe::new("peer")).await.unwrap();
    let caller = node.spawn(CallLoop { peer }).await.unwrap();
    let answered = guard(
        "50,000 calls between processes",
        caller.request(CALLS).timeout(ergo_tests::GUARD),
    )
    .await
    .unwrap();
    assert_eq!(answered, CALLS);
    node.stop().await.unwrap();
}
