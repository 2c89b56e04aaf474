//! A small supervision tree watched by the Observer, until Ctrl-C.
//!
//! The application `shop` runs `shop_sup` (one-for-one) over a `counter` and
//! `workers` (rest-for-one) with two `Worker`s that tick five times a second. The
//! Observer serves its UI on <http://127.0.0.1:9911/>, the Prometheus metrics on
//! `/metrics` and the health probes on `/health/live`, `/health/ready` and
//! `/health/startup` of the same server. A cron job sends the counter a text message
//! every ten seconds; the counter accepts text messages from the UI too.
//!
//! Run it with `cargo run -p ergo --features observer --example observer`.

use std::sync::Arc;
use std::time::Duration;

use ergo::observer::clock::SystemClock;
use ergo::observer::cron::{Action, Cron};
use ergo::observer::health::{Health, Probe, Signal};
use ergo::observer::log::LogConfig;
use ergo::observer::metrics::Metrics;
use ergo::observer::{ObserverExt, ObserverOptions};
use ergo::prelude::*;

/// Counts what it is told; accepts text messages.
#[derive(Default, Debug)]
pub struct Counter {
    count: u64,
    last_text: Option<String>,
}

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }

    #[handle_info]
    fn text(&mut self, text: String) {
        tracing::info!(%text, "the counter got a text message");
        self.count += 1;
        self.last_text = Some(text);
    }
}

/// Ticks five times a second, beating its health signal and counting its ticks.
#[derive(Default)]
pub struct Worker {
    ticks: u64,
    signal: String,
    health: Option<Arc<Health>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("ticks", &self.ticks)
            .field("signal", &self.signal)
            .finish()
    }
}

/// A worker's tick.
#[derive(Clone, Debug)]
pub struct Tick;

#[actor]
impl Worker {
    #[init]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.send_every(&ctx.myself(), Tick, Duration::from_millis(200));
        self.signal = format!("worker {}", ctx.pid());
        let health = Health::of(ctx.node());
        self.health = Some(health.clone());
        health.register(
            ctx.node(),
            Signal::new(self.signal.clone(), &[Probe::Live])
                .owner(ctx.pid())
                .heartbeat(Duration::from_secs(5)),
        );
    }

    #[handle_info(local)]
    fn tick(&mut self, _tick: Tick) {
        self.ticks += 1;
        if let Some(health) = &self.health {
            health.beat(&self.signal);
        }
    }
}

supervisor! {
    /// Two workers: when the first fails, the second restarts too.
    pub Workers: rest_for_one(intensity = 5, period = 5s) {
        worker1: Worker,
        worker2: Worker,
    }
}

supervisor! {
    /// The application's root.
    pub ShopSup: one_for_one(intensity = 5, period = 5s) {
        counter: Counter,
        workers: Workers,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _logs = LogConfig::new().init()?;
    let node = Node::builder("observer@127.0.0.1").start().await?;

    let requests = Metrics::of(&node).counter("shop_requests", "Requests served by the shop")?;
    node.load_application(
        ApplicationSpec::new("shop", ChildSpec::new("shop_sup", || (ShopSup::new(), ())))
            .description("a counter and two workers")
            .role("counting", "counter"),
    )?;
    node.start_application("shop").await?;
    Health::of(&node).register(
        &node,
        Signal::new("started", &[Probe::Startup, Probe::Ready]),
    );

    let cron = Cron::start(&node, Arc::new(SystemClock));
    cron.add(
        "poke",
        "*/10 * * * * *",
        Action::send("counter", "a cron poke".to_string()),
    )?;
    cron.add(
        "count",
        "* * * * * *",
        Action::run(move |_, _| {
            requests.inc();
            Ok(())
        }),
    )?;

    let observer = node.start_observer(ObserverOptions::new()).await?;
    println!(
        "Observer on {}  (metrics: {}metrics, health: {}health/live)",
        observer.url(),
        observer.url(),
        observer.url()
    );
    println!("Ctrl-C stops the node.");
    node.wait().await?;
    Ok(())
}
