//! A lost peer through the core's per-peer bookkeeping: a peer holding 100,000
//! monitors on local processes, local processes holding 100,000 monitors and 1,000
//! links on its processes. When it is lost, every local watcher gets exactly one
//! `Down` with `NoConnection`, every link fires once, the peer's monitors are dropped
//! (a local process ending later sends it nothing), and a call between two unrelated
//! local processes made meanwhile is answered.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ergo::dev::Dist;
use ergo::prelude::*;
use ergo::Atom;
use ergo_tests::{guard, node, CountingTransport};

const PEER: &str = "peer@127.0.0.1";
const WATCHERS: u64 = 100;
const PER_WATCHER: u64 = 1_000;
const TARGETS: u64 = 100;
const PEER_MONITORS: u64 = 100_000;

/// Monitors and links remote pids; counts the `Down`s and exits it gets.
#[derive(Default)]
struct Watcher {
    downs: u64,
    exits: u64,
    other: u64,
}

#[actor]
impl Watcher {
    #[init]
    fn init(&mut self, ctx: &mut Context<Self>) {
        ctx.trap_exit(true);
    }

    #[handle_call]
    fn watch(&mut self, ctx: &mut Context<Self>, first: u64, n: u64, link: bool) {
        for id in first..first + n {
            let pid = Pid::new(Atom::new(PEER), id, 1);
            ctx.monitor(pid).expect("a transport reaches the peer");
            if link && id == first {
                ctx.link(pid).expect("a transport reaches the peer");
            }
        }
    }

    #[handle_call]
    fn counts(&mut self) -> (u64, u64, u64) {
        (self.downs, self.exits, self.other)
    }

    #[handle_info]
    fn down(&mut self, down: Down) {
        if down.reason == Reason::NoConnection {
            self.downs += 1;
        } else {
            self.other += 1;
        }
    }

    #[handle_info]
    fn exit(&mut self, exit: Exit) {
        if exit.reason == Reason::NoConnection {
            self.exits += 1;
        } else {
            self.other += 1;
        }
    }
}

/// A plain counter, for the call made while the peer is being forgotten.
#[derive(Default)]
struct Echo;

#[actor]
impl Echo {
    #[handle_call]
    fn echo(&mut self, n: u64) -> u64 {
        n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_peer_fires_each_link_and_monitor_once_without_stalling_the_node() {
    let node = node("book").await;
    let dist = Dist::new(&node);
    let transport = Arc::new(CountingTransport::new(PEER));
    dist.add_transport(transport.clone());
    let peer = Atom::new(PEER);

    // Local processes watch (and some link to) the peer's processes.
    let mut watchers = Vec::new();
    for w in 0..WATCHERS {
        let watcher = node.spawn(Watcher::default()).await.unwrap();
        guard("watch", watcher.watch(w * PER_WATCHER, PER_WATCHER, true))
            .await
            .unwrap();
        watchers.push(watcher);
    }
    // The peer's processes monitor local ones, 1,000 monitors each.
    let mut targets = Vec::new();
    for _ in 0..TARGETS {
        targets.push(node.spawn(Echo).await.unwrap());
    }
    for i in 0..PEER_MONITORS {
        let target = targets[(i % TARGETS) as usize].pid();
        let watcher = Pid::new(peer, i, 1);
        let reference = dist.remote_ref(peer, 1, i);
        assert_eq!(
            dist.accept_monitor(Target::Pid(target), watcher, reference),
            Some(target)
        );
    }
    let (links, watching, watched) = dist.booked(peer);
    assert_eq!(links, WATCHERS as usize);
    assert_eq!(watching, (WATCHERS * PER_WATCHER) as usize);
    assert_eq!(watched, PEER_MONITORS as usize);
    assert_eq!(
        transport.monitors.load(Ordering::Relaxed),
        (WATCHERS * PER_WATCHER) as usize
    );

    // Lose the peer on another thread while two other local processes talk.
    let (a, b) = (
        node.spawn(Echo).await.unwrap(),
        node.spawn(Echo).await.unwrap(),
    );
    let lost = {
        let dist = dist.clone();
        tokio::task::spawn_blocking(move || dist.connection_lost(peer))
    };
    assert_eq!(guard("call during the loss", a.echo(7)).await, Ok(7));
    assert_eq!(guard("call during the loss", b.echo(8)).await, Ok(8));
    guard("connection_lost", lost).await.unwrap();
    assert_eq!(dist.booked(peer), (0, 0, 0));

    // Each watcher got one Down per monitor and one exit per link, nothing else.
    for watcher in &watchers {
        let counts = guard("counts", async {
            loop {
                let c = watcher.counts().await.unwrap();
                if c.0 >= PER_WATCHER && c.1 >= 1 {
                    break c;
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert_eq!(counts, (PER_WATCHER, 1, 0));
    }
    // A second loss of the same peer fires nothing more.
    dist.connection_lost(peer);
    for watcher in &watchers {
        assert_eq!(watcher.counts().await.unwrap(), (PER_WATCHER, 1, 0));
    }
    // The peer's monitors are gone: local processes ending now tell it nothing.
    for target in &targets {
        let info = node.process_info(target.pid()).unwrap();
        assert!(info.monitored_by.is_empty());
    }
    for target in &targets {
        let monitor = node.monitor(target.pid()).unwrap();
        node.kill(target.pid());
        guard("target down", monitor.down()).await;
    }
    assert_eq!(transport.downs.load(Ordering::Relaxed), 0);
    node.stop().await.unwrap();
}
