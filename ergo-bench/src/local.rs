//! Local workloads: messaging throughput, spawn rate, idle memory, call latency,
//! ping-pong.

use std::time::{Duration, Instant};

use ergo::{Actor, ActorRef, Context, Handles, Node, ReplyTo, Step};
use tokio::sync::oneshot;

const ONE_TO_ONE: u64 = 3_000_000;
const PER_PAIR: u64 = 1_000_000;
const SPAWNS: u64 = 1_000_000;
const CALLS: u64 = 200_000;
const ROUND_TRIPS: u64 = 1_000_000;
/// Messages a sender sends per handled message before re-sending itself the rest.
const CHUNK: u64 = 64;

pub async fn run(only: Option<&str>) {
    let want = |name: &str| only.is_none_or(|o| name.starts_with(o));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "# workload: local_1_1 = 1 sender process -> 1 receiver process, {ONE_TO_ONE} async u64 messages; \
         local_n_n = {cores} pairs x {PER_PAIR}; spawn_rate/idle_process_bytes = {SPAWNS} idle processes (state u64), \
         RSS delta / count incl. table entry; call_rtt = {CALLS} sequential calls process->process; \
         node_call_rtt = the same from outside any process; ping_pong = {ROUND_TRIPS} round trips between two processes; \
         peer_lost = a peer holding {} monitors on 100 local processes, with {} node-level monitors of its processes, lost (time of connection_lost; the slowest call between two other processes meanwhile); \
         nproc = {cores}",
        crate::peer_lost::PEER_MONITORS,
        crate::peer_lost::LOCAL_MONITORS,
    );
    let node = Node::builder("bench@127.0.0.1")
        .start()
        .await
        .expect("node");
    if want("local_1_1") {
        let rate = one_to_one(&node, 1, ONE_TO_ONE).await;
        println!("BENCH local_1_1 {rate:.0} msgs/s");
    }
    if want("local_n_n") {
        let rate = one_to_one(&node, cores, PER_PAIR).await;
        println!("BENCH local_n_n {rate:.0} msgs/s");
    }
    if want("call_rtt") {
        let rtt = call_rtt(&node).await;
        println!("BENCH call_rtt {:.3} us", rtt.as_secs_f64() * 1e6);
    }
    if want("node_call_rtt") {
        let rtt = node_call_rtt(&node).await;
        println!("BENCH node_call_rtt {:.3} us", rtt.as_secs_f64() * 1e6);
    }
    if want("ping_pong") {
        let rate = ping_pong(&node).await;
        println!("BENCH ping_pong {rate:.0} round_trips/s");
    }
    if want("peer_lost") {
        let (took, slowest) = crate::peer_lost::run(&node).await;
        println!(
            "BENCH peer_lost {:.1} ms (slowest call meanwhile {:.0} us)",
            took.as_secs_f64() * 1e3,
            slowest.as_secs_f64() * 1e6
        );
    }
    // Last: a million processes leave the allocator warm and fragmented.
    if want("spawn_rate") || want("idle_process_bytes") {
        let (rate, bytes) = spawn_idle(&node).await;
        println!("BENCH spawn_rate {rate:.0} spawns/s");
        println!("BENCH idle_process_bytes {bytes:.0} bytes");
    }
    node.stop().await.expect("stop");
}

/// Counts messages; tells `done` when it has seen `expect`.
pub struct Receiver {
    seen: u64,
    expect: u64,
    done: Option<oneshot::Sender<()>>,
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

async fn one_to_one(node: &Node, pairs: usize, per_pair: u64) -> f64 {
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

/// An idle process whose state is a `u64`.
struct Idle(#[allow(dead_code)] u64);

impl Actor for Idle {
    type Message = ();
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), reply: ReplyTo<()>) -> Step<Self> {
        reply.send(());
        Step::Continue
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn spawn_idle(node: &Node) -> (f64, f64) {
    let mut refs = Vec::with_capacity(SPAWNS as usize);
    let before = rss_bytes();
    let start = Instant::now();
    for i in 0..SPAWNS {
        refs.push(node.spawn(Idle(i)).await.expect("spawn"));
    }
    let elapsed = start.elapsed();
    // The handles the benchmark keeps are not part of a process's cost.
    let handles = (refs.capacity() * std::mem::size_of::<ActorRef<Idle>>()) as f64;
    let bytes = (rss_bytes() - before) as f64 - handles;
    for r in &refs {
        r.exit(ergo::Reason::Kill);
    }
    for r in refs {
        node.monitor(r.pid()).expect("monitor").down().await;
    }
    (SPAWNS as f64 / elapsed.as_secs_f64(), bytes / SPAWNS as f64)
}

/// Calls `callee` `CALLS` times in a row from an async handler.
struct Caller {
    callee: ActorRef<Receiver>,
}

impl Actor for Caller {
    type Message = ();
    type Call = ();
    type Reply = Duration;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        _: (),
        reply: ReplyTo<Duration>,
    ) -> Step<Self> {
        Step::run_async(move |this: Caller, ctx| async move {
            let start = Instant::now();
            for _ in 0..CALLS {
                this.callee.request(()).await.expect("call");
            }
            reply.send(start.elapsed());
            (this, ctx)
        })
    }
}

async fn call_rtt(node: &Node) -> Duration {
    let callee = node
        .spawn(Receiver {
            seen: 0,
            expect: u64::MAX,
            done: None,
        })
        .await
        .expect("spawn");
    let caller = node.spawn(Caller { callee }).await.expect("spawn");
    let total = caller
        .request(())
        .timeout(Duration::from_secs(600))
        .await
        .expect("call");
    total / CALLS as u32
}

async fn node_call_rtt(node: &Node) -> Duration {
    let callee = node
        .spawn(Receiver {
            seen: 0,
            expect: u64::MAX,
            done: None,
        })
        .await
        .expect("spawn");
    let start = Instant::now();
    for _ in 0..CALLS {
        callee.request(()).await.expect("call");
    }
    start.elapsed() / CALLS as u32
}

/// Bounces a counter with its peer until it reaches the limit.
struct Player {
    peer: Option<ActorRef<Player>>,
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
            PingPong::Ball(n) if n >= ROUND_TRIPS * 2 => {
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

async fn ping_pong(node: &Node) -> f64 {
    let (tx_a, rx_a) = oneshot::channel();
    let (tx_b, rx_b) = oneshot::channel();
    let a = node
        .spawn(Player {
            peer: None,
            done: Some(tx_a),
        })
        .await
        .expect("spawn");
    let b = node
        .spawn(Player {
            peer: None,
            done: Some(tx_b),
        })
        .await
        .expect("spawn");
    a.send(PingPong::Peer(b.clone())).expect("send");
    b.send(PingPong::Peer(a.clone())).expect("send");
    a.request(()).await.expect("sync");
    b.request(()).await.expect("sync");
    let start = Instant::now();
    a.send(PingPong::Ball(0)).expect("send");
    tokio::select! {
        _ = rx_a => {}
        _ = rx_b => {}
    }
    ROUND_TRIPS as f64 / start.elapsed().as_secs_f64()
}

/// A receiver process (answers calls), for other benchmarks.
pub async fn spawn_receiver(node: &Node) -> ActorRef<Receiver> {
    let receiver = Receiver {
        seen: 0,
        expect: u64::MAX,
        done: None,
    };
    node.spawn(receiver).await.expect("spawn")
}

/// The process's peak resident set (VmHWM), in bytes.
pub fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
