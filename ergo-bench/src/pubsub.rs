//! Distributed publish/subscribe, as Go Ergo's benchmark: one event on a producer node,
//! subscribers spread over 10 consumer nodes (all nodes in this OS process, talking
//! over loopback TCP), each consumer node's subscribers on that node.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ergo::events::{register_node_event, EventToken};
use ergo::net::NetOptions;
use ergo::prelude::*;
use tokio::sync::Notify;

const NODES: usize = 10;
const SUSTAINED: u64 = 100;

/// Counts deliveries across every subscriber; wakes the benchmark at `target`.
#[derive(Default)]
pub struct Tally {
    seen: AtomicU64,
    target: AtomicU64,
    reached: Notify,
}

impl Tally {
    fn arrive(&self) {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if n == self.target.load(Ordering::Relaxed) {
            self.reached.notify_one();
        }
    }

    async fn wait_for(&self, target: u64) {
        self.target.store(target, Ordering::Relaxed);
        while self.seen.load(Ordering::Relaxed) < target {
            let notified = self.reached.notified();
            if self.seen.load(Ordering::Relaxed) >= target {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    }
}

/// A subscriber: subscribes in its init, counts what it gets.
pub struct Sub {
    tally: Arc<Tally>,
}

#[actor]
impl Sub {
    #[init]
    async fn init(&mut self, ctx: &mut Context<Self>, at: String) -> Result<(), String> {
        ctx.monitor_remote_event::<u64>("bench", at.as_str())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    #[handle_info(local)]
    fn event(&mut self, _event: Event<u64>) {
        self.tally.arrive();
    }

    #[handle_info(local)]
    fn ended(&mut self, _down: EventDown) {}
}

async fn node(name: &str, options: NetOptions) -> Node {
    Node::builder(name)
        .cookie("pubsub")
        .network(options)
        .start()
        .await
        .expect("node")
}

/// (subscribe ms, deliver ms, sustained events/s when measured, peak RSS bytes).
async fn run_with(total: usize, sustained: bool) -> (f64, f64, Option<f64>, u64) {
    ergo::register_message::<u64>();
    let tag = format!("{}x{total}", std::process::id());
    let producer_name = format!("pub{tag}@127.0.0.1");
    let producer = node(&producer_name, NetOptions::new().registrar(None)).await;
    let token: EventToken<u64> =
        register_node_event(&producer, "bench", ergo::events::EventOptions::new()).expect("event");
    let route = producer.listen_addr().expect("listening");
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let mut consumers = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..NODES {
        let options = NetOptions::new()
            .registrar(None)
            .route(&producer_name, route);
        let consumer = node(&format!("sub{i}x{tag}@127.0.0.1"), options).await;
        let (tally, at, n) = (tally.clone(), producer_name.clone(), total / NODES);
        let c = consumer.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                let sub = Sub {
                    tally: tally.clone(),
                };
                c.spawn_with(sub, at.clone(), SpawnOptions::new())
                    .await
                    .expect("subscriber");
            }
        }));
        consumers.push(consumer);
    }
    for t in tasks {
        t.await.expect("subscribers");
    }
    let subscribe = start.elapsed();
    let start = Instant::now();
    token.publish(1).expect("publish");
    tally.wait_for(total as u64).await;
    let deliver = start.elapsed();
    let rate = if sustained {
        let start = Instant::now();
        for i in 0..SUSTAINED {
            token.publish(i).expect("publish");
        }
        tally.wait_for(total as u64 * (SUSTAINED + 1)).await;
        Some(SUSTAINED as f64 / start.elapsed().as_secs_f64())
    } else {
        None
    };
    let rss = peak_rss_bytes();
    for c in consumers {
        let _ = c.stop().await;
    }
    let _ = producer.stop().await;
    (
        subscribe.as_secs_f64() * 1e3,
        deliver.as_secs_f64() * 1e3,
        rate,
        rss,
    )
}

pub async fn run(only: Option<&str>) {
    let want = |name: &str| only.is_none_or(|o| name.starts_with(o));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "# workload: one event on a producer node, subscribers spread evenly over {NODES} consumer \
         nodes (all in this OS process, loopback TCP); subscribe = every subscriber process spawned \
         and subscribed; deliver = one event published until every subscriber has it; \
         events_per_s = {SUSTAINED} events published back to back to 100,000 subscribers; nproc = {cores}"
    );
    if want("pubsub_100k") {
        let (subscribe, deliver, rate, _) = run_with(100_000, true).await;
        println!("BENCH pubsub_100k_subscribe_ms {subscribe:.0} ms");
        println!("BENCH pubsub_100k_deliver_ms {deliver:.1} ms");
        if let Some(rate) = rate {
            println!("BENCH pubsub_100k_events_per_s {rate:.0} events/s");
        }
    }
    if want("pubsub_1m") {
        let (subscribe, deliver, _, rss) = run_with(1_000_000, false).await;
        println!("BENCH pubsub_1m_subscribe_ms {subscribe:.0} ms");
        println!("BENCH pubsub_1m_deliver_ms {deliver:.1} ms");
        println!("BENCH pubsub_peak_rss_bytes {rss} bytes");
    }
}

/// The process's peak resident set (VmHWM), in bytes.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
