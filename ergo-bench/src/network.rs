//! Network workloads, as Ergo's ping benchmark: two nodes in separate OS processes on
//! loopback (this program starts its peer as a child process), senders on one node,
//! receivers on the other. The `network_tls_*` figures are the same workloads over
//! mutual TLS (rustls, a CA made for the run).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ergo::net::tls::DevCa;
use ergo::net::{CertManager, ClientAuth, NetOptions, TlsOptions};
use ergo::prelude::*;

use crate::harness::{self, Figure};

const ONE_TO_ONE: u64 = 3_000_000;
const PER_PAIR: u64 = 1_000_000;
const CALLS: u64 = 20_000;
const CHUNK: u64 = 64;
const PEER: &str = "bench_peer@127.0.0.1";

/// Counts messages; tells the collector on the other node when it has them all.
#[derive(Default)]
pub struct Receiver {
    seen: u64,
    expect: u64,
    notify: Option<Pid>,
}

#[actor]
impl Receiver {
    #[handle_cast]
    fn expect(&mut self, n: u64, notify: Pid) {
        self.seen = 0;
        self.expect = n;
        self.notify = Some(notify);
    }

    #[handle_info]
    fn count(&mut self, ctx: &mut Context<Self>, _n: u64) {
        self.seen += 1;
        if self.seen == self.expect {
            if let Some(collector) = self
                .notify
                .and_then(|p| ctx.node().actor_ref::<Collector>(p))
            {
                let _ = collector.done(self.seen);
            }
        }
    }

    #[handle_call]
    fn ping(&mut self) {}
}

/// Sends `left` messages to a remote receiver, `CHUNK` per turn.
pub struct Sender {
    to: ActorRef<Receiver>,
}

#[actor]
impl Sender {
    /// A send refused because the connection's write buffer is full (`NetError::Busy`:
    /// the writer is behind) is retried after a pause, so every message arrives.
    #[handle_cast]
    async fn go(&mut self, ctx: &mut Context<Self>, left: u64) {
        let n = left.min(CHUNK);
        let mut sent = 0;
        while sent < n && self.to.send(sent).is_ok() {
            sent += 1;
        }
        if sent < n {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        if left > sent {
            let _ = ctx.myself().go(left - sent);
        }
    }

    #[handle_call]
    async fn calls(&mut self, n: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            let _ = self.to.ping().await;
        }
        start.elapsed()
    }
}

