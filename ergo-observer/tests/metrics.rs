//! Metrics: the node's own and registered counters, gauges and histograms, in a text
//! format a Prometheus parser reads.

use std::collections::HashMap;

use ergo_observer::metrics::{Metrics, MetricsError};
use ergo_runtime::Node;
use prometheus_parse::{Sample, Scrape, Value};

fn parse(text: &str) -> Scrape {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    Scrape::parse(lines).expect("the Prometheus text format")
}

fn value(scrape: &Scrape, name: &str) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name)
        .and_then(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
            _ => None,
        })
}

fn histogram<'a>(scrape: &'a Scrape, name: &str) -> &'a Sample {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && matches!(s.value, Value::Histogram(_)))
        .unwrap_or_else(|| panic!("a histogram {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_and_node_metrics_parse() {
    let node = Node::builder("metrics@127.0.0.1").start().await.unwrap();
    let metrics = Metrics::of(&node);
    let requests = metrics.counter("shop_requests", "Requests").unwrap();
    let queue = metrics.gauge("shop_queue", "Queue length").unwrap();
    let latency = metrics
        .histogram("shop_latency_seconds", "Latency", [0.01, 0.1, 1.0])
        .unwrap();
    requests.inc_by(3);
    queue.set(7);
    for v in [0.005, 0.05, 0.5, 5.0] {
        latency.observe(v);
    }
    assert_eq!(
        metrics.counter("shop_requests", "again").unwrap_err(),
        MetricsError::Duplicate("shop_requests".into())
    );
    assert_eq!(
        metrics.gauge("9lives", "bad").unwrap_err(),
        MetricsError::BadName("9lives".into())
    );

    let text = metrics.render(&node);
    assert!(text.ends_with("# EOF\n"), "{text}");
    let scrape = parse(&text);
    assert_eq!(value(&scrape, "shop_requests_total"), Some(3.0));
    assert_eq!(value(&scrape, "shop_queue"), Some(7.0));
    let Value::Histogram(buckets) = &histogram(&scrape, "shop_latency_seconds").value else {
        unreachable!()
    };
    let counts: HashMap<String, f64> = buckets
        .iter()
        .map(|b| (b.less_than.to_string(), b.count))
        .collect();
    assert_eq!(counts["0.01"], 1.0);
    assert_eq!(counts["0.1"], 2.0);
    assert_eq!(counts["1"], 3.0);
    assert_eq!(counts["inf"], 4.0);
    assert_eq!(value(&scrape, "ergo_node_processes"), Some(0.0));
    assert!(value(&scrape, "ergo_node_uptime_seconds").is_some_and(|v| v >= 0.0));
    assert!(value(&scrape, "ergo_node_memory_bytes").is_some_and(|v| v > 0.0));
    assert_eq!(value(&scrape, "ergo_network_peers"), Some(0.0));
    // The same node's metrics are one set, whoever asks.
    assert!(std::sync::Arc::ptr_eq(&metrics, &Metrics::of(&node)));
    node.stop().await.unwrap();
}
