//! Spawn rate and the memory of an idle process.

use std::time::Instant;

use ergo::{Actor, ActorRef, Context, Node, ReplyTo, Step};

pub const SPAWNS: u64 = 1_000_000;

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

/// Spawns `SPAWNS` idle processes: (spawns/s, resident bytes per process).
pub async fn spawn_idle(node: &Node) -> (f64, f64) {
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
