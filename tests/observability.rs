//! Metrics, health probes, logging and cron with real processes: probes flip when a
//! process dies or its heartbeat stops, the busiest mailboxes show in `/metrics`,
//! per-process log levels change at run time, a process receives log records, and
//! cron's failures reach a fallback process.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ergo::net::{NetOptions, NetworkExt};
use ergo::observer::clock::ManualClock;
use ergo::observer::cron::{Action, Cron, CronFailure};
use ergo::observer::health::{Health, Probe, Signal};
use ergo::observer::log::{self, LogConfig, LogRecord};
use ergo::observer::metrics::Metrics;
use ergo::observer::{ObserverExt, ObserverOptions};
use ergo::prelude::*;
use ergo_tests::{block, eventually, guard, http, NetCounter, Probe as TestProbe};
use prometheus_parse::{Scrape, Value};
use tracing::level_filters::LevelFilter;

async fn observed(name: &str) -> (Node, std::net::SocketAddr) {
    let node = ergo_tests::node(name).await;
    let observer = node
        .start_observer(ObserverOptions::new().addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    (node, observer.local_addr())
}

/// Logs at debug and info when asked.
#[derive(Default)]
pub struct Chatty;

#[actor]
impl Chatty {
    #[handle_call]
    fn talk(&mut self, n: u64) {
        tracing::debug!(n, "chatty debug");
        tracing::info!(n, "chatty info");
    }
}

/// Keeps the log records it is sent; answers with their messages.
#[derive(Default)]
pub struct Collector {
    records: Vec<LogRecord>,
    failures: Vec<CronFailure>,
    numbers: Vec<u64>,
}

#[actor]
impl Collector {
    #[handle_info(local)]
    fn record(&mut self, record: LogRecord) {
        self.records.push(record);
    }

    #[handle_info(local)]
    fn failure(&mut self, failure: CronFailure) {
        self.failures.push(failure);
    }

    #[handle_info]
    fn number(&mut self, n: u64) {
        self.numbers.push(n);
    }

    #[handle_call]
    fn messages(&mut self, from: Pid) -> Vec<String> {
        self.records
            .iter()
            .filter(|r| r.pid == Some(from))
            .map(|r| format!("{} {}", r.level, r.message))
            .collect()
    }

    #[handle_call]
    fn failures(&mut self) -> Vec<CronFailure> {
        self.failures.clone()
    }

    #[handle_call]
    fn numbers(&mut self) -> Vec<u64> {
        self.numbers.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_flip_when_a_process_dies_or_goes_silent() {
    let (node, addr) = observed("obs_health").await;
    let worker = node.spawn(Chatty).await.unwrap();
    let health = Health::of(&node);
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    health.set_clock(Arc::new(clock.clone()));
    health.register(
        &node,
        Signal::new("chatty", &[Probe::Live]).owner(worker.pid()),
    );
    health.register(
        &node,
        Signal::new("feed", &[Probe::Ready]).heartbeat(Duration::from_secs(5)),
    );
    assert_eq!(http(addr, "GET", "/health/live", None, None).await.0, 200);
    assert_eq!(http(addr, "GET", "/health/ready", None, None).await.0, 200);
    assert_eq!(
        http(addr, "GET", "/health/startup", None, None).await.0,
        200
    );
    assert_eq!(http(addr, "GET", "/health/other", None, None).await.0, 404);

    // The owner dies: live turns 503, with the reason.
    node.kill(worker.pid());
    let mut body = String::new();
    guard("live turns 503", async {
        loop {
            let (status, b) = http(addr, "GET", "/health/live", None, None).await;
            if status == 503 {
                body = b;
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["up"], false);
    assert_eq!(json["signals"][0]["reason"], "its process terminated");
    assert_eq!(http(addr, "GET", "/health/ready", None, None).await.0, 200);

    // A missed heartbeat turns ready 503; the next beat brings it back.
    clock.advance(Duration::from_secs(6));
    assert_eq!(http(addr, "GET", "/health/ready", None, None).await.0, 503);
    health.beat("feed");
    assert_eq!(http(addr, "GET", "/health/ready", None, None).await.0, 200);
    node.stop().await.unwrap();
}

fn gauge(scrape: &Scrape, metric: &str, label: (&str, &str)) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get(label.0) == Some(label.1))
        .and_then(|s| match s.value {
            Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_longest_mailboxes_events_and_registered_metrics() {
    let (node, addr) = observed("obs_metrics").await;
    let probe = node.spawn(TestProbe::new("busy")).await.unwrap();
    node.register("busy", probe.pid()).unwrap();
    let mut key = block(&probe).await;
    for i in 0..7u64 {
        probe.send(i).unwrap();
    }
    let served = Metrics::of(&node).counter("jobs_served", "Jobs").unwrap();
    served.inc_by(11);
    let token =
        ergo::events::register_node_event::<u64>(&node, "ticks", EventOptions::new()).unwrap();
    token.publish(1).unwrap();
    token.publish(2).unwrap();

    let (status, text) = http(addr, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert_eq!(
        gauge(&scrape, "ergo_process_mailbox_length", ("name", "busy")),
        Some(7.0)
    );
    assert_eq!(
        gauge(&scrape, "ergo_event_published", ("event", "ticks")),
        Some(2.0)
    );
    let served = scrape
        .samples
        .iter()
        .find(|s| s.metric == "jobs_served_total")
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => f64::NAN,
        });
    assert_eq!(served, Some(11.0));
    key.open();
    node.stop().await.unwrap();
}

/// One look at the latencies: the Observer's list sorted by latency (name, µs), and
/// one scrape of /metrics (seconds by name).
async fn latencies(addr: std::net::SocketAddr) -> (Vec<(String, u64)>, Scrape) {
    let (_, list) = http(
        addr,
        "GET",
        "/api/processes?sort=latency&limit=3",
        None,
        None,
    )
    .await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let rows = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("").to_owned(),
                r["latency_us"].as_u64().unwrap(),
            )
        })
        .collect();
    let (_, text) = http(addr, "GET", "/metrics", None, None).await;
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    (rows, scrape)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_shows_how_long_a_blocked_processs_oldest_message_waited() {
    let (node, addr) = observed("obs_latency").await;
    assert!(node.latency_tracking(), "the Observer turns tracking on");
    let first = node.spawn(TestProbe::new("first")).await.unwrap();
    let second = node.spawn(TestProbe::new("second")).await.unwrap();
    let idle = node.spawn(TestProbe::new("idle")).await.unwrap();
    node.register("first", first.pid()).unwrap();
    node.register("second", second.pid()).unwrap();
    node.register("idle", idle.pid()).unwrap();
    let mut first_key = block(&first).await;
    let mut second_key = block(&second).await;
    // `first` gets its message before `second`; both stay blocked with it queued.
    first.send(1).unwrap();
    eventually("first's message has waited", || {
        node.process_info(first.pid()).unwrap().latency > Duration::ZERO
    })
    .await;
    second.send(2).unwrap();
    eventually("second's message has waited", || {
        node.process_info(second.pid()).unwrap().latency > Duration::ZERO
    })
    .await;
    // Waiting longer shows: the age only grows while the message waits.
    let before = node.process_info(first.pid()).unwrap().latency;
    eventually("first's latency grows", || {
        node.process_info(first.pid()).unwrap().latency > before
    })
    .await;
    // Nothing waits for `idle`: no latency, and not listed among the top.
    assert_eq!(
        node.process_info(idle.pid()).unwrap().latency,
        Duration::ZERO
    );
    // The Observer's list, sorted by latency, puts `first` (older message) before
    // `second`; /metrics lists both, `first` with the larger figure; the process page
    // shows it.
    guard("the Observer and /metrics order them by latency", async {
        loop {
            let (rows, scrape) = latencies(addr).await;
            let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
            let scraped = |name| gauge(&scrape, "ergo_process_latency_seconds", ("name", name));
            let idle_listed = rows.iter().find(|(n, _)| n == "idle").map(|r| r.1);
            if names[..2] == ["first", "second"]
                && rows[1].1 > 0
                && scraped("first")
                    .zip(scraped("second"))
                    .is_some_and(|(f, s)| f > s && s > 0.0)
                && idle_listed.is_none_or(|l| l == 0)
                && scraped("idle").is_none()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let (_, page) = http(
        addr,
        "GET",
        &format!("/api/process/{}", first.pid().id()),
        None,
        None,
    )
    .await;
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["latency_tracking"], true);
    assert!(page["latency_us"].as_u64().unwrap() > 0, "{page}");
    // Unblocked, the queue drains and the latency is back to zero.
    first_key.open();
    second_key.open();
    eventually("the queues drained", || {
        [first.pid(), second.pid()]
            .iter()
            .all(|p| node.process_info(*p).unwrap().latency == Duration::ZERO)
    })
    .await;
    node.stop().await.unwrap();
}

/// A node with the native network on 127.0.0.1 and no registrar (static routes).
async fn networked(name: &str, routes: &[(&str, std::net::SocketAddr)]) -> Node {
    let mut options = NetOptions::new().registrar(None);
    for (pattern, addr) in routes {
        options = options.route(pattern, *addr);
    }
    Node::builder(&format!("{name}@127.0.0.1"))
        .cookie("obs-net")
        .network(options)
        .start()
        .await
        .unwrap()
}

/// The per-peer figures of `peer` in one scrape: bytes in/out, messages in/out,
/// connections, pool size.
fn peer_figures(scrape: &Scrape, peer: &str) -> [f64; 6] {
    [
        "ergo_network_peer_bytes_in_total",
        "ergo_network_peer_bytes_out_total",
        "ergo_network_peer_messages_in_total",
        "ergo_network_peer_messages_out_total",
        "ergo_network_peer_connections",
        "ergo_network_peer_pool_size",
    ]
    .map(|m| gauge(scrape, m, ("peer", peer)).unwrap_or(0.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_peer_network_figures_grow_with_traffic_between_two_nodes() {
    let b = networked("obs_net_b", &[]).await;
    let b_addr = b.listen_addr().unwrap();
    let a = networked("obs_net_a", &[("obs_net_b@127.0.0.1", b_addr)]).await;
    let observer = a
        .start_observer(ObserverOptions::new().addr("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let addr = observer.local_addr();
    b.spawn_register("counter", NetCounter::default())
        .await
        .unwrap();
    let counter: ActorRef<NetCounter> =
        guard("lookup", a.lookup_remote("counter", "obs_net_b@127.0.0.1"))
            .await
            .unwrap();
    let scrape_now = || async {
        let (status, text) = http(addr, "GET", "/metrics", None, None).await;
        assert_eq!(status, 200);
        Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
    };
    let peer = "obs_net_b@127.0.0.1";
    let before = peer_figures(&scrape_now().await, peer);
    // Real traffic over TCP: 100 calls (a request out, a reply in each) and 100 casts.
    for i in 1..=100u64 {
        assert_eq!(counter.add(1).await.unwrap(), i);
        counter.record(i).unwrap();
    }
    assert_eq!(counter.seen().await.unwrap().len(), 100);
    let scrape = scrape_now().await;
    let after = peer_figures(&scrape, peer);
    println!("FIGURE per-peer figures before {before:?} after {after:?} (bytes in/out, messages in/out, connections, pool)");
    assert!(
        after[0] > before[0],
        "bytes in grew: {before:?} -> {after:?}"
    );
    assert!(
        after[1] > before[1],
        "bytes out grew: {before:?} -> {after:?}"
    );
    // At least the 101 replies came in and the 201 requests and casts went out.
    assert!(after[2] >= before[2] + 101.0, "{before:?} -> {after:?}");
    assert!(after[3] >= before[3] + 201.0, "{before:?} -> {after:?}");
    assert!(after[1] >= after[3], "each frame is at least a byte");
    assert!(after[4] >= 1.0 && after[4] <= after[5], "{after:?}");
    assert_eq!(
        gauge(&scrape, "ergo_network_registrar", ("transport", "native")),
        Some(1.0)
    );
    // The Observer's JSON API reports the same figures, per transport.
    let (_, net) = http(addr, "GET", "/api/network", None, None).await;
    let net: serde_json::Value = serde_json::from_str(&net).unwrap();
    let native = net["transports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["transport"] == "native")
        .expect("the native transport is listed");
    assert_eq!(native["registrar"], "static routes");
    let row = native["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["node"] == peer)
        .expect("the peer is listed");
    assert!(row["bytes_out"].as_f64().unwrap() >= after[1]);
    assert!(row["messages_in"].as_f64().unwrap() >= after[2]);
    assert!(row["pool_size"].as_u64().unwrap() >= 1);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_change_per_process_and_a_process_receives_records() {
    // The one global logger of this test binary.
    let _guard = LogConfig::new().level(LevelFilter::INFO).init().unwrap();
    let node = ergo_tests::node("obs_logs").await;
    let a = node.spawn(Chatty).await.unwrap();
    let b = node.spawn(Chatty).await.unwrap();
    let kept = |pid: Pid| -> Vec<String> {
        log::recent(Some(pid), 100)
            .into_iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.level,
                    r.fields
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<String>()
                )
            })
            .collect()
    };

    a.talk(1).await.unwrap();
    assert_eq!(kept(a.pid()), ["INFO n=1"]);

    // a at DEBUG: its debug lines pass; b's do not.
    log::set_process_level(a.pid(), Some(LevelFilter::DEBUG));
    a.talk(2).await.unwrap();
    b.talk(2).await.unwrap();
    assert_eq!(kept(a.pid()), ["INFO n=1", "DEBUG n=2", "INFO n=2"]);
    assert_eq!(kept(b.pid()), ["INFO n=2"]);

    // a at WARN: even its info lines are dropped; cleared, it follows the default.
    log::set_process_level(a.pid(), Some(LevelFilter::WARN));
    a.talk(3).await.unwrap();
    assert_eq!(kept(a.pid()).len(), 3);
    log::set_process_level(a.pid(), None);
    a.talk(4).await.unwrap();
    assert_eq!(kept(a.pid()).last().map(String::as_str), Some("INFO n=4"));

    // A process as a logger: it receives the records (not its own).
    let logger = node.spawn(Collector::default()).await.unwrap();
    log::add_process_logger(&node, logger.pid(), LevelFilter::INFO);
    b.talk(5).await.unwrap();
    let mut got = Vec::new();
    guard("the logger got b's record", async {
        loop {
            got = logger.messages(b.pid()).await.unwrap();
            if !got.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(got, ["INFO chatty info"]);
    assert!(log::remove_process_logger(logger.pid()));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_sends_spawns_and_tells_the_fallback_of_failures() {
    let node = ergo_tests::node("obs_cron").await;
    let collector = node
        .spawn_register("collector", Collector::default())
        .await
        .unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap());
    let cron = Cron::start(&node, Arc::new(clock.clone()));
    cron.set_fallback(Some(collector.pid()));
    cron.add(
        "to-collector",
        "*/2 * * * * *",
        Action::send("collector", 42u64),
    )
    .unwrap();
    cron.add("to-nobody", "* * * * * *", Action::send("nobody", 1u64))
        .unwrap();
    cron.add("spawner", "0 * * * * *", Action::spawn(|| Chatty))
        .unwrap();
    let processes = node.info().processes;

    clock.advance(Duration::from_secs(2)); // 12:00:02
    let mut failures = Vec::new();
    guard("a failure reported", async {
        loop {
            failures = collector.failures().await.unwrap();
            if !failures.is_empty() && !collector.numbers().await.unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(failures[0].job, "to-nobody");
    assert_eq!(
        failures[0].at,
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 1).unwrap()
    );
    assert_eq!(collector.numbers().await.unwrap(), [42]);
    let info = cron.jobs();
    assert!(info
        .iter()
        .any(|j| j.name == "to-nobody" && j.last_error.is_some()));

    clock.advance(Duration::from_secs(58)); // 12:01:00
    eventually("a process spawned by cron", || {
        node.info().processes == processes + 1
    })
    .await;
    node.stop().await.unwrap();
}
