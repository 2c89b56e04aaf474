//! Asynchronous messaging workloads: a stream from senders to receivers, and pairs of
//! processes bouncing a ball (ping-pong).

use std::time::Instant;

use ergo::{Actor, ActorRef, Context, Handles, Node, ReplyTo, Step};
use tokio::sync::oneshot;

pub const ONE_TO_ONE: u64 = 3_000_000;
pub const PER_PAIR: u64 = 1_000_000;
pub const ROUND_TRIPS: u64 = 1_000_000;
pub const PAIRS: usize = 100;
pub const PAIR_ROUND_TRIPS: u64 = 10_000;
/// Messages a sender sends per handled message before re-sending itself the rest.
const CHUNK: u64 = 64;

/// Counts messages; tells `done` when it has seen `expect`. Answers calls with `()`.
pub struct Receiver {
    pub seen: u64,
    pub expect: u64,
    pub done: Option<oneshot::Sender<()>>,
}

impl Actor for Receiver {
    type Message = u64;
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: u64) -> Step<Self> {
        self.seen += 1;
        if self.seen == self.expect {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }
}

impl Handles<u64> for Receiver {
    fn into_message(msg: u64) -> u64 {
        msg
    }
}

/// A receiver process that never finishes counting (it answers calls).
pub async fn spawn_receiver(node: &Node) -> ActorRef<Receiver> {
    let receiver = Receiver {
        seen: 0,
        expect: u64::MAX,
        done: None,
    };
    node.spawn(receiver).await.expect("spawn")
}

/// Sends `left` messages to `to`, `CHUNK` per turn, re-sending itself the rest.
struct Sender {
    to: ActorRef<Receiver>,
}

impl Actor for Sender {
    type Message = u64;
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, ctx: &mut Context<Self>, left: u64) -> Step<Self> {
        let n = left.min(CHUNK);
        for i in 0..n {
            let _ = self.to.send(i);
        }
        if left > n {
            let _ = ctx.myself().send(left - n);
        }
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }
}

impl Handles<u64> for Sender {
    fn into_message(msg: u64) -> u64 {
        msg
    }
}

/// `pairs` senders each stream `per_pair` messages to their own receiver: msgs/s.
pub async fn one_to_one(node: &Node, pairs: usize, per_pair: u64) -> f64 {
    let mut senders = Vec::new();
    let mut done = Vec::new();
    for _ in 0..pairs {
        let (tx, rx) = oneshot::channel();
        let to = node
            .spawn(Receiver {
                seen: 0,
                expect: per_pair,
                done: Some(tx),
            })
            .await
            .expect("spawn");
        senders.push(node.spawn(Sender { to }).await.expect("spawn"));
        done.push(rx);
    }
    let start = Instant::now();
    for s in &senders {
        s.send(per_pair).expect("send");
    }
    for rx in done {
        rx.await.expect("done");
    }
    (pairs as u64 * per_pair) as f64 / start.elapsed().as_secs_f64()
}

/// Bounces a counter with its peer until it reaches `2 * round_trips`.
struct Player {
    peer: Option<ActorRef<Player>>,
    round_trips: u64,
    done: Option<oneshot::Sender<()>>,
}

enum PingPong {
    Peer(ActorRef<Player>),
    Ball(u64),
}

impl Actor for Player {
    type Message = PingPong;
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, msg: PingPong) -> Step<Self> {
        match msg {
            PingPong::Peer(peer) => self.peer = Some(peer),
            PingPong::Ball(n) if n >= self.round_trips * 2 => {
                if let Some(done) = self.done.take() {
                    let _ = done.send(());
                }
            }
            PingPong::Ball(n) => {
                if let Some(peer) = &self.peer {
                    let _ = peer.send(PingPong::Ball(n + 1));
                }
            }
        }
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }
}

impl Handles<PingPong> for Player {
    fn into_message(msg: PingPong) -> PingPong {
        msg
    }
}

/// `pairs` pairs of processes, each pair bouncing one ball for `round_trips` round
/// trips, all at once: round trips/s over all pairs.
pub async fn pairs(node: &Node, pairs: usize, round_trips: u64) -> f64 {
    let mut serves = Vec::new();
    let mut done = Vec::new();
    for _ in 0..pairs {
        let (tx, rx) = oneshot::channel();
        let player = |done| Player {
            peer: None,
            round_trips,
            done: Some(done),
        };
        // The ball ends at `a` (an even count); `b`'s token is never used.
        let a = node.spawn(player(tx)).await.expect("spawn");
        let b = node
            .spawn(player(oneshot::channel().0))
            .await
            .expect("spawn");
        a.send(PingPong::Peer(b.clone())).expect("send");
        b.send(PingPong::Peer(a.clone())).expect("send");
        a.request(()).await.expect("sync");
        b.request(()).await.expect("sync");
        serves.push(a);
        done.push(rx);
    }
    let start = Instant::now();
    for a in &serves {
        a.send(PingPong::Ball(0)).expect("send");
    }
    for rx in done {
        rx.await.expect("done");
    }
    (pairs as u64 * round_trips) as f64 / start.elapsed().as_secs_f64()
}
