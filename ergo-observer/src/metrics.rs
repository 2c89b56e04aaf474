//! Prometheus metrics (prometheus-client): the node's own (processes, memory, messages,
//! the top processes by mailbox length, latency and run time, the network per peer,
//! events) computed at each
//! scrape, and the counters, gauges and histograms actors register ([`Metrics`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use ergo_runtime::{Node, ProcessSummary};
use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

use crate::stats;

/// How many processes the top-N metrics list by default.
pub const DEFAULT_TOP_N: usize = 10;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why a metric could not be registered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetricsError {
    /// A metric of this name is already registered.
    #[error("a metric named {0:?} is already registered")]
    Duplicate(String),
    /// The name is not a Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    #[error("{0:?} is not a valid metric name")]
    BadName(String),
}

/// A node's metrics: what actors register, plus the node's own at each scrape. One per
/// node ([`Metrics::of`]).
pub struct Metrics {
    registry: Mutex<Registry>,
    names: Mutex<HashSet<String>>,
    top_n: AtomicUsize,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            registry: Mutex::new(Registry::default()),
            names: Mutex::new(HashSet::new()),
            top_n: AtomicUsize::new(DEFAULT_TOP_N),
        }
    }
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

impl Metrics {
    /// The metrics of `node` (made on first use).
    pub fn of(node: &Node) -> Arc<Metrics> {
        node.extension_or_insert(Metrics::default)
    }

    /// Sets how many processes the top-N metrics list.
    pub fn set_top_n(&self, n: usize) {
        self.top_n.store(n, Ordering::Relaxed);
    }

    /// Registers any prometheus-client metric under `name`.
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl Metric,
    ) -> Result<(), MetricsError> {
        if !valid_name(name) {
            return Err(MetricsError::BadName(name.to_owned()));
        }
        if !self.names.lock().insert(name.to_owned()) {
            return Err(MetricsError::Duplicate(name.to_owned()));
        }
        self.registry.lock().register(name, help, metric);
        Ok(())
    }

    /// Registers and returns a counter (exposed as `name_total`).
    pub fn counter(&self, name: &str, help: &str) -> Result<Counter, MetricsError> {
        let counter = Counter::default();
        self.register(name, help, counter.clone())?;
        Ok(counter)
    }

    /// Registers and returns a gauge.
    pub fn gauge(&self, name: &str, help: &str) -> Result<Gauge, MetricsError> {
        let gauge = Gauge::default();
        self.register(name, help, gauge.clone())?;
        Ok(gauge)
    }

    /// Registers and returns a histogram with these bucket upper bounds (see
    /// `prometheus_client::metrics::histogram::exponential_buckets`).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: impl IntoIterator<Item = f64>,
    ) -> Result<Histogram, MetricsError> {
        let histogram = Histogram::new(buckets);
        self.register(name, help, histogram.clone())?;
        Ok(histogram)
    }

    /// The Prometheus text exposition of the node's metrics and the registered ones.
    pub fn render(&self, node: &Node) -> String {
        let mut out = String::new();
        let mut own = Registry::default();
        own.register_collector(Box::new(NodeCollector {
            node: node.clone(),
            top_n: self.top_n.load(Ordering::Relaxed),
        }));
        // Writing to a String cannot fail; a collector's error would only cut the text.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &own);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry.lock());
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}

/// The node's own metrics, computed when scraped.
#[derive(Debug)]
struct NodeCollector {
    node: Node,
    top_n: usize,
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

fn labels(p: &ProcessSummary) -> Vec<(String, String)> {
    vec![
        ("pid".into(), p.pid.to_string()),
        (
            "name".into(),
            p.name.map(|n| n.to_string()).unwrap_or_default(),
        ),
        ("kind".into(), p.kind.to_string()),
    ]
}

fn top_family(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(&ProcessSummary, f64)],
) -> Result<(), std::fmt::Error> {
    let family = Family::<Vec<(String, String)>, FloatGauge>::default();
    for (p, v) in rows {
        family.get_or_create(&labels(p)).set(*v);
    }
    family.encode(encoder.encode_descriptor(name, help, None, family.metric_type())?)
}