/// Collects completions from the receivers.
pub struct Collector {
    waiting: usize,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

#[actor]
impl Collector {
    #[handle_cast]
    fn done(&mut self, _seen: u64) {
        self.waiting -= 1;
        if self.waiting == 0 {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }
}

/// Mutual TLS with the certificate `<dir>/<who>.pem` (its key `<who>.key`), trusting
/// `<dir>/ca.pem`.
fn tls_from(dir: &std::path::Path, who: &str) -> TlsOptions {
    let read = |file: String| std::fs::read(dir.join(file)).expect("certificate files");
    let certs = CertManager::from_pem(&read(format!("{who}.pem")), &read(format!("{who}.key")))
        .expect("certificate");
    TlsOptions::new(std::sync::Arc::new(certs))
        .trust_pem(&read("ca.pem".into()))
        .expect("CA")
        .client_auth(ClientAuth::Required)
}

/// A CA and certificates for both nodes (as PEM files in a new directory).
fn tls_files() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ergo-bench-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let ca = DevCa::new("bench").expect("CA");
    std::fs::write(dir.join("ca.pem"), ca.certificate_pem()).expect("write");
    for who in ["peer", "bench"] {
        let (chain, key) = ca.issue_pem(&["127.0.0.1"]).expect("certificate");
        std::fs::write(dir.join(format!("{who}.pem")), chain).expect("write");
        std::fs::write(dir.join(format!("{who}.key")), key).expect("write");
    }
    dir
}

/// The peer process: a node with receivers registered as `recv-0..n`, until stdin
/// closes; over mutual TLS with the files of `tls_dir` if given.
pub async fn peer(pairs: usize, tls_dir: Option<String>) {
    let mut options = NetOptions::new().registrar(None);
    if let Some(dir) = tls_dir {
        options = options.tls(tls_from(std::path::Path::new(&dir), "peer"));
    }
    let node = Node::builder(PEER)
        .log_level(tracing::Level::WARN)
        .cookie("bench")
        .network(options)
        .start()
        .await
        .expect("peer node");
    for i in 0..pairs {
        node.spawn_register(format!("recv-{i}").as_str(), Receiver::default())
            .await
            .expect("spawn");
    }
    println!("READY {}", node.listen_addr().expect("listening"));
    std::io::stdout().flush().ok();
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin()
            .read_line(&mut line)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await;
}

/// The network figures.
pub const FIGURES: &[Figure] = &[
    Figure {
        group: "network_1_1",
        names: &["network_1_1"],
    },
    Figure {
        group: "network_n_n",
        names: &["network_n_n"],
    },
    Figure {
        group: "network_call_rtt",
        names: &["network_call_rtt"],
    },
    Figure {
        group: "network_tls_1_1",
        names: &["network_tls_1_1"],
    },
    Figure {
        group: "network_tls_call_rtt",
        names: &["network_tls_call_rtt"],
    },
];

/// Prints the workload, then runs the selected figures through the harness.
pub fn run(only: Option<&str>) {
    let cores = harness::nproc();
    println!(
        "# workload: two nodes in separate OS processes on 127.0.0.1, pool of 3 TCP connections; \
         network_1_1 = 1 sender process -> 1 remote receiver, {ONE_TO_ONE} async u64 messages; \
         network_n_n = {cores} pairs x {PER_PAIR}; network_call_rtt = {CALLS} sequential calls \
         process -> remote process; network_tls_* = the same over mutual TLS (rustls, \
         TLS 1.3, ring); nproc = {cores}"
    );
    harness::run("network-once", FIGURES, only);
}

/// One run of one figure: starts the peer process, measures, stops it.
pub async fn once(figure: &str) {
    let cores = harness::nproc();
    let exe = std::env::current_exe().expect("own path");
    let tls = figure.starts_with("network_tls_").then(tls_files);
    let mut peer_args = vec!["net-peer".to_string(), cores.to_string()];
    peer_args.extend(tls.iter().map(|d| d.display().to_string()));
    let mut child = Command::new(exe)
        .args(&peer_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the peer process");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("peer ready");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|a| a.parse().ok())
        .expect("peer address");
    let mut options = NetOptions::new().registrar(None).route(PEER, addr);
    if let Some(dir) = &tls {
        options = options.tls(tls_from(dir, "bench"));
    }
    let node = Node::builder("bench@127.0.0.1")
        .log_level(tracing::Level::WARN)
        .cookie("bench")
        .network(options)
        .start()
        .await
        .expect("node");
    let figure = figure.replace("network_tls_", "network_");
    let suffix = if tls.is_some() { "tls_" } else { "" };
    match figure.as_str() {
        "network_1_1" => {
            let rate = stream(&node, 1, ONE_TO_ONE).await;
            println!("BENCH network_{suffix}1_1 {rate:.0} msgs/s");
        }
        "network_n_n" => {
            let rate = stream(&node, cores, PER_PAIR).await;
            println!("BENCH network_n_n {rate:.0} msgs/s");
        }
        "network_call_rtt" => {
            let to: ActorRef<Receiver> = node.lookup_remote("recv-0", PEER).await.expect("lookup");
            let caller = node.spawn(Sender { to }).await.expect("spawn");
            caller
                .calls(100)
                .timeout(Duration::from_secs(60))
                .await
                .expect("warm up");
            let total = caller
                .calls(CALLS)
                .timeout(Duration::from_secs(600))
                .await
                .expect("calls");
            println!(
                "BENCH network_{suffix}call_rtt {:.3} us",
                total.as_secs_f64() * 1e6 / CALLS as f64
            );
        }
        other => {
            eprintln!("unknown network figure {other:?}");
            std::process::exit(2);
        }
    }
    node.stop().await.expect("stop");
    drop(child.stdin.take());
    let _ = child.wait();
    if let Some(dir) = tls {
        let _ = std::fs::remove_dir_all(dir);
    }
}

async fn stream(node: &Node, pairs: usize, per_pair: u64) -> f64 {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let collector = node
        .spawn(Collector {
            waiting: pairs,
            done: Some(tx),
        })
        .await
        .expect("spawn");
    let mut senders = Vec::new();
    for i in 0..pairs {
        let to: ActorRef<Receiver> = node
            .lookup_remote(&format!("recv-{i}"), PEER)
            .await
            .expect("lookup");
        to.expect(per_pair, collector.pid()).expect("send");
        to.ping().await.expect("ready");
        senders.push(node.spawn(Sender { to }).await.expect("spawn"));
    }
    let start = Instant::now();
    for s in &senders {
        s.go(per_pair).expect("send");
    }
    rx.await.expect("done");
    (pairs as u64 * per_pair) as f64 / start.elapsed().as_secs_f64()
}