impl Collector for NodeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let node = &self.node;
        let info = node.info();
        let list = node.process_summaries();
        let totals = stats::Totals::of(&list);
        let e = &mut encoder;
        gauge(
            e,
            "ergo_node_uptime_seconds",
            "Time since the node started",
            info.uptime.as_secs_f64(),
        )?;
        gauge(
            e,
            "ergo_node_processes",
            "Live processes",
            info.processes as f64,
        )?;
        gauge(
            e,
            "ergo_node_registered_names",
            "Registered names",
            info.registered_names as f64,
        )?;
        gauge(
            e,
            "ergo_node_memory_bytes",
            "Resident memory of the OS process",
            stats::resident_memory() as f64,
        )?;
        gauge(
            e,
            "ergo_node_messages_in",
            "Messages taken from mailboxes, over the live processes",
            totals.messages_in as f64,
        )?;
        gauge(
            e,
            "ergo_node_messages_out",
            "Messages sent, over the live processes",
            totals.messages_out as f64,
        )?;
        gauge(
            e,
            "ergo_node_mailbox_messages",
            "Messages waiting in mailboxes",
            totals.queued as f64,
        )?;

        let mut by_queue: Vec<(&ProcessSummary, f64)> = list
            .iter()
            .map(|p| (p, p.queue_length() as f64))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        by_queue.sort_by(|a, b| b.1.total_cmp(&a.1));
        by_queue.truncate(self.top_n);
        top_family(
            e,
            "ergo_process_mailbox_length",
            "Messages waiting, for the processes with the longest mailboxes",
            &by_queue,
        )?;

        let uptime = info.uptime.as_secs_f64().max(f64::MIN_POSITIVE);
        let mut by_run: Vec<(&ProcessSummary, f64)> = list
            .iter()
            .map(|p| (p, p.run_time.as_secs_f64() / uptime))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        by_run.sort_by(|a, b| b.1.total_cmp(&a.1));
        by_run.truncate(self.top_n);
        top_family(e, "ergo_process_utilization", "Share of the node's uptime a process spent running (run-time accounting on), for the busiest processes", &by_run)?;

        let mut by_latency: Vec<(&ProcessSummary, f64)> = list
            .iter()
            .map(|p| (p, p.latency.as_secs_f64()))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        by_latency.sort_by(|a, b| b.1.total_cmp(&a.1));
        by_latency.truncate(self.top_n);
        top_family(
            e,
            "ergo_process_latency_seconds",
            "How long the oldest message in the mailbox has waited (latency tracking on), for the processes whose oldest message waited longest",
            &by_latency,
        )?;

        let mut by_reductions: Vec<(&ProcessSummary, f64)> =
            list.iter().map(|p| (p, p.reductions() as f64)).collect();
        by_reductions.sort_by(|a, b| b.1.total_cmp(&a.1));
        by_reductions.truncate(self.top_n);
        top_family(
            e,
            "ergo_process_reductions",
            "Messages handled plus sent, for the processes with the most",
            &by_reductions,
        )?;

        let peers = node.connected_nodes();
        gauge(
            e,
            "ergo_network_peers",
            "Connected nodes",
            peers.len() as f64,
        )?;
        let family = Family::<Vec<(String, String)>, FloatGauge>::default();
        for peer in &peers {
            family
                .get_or_create(&vec![("peer".into(), peer.to_string())])
                .set(1.0);
        }
        family.encode(e.encode_descriptor(
            "ergo_network_peer_connected",
            "1 for each connected node",
            None,
            family.metric_type(),
        )?)?;
        per_peer(e, node)?;

        let published = Family::<Vec<(String, String)>, FloatGauge>::default();
        let subscribers = Family::<Vec<(String, String)>, FloatGauge>::default();
        for name in ergo_otp::events::names(node) {
            if let Some(ev) = ergo_otp::events::info(node, name) {
                let l = vec![("event".into(), name.to_string())];
                published.get_or_create(&l).set(ev.published as f64);
                subscribers.get_or_create(&l).set(ev.subscribers as f64);
            }
        }
        published.encode(e.encode_descriptor(
            "ergo_event_published",
            "Values published on each event",
            None,
            published.metric_type(),
        )?)?;
        subscribers.encode(e.encode_descriptor(
            "ergo_event_subscribers",
            "Subscribers on this node of each event",
            None,
            subscribers.metric_type(),
        )?)?;
        Ok(())
    }
}

/// The network per peer (`peer`, `transport` labels): bytes and frames in and out
/// (counters), connections open and pool size (gauges); the registrar in use as an
/// info-style gauge.
fn per_peer(e: &mut DescriptorEncoder, node: &Node) -> Result<(), std::fmt::Error> {
    type Labels = Vec<(String, String)>;
    let counters: [(&str, &str, Family<Labels, Counter>); 4] = [
        (
            "ergo_network_peer_bytes_in",
            "Bytes received from the peer",
            Family::default(),
        ),
        (
            "ergo_network_peer_bytes_out",
            "Bytes queued to the peer",
            Family::default(),
        ),
        (
            "ergo_network_peer_messages_in",
            "Frames (messages, calls, replies, control) received from the peer",
            Family::default(),
        ),
        (
            "ergo_network_peer_messages_out",
            "Frames queued to the peer",
            Family::default(),
        ),
    ];
    let connections = Family::<Labels, FloatGauge>::default();
    let pool = Family::<Labels, FloatGauge>::default();
    let registrars = Family::<Labels, FloatGauge>::default();
    for t in node.transport_stats() {
        if let Some(r) = &t.registrar {
            registrars
                .get_or_create(&vec![
                    ("transport".into(), t.transport.into()),
                    ("registrar".into(), r.clone()),
                ])
                .set(1.0);
        }
        for p in &t.peers {
            let l: Labels = vec![
                ("peer".into(), p.node.to_string()),
                ("transport".into(), t.transport.into()),
            ];
            let values = [p.bytes_in, p.bytes_out, p.messages_in, p.messages_out];
            for ((_, _, family), v) in counters.iter().zip(values) {
                family.get_or_create(&l).inc_by(v);
            }
            connections.get_or_create(&l).set(p.connections as f64);
            pool.get_or_create(&l).set(p.pool_size as f64);
        }
    }
    for (name, help, family) in &counters {
        family.encode(e.encode_descriptor(name, help, None, family.metric_type())?)?;
    }
    connections.encode(e.encode_descriptor(
        "ergo_network_peer_connections",
        "Connections to the peer now open",
        None,
        connections.metric_type(),
    )?)?;
    pool.encode(e.encode_descriptor(
        "ergo_network_peer_pool_size",
        "Connections the peer's pool holds when complete",
        None,
        pool.metric_type(),
    )?)?;
    registrars.encode(e.encode_descriptor(
        "ergo_network_registrar",
        "1 for the registrar each transport uses",
        None,
        registrars.metric_type(),
    )?)
}

/// `GET /metrics`: the Prometheus text format.
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(node)
}

async fn scrape(State(node): State<Node>) -> impl IntoResponse {
    let text = Metrics::of(&node).render(&node);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}
