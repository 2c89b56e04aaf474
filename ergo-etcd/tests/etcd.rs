//! The etcd registrar against a real etcd (Debian's `etcd-server`, which `test.sh`
//! installs), started by each test on 127.0.0.1 with a temporary data directory and
//! stopped at its end: registration and resolution (nodes find and call each other
//! through it), lease expiry after a node process is killed with SIGKILL, weighted
//! application routes, configuration precedence, and cluster events (on the channel and
//! as a node event).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ergo::net::{NetOptions, NetworkExt};
use ergo::prelude::*;
use ergo_etcd::{
    ApplicationRoute, ClusterEvent, ConfigScope, EtcdError, EtcdOptions, EtcdRegistrar,
    CLUSTER_EVENT,
};
use tokio::sync::broadcast;

/// An etcd server of one test.
struct Etcd {
    child: Child,
    dir: PathBuf,
    endpoint: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Etcd {
    async fn start(test: &str) -> Etcd {
        let binary = ["/usr/bin/etcd", "/usr/local/bin/etcd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("etcd is not installed: run ./test.sh, or `apt-get install etcd-server`");
        let dir = std::env::temp_dir().join(format!("ergo-etcd-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (client, peer) = (free_port(), free_port());
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.join("etcd.log")).unwrap();
        let child = Command::new(binary)
            .args(["--name", "test", "--data-dir"])
            .arg(dir.join("data"))
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("test={peer_url}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        let etcd = Etcd {
            child,
            dir,
            endpoint: format!("127.0.0.1:{client}"),
        };
        // Ready when it answers (bounded: 300 tries, 100 ms apart).
        for _ in 0..300 {
            if let Ok(r) = EtcdRegistrar::connect(etcd.options("probe")).await {
                if r.nodes().await.is_ok() {
                    return etcd;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "etcd did not answer; see {}",
            etcd.dir.join("etcd.log").display()
        );
    }

    fn options(&self, cluster: &str) -> EtcdOptions {
        EtcdOptions::new([&self.endpoint], cluster).lease_ttl(Duration::from_secs(5))
    }

    async fn registrar(&self, cluster: &str) -> Arc<EtcdRegistrar> {
        EtcdRegistrar::connect(self.options(cluster)).await.unwrap()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `check` until it gives a value (bounded: 600 tries, 50 ms apart).
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    for _ in 0..600 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen");
}

/// The next event matching `want` (bounded like [`eventually`]).
async fn next_event(
    rx: &mut broadcast::Receiver<ClusterEvent>,
    want: impl Fn(&ClusterEvent) -> bool,
) -> ClusterEvent {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) if want(&e) => return e,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("events closed"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the event came")
}

#[derive(Default)]
pub struct Greeter;

#[actor]
impl Greeter {
    #[handle_call]
    fn hello(&mut self, who: String) -> String {
        format!("hello, {who}")
    }
}

async fn node_with(name: &str, etcd: Arc<EtcdRegistrar>) -> Node {
    Node::builder(name)
        .cookie("etcd-test")
        .network(NetOptions::new().registrar(None).external_registrar(etcd))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn nodes_register_resolve_and_call_each_other_through_etcd() {
    let etcd = Etcd::start("resolve").await;
    let (ra, rb) = (etcd.registrar("c1").await, etcd.registrar("c1").await);
    let b = node_with("etcd_b@127.0.0.1", rb.clone()).await;
    b.spawn_register("greeter", Greeter).await.unwrap();
    let a = node_with("etcd_a@127.0.0.1", ra.clone()).await;
    assert_eq!(
        ra.resolve_node("etcd_b@127.0.0.1").await.unwrap(),
        b.listen_addr()
    );
    let nodes = ra.nodes().await.unwrap();
    assert_eq!(
        nodes.keys().cloned().collect::<Vec<_>>(),
        ["etcd_a@127.0.0.1", "etcd_b@127.0.0.1"]
    );
    // No static route, no embedded registrar: a finds b through etcd.
    let greeter = a
        .lookup_remote::<Greeter>("greeter", "etcd_b@127.0.0.1")
        .await
        .unwrap();
    assert_eq!(greeter.hello("a".into()).await.unwrap(), "hello, a");
    // Another cluster sees none of them.
    let other = etcd.registrar("c2").await;
    assert!(other.nodes().await.unwrap().is_empty());
    assert_eq!(other.resolve_node("etcd_b@127.0.0.1").await.unwrap(), None);
    // Leaving revokes the lease at once.
    rb.deregister().await.unwrap();
    assert_eq!(ra.resolve_node("etcd_b@127.0.0.1").await.unwrap(), None);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_node_killed_with_sigkill_disappears_when_its_lease_expires() {
    let etcd = Etcd::start("kill").await;
    let watcher = etcd.registrar("c3").await;
    let mut events = watcher.subscribe();
    watcher.watch(None).await.unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ergo-etcd-node"))
        .args([&etcd.endpoint, "c3", "victim@127.0.0.1", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed whatever happens (a failed assertion must not leave it running).
    struct Guard(u32);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-9", &self.0.to_string()])
                .status();
        }
    }
    let guard = Guard(child.id());
    let joined = next_event(&mut events, |e| {
        matches!(e, ClusterEvent::NodeJoined { .. })
    })
    .await;
    let addr: SocketAddr = match joined {
        ClusterEvent::NodeJoined { node, addr } => {
            assert_eq!(node, "victim@127.0.0.1");
            addr.parse().unwrap()
        }
        _ => unreachable!(),
    };
    let routes = eventually("the victim's application route", || async {
        let r = watcher.resolve_application("worker").await.unwrap();
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(
        routes,
        [ApplicationRoute {
            node: "victim@127.0.0.1".into(),
            weight: 5
        }]
    );
    assert_eq!(
        watcher.resolve_node("victim@127.0.0.1").await.unwrap(),
        Some(addr)
    );
    // Registered under a live lease.
    let left = watcher.lease_left("victim@127.0.0.1").await.unwrap();
    assert!(left.is_some_and(|l| l > 0), "{left:?}");

    child.kill().unwrap(); // SIGKILL: no goodbye, no revoke
    child.wait().unwrap();
    std::mem::forget(guard); // reaped: its pid is no longer ours to signal
    let left = next_event(&mut events, |e| matches!(e, ClusterEvent::NodeLeft { .. })).await;
    assert_eq!(
        left,
        ClusterEvent::NodeLeft {
            node: "victim@127.0.0.1".into()
        }
    );
    assert_eq!(
        watcher.resolve_node("victim@127.0.0.1").await.unwrap(),
        None
    );
    assert!(watcher
        .resolve_application("worker")
        .await
        .unwrap()
        .is_empty());
}

/// An application whose root is an empty supervisor.
fn app(name: &str, weight: u32) -> ApplicationSpec {
    let root = || {
        (
            Supervisor::new(SupervisorSpec::new(Strategy::OneForOne)),
            (),
        )
    };
    ApplicationSpec::new(name, ChildSpec::new(format!("{name}_sup"), root)).weight(weight)
}

/// The weights of the nodes `registrar` resolves `app` to.
async fn routes_of(registrar: &EtcdRegistrar, app: &str) -> Vec<(String, u32)> {
    let routes = registrar.resolve_application(app).await.unwrap();
    routes.into_iter().map(|r| (r.node, r.weight)).collect()
}

#[tokio::test]
async fn a_nodes_routes_follow_the_applications_it_starts_and_stops() {
    let etcd = Etcd::start("announce").await;
    let registrar = etcd.registrar("c7").await;
    let node = node_with("apps@127.0.0.1", registrar.clone()).await;
    let me = || vec![("apps@127.0.0.1".to_string(), 7)];
    node.load_application(app("audit", 7)).unwrap();
    node.load_application(app("orders", 7)).unwrap();
    node.load_application(app("batch", 7)).unwrap();
    // Running before the registrar is told to announce: announced all the same.
    node.start_application("audit").await.unwrap();
    registrar.announce_applications(&node);
    let reader = etcd.registrar("c7").await;
    eventually("audit announced", || async {
        (routes_of(&reader, "audit").await == me()).then_some(())
    })
    .await;
    assert!(routes_of(&reader, "orders").await.is_empty());
    node.start_application("orders").await.unwrap();
    eventually("orders announced", || async {
        (routes_of(&reader, "orders").await == me()).then_some(())
    })
    .await;
    node.stop_application("orders").await.unwrap();
    eventually("orders withdrawn", || async {
        routes_of(&reader, "orders").await.is_empty().then_some(())
    })
    .await;
    // An application that ends by itself (its root killed) is withdrawn too.
    let root = node.start_application("batch").await.unwrap();
    eventually("batch announced", || async {
        (routes_of(&reader, "batch").await == me()).then_some(())
    })
    .await;
    node.kill(root);
    eventually("batch withdrawn", || async {
        routes_of(&reader, "batch").await.is_empty().then_some(())
    })
    .await;
    assert_eq!(routes_of(&reader, "audit").await, me());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn application_routes_are_weighted_and_follow_the_nodes() {
    let etcd = Etcd::start("routes").await;
    let (r1, r2) = (etcd.registrar("c4").await, etcd.registrar("c4").await);
    let addr = SocketAddr::from(([127, 0, 0, 1], 1));
    r1.register_node("n1@127.0.0.1", addr).await.unwrap();
    r2.register_node("n2@127.0.0.1", addr).await.unwrap();
    assert!(matches!(
        etcd.registrar("c4")
            .await
            .register_application("x", 1)
            .await,
        Err(EtcdError::NotRegistered)
    ));
    r1.register_application("billing", 1).await.unwrap();
    r2.register_application("billing", 3).await.unwrap();
    r2.register_application("search", 1).await.unwrap();
    let routes = r1.resolve_application("billing").await.unwrap();
    assert_eq!(
        routes,
        [
            ApplicationRoute {
                node: "n2@127.0.0.1".into(),
                weight: 3
            },
            ApplicationRoute {
                node: "n1@127.0.0.1".into(),
                weight: 1
            },
        ]
    );
    let mut picks = std::collections::BTreeMap::<String, u32>::new();
    for i in 0..100 {
        let node = r1
            .choose_application_node("billing", f64::from(i) / 100.0)
            .await
            .unwrap()
            .unwrap();
        *picks.entry(node).or_default() += 1;
    }
    assert_eq!(picks["n2@127.0.0.1"], 75);
    assert_eq!(picks["n1@127.0.0.1"], 25);
    r2.unregister_application("billing").await.unwrap();
    assert_eq!(
        r1.resolve_application("billing").await.unwrap(),
        [ApplicationRoute {
            node: "n1@127.0.0.1".into(),
            weight: 1
        }]
    );
    // A node that leaves takes its routes along.
    r2.deregister().await.unwrap();
    assert!(r1.resolve_application("search").await.unwrap().is_empty());
}

#[tokio::test]
async fn configuration_node_over_application_over_cluster() {
    let etcd = Etcd::start("config").await;
    let me = etcd.registrar("c5").await;
    let mut events = me.subscribe();
    me.watch(None).await.unwrap();
    me.register_node("cfg@127.0.0.1", SocketAddr::from(([127, 0, 0, 1], 1)))
        .await
        .unwrap();
    let admin = etcd.registrar("c5").await;
    assert_eq!(
        me.config::<u32>("pool", Some("billing")).await.unwrap(),
        None
    );
    admin
        .set_config(ConfigScope::Cluster, "pool", &4u32)
        .await
        .unwrap();
    assert_eq!(
        me.config::<u32>("pool", Some("billing")).await.unwrap(),
        Some(4)
    );
    admin
        .set_config(ConfigScope::Application("billing".into()), "pool", &8u32)
        .await
        .unwrap();
    assert_eq!(
        me.config::<u32>("pool", Some("billing")).await.unwrap(),
        Some(8)
    );
    // Another application, or none, still reads the cluster's value.
    assert_eq!(
        me.config::<u32>("pool", Some("search")).await.unwrap(),
        Some(4)
    );
    assert_eq!(me.config::<u32>("pool", None).await.unwrap(), Some(4));
    admin
        .set_config(ConfigScope::Node("cfg@127.0.0.1".into()), "pool", &16u32)
        .await
        .unwrap();
    assert_eq!(
        me.config::<u32>("pool", Some("billing")).await.unwrap(),
        Some(16)
    );
    assert_eq!(me.config::<u32>("pool", None).await.unwrap(), Some(16));
    admin
        .remove_config(ConfigScope::Node("cfg@127.0.0.1".into()), "pool")
        .await
        .unwrap();
    assert_eq!(
        me.config::<u32>("pool", Some("billing")).await.unwrap(),
        Some(8)
    );
    // Typed: a value of another shape is an error, not a default.
    admin
        .set_config(ConfigScope::Cluster, "name", &"text")
        .await
        .unwrap();
    assert!(matches!(
        me.config::<u32>("name", None).await,
        Err(EtcdError::Config { .. })
    ));
    assert_eq!(
        me.config::<String>("name", None).await.unwrap().as_deref(),
        Some("text")
    );
    // Each change was an event, in order.
    let mut changes = Vec::new();
    while changes.len() < 5 {
        if let ClusterEvent::ConfigChanged { scope, item, value } = next_event(&mut events, |e| {
            matches!(e, ClusterEvent::ConfigChanged { .. })
        })
        .await
        {
            changes.push((scope, item, value));
        }
    }
    assert_eq!(
        changes,
        [
            (ConfigScope::Cluster, "pool".into(), Some("4".into())),
            (
                ConfigScope::Application("billing".into()),
                "pool".into(),
                Some("8".into())
            ),
            (
                ConfigScope::Node("cfg@127.0.0.1".into()),
                "pool".into(),
                Some("16".into())
            ),
            (
                ConfigScope::Node("cfg@127.0.0.1".into()),
                "pool".into(),
                None
            ),
            (ConfigScope::Cluster, "name".into(), Some("\"text\"".into())),
        ]
    );
}

/// Subscribes to the cluster event of its node and keeps what comes.
#[derive(Default)]
pub struct Observer {
    seen: Vec<ClusterEvent>,
}

#[actor]
impl Observer {
    #[handle_call(local)]
    fn subscribe(&mut self, ctx: &mut Context<Self>) -> bool {
        ctx.monitor_event::<ClusterEvent>(CLUSTER_EVENT).is_ok()
    }

    #[handle_info(local)]
    fn cluster(&mut self, event: Event<ClusterEvent>) {
        self.seen.push(event.message);
    }

    #[handle_info(local)]
    fn ended(&mut self, _: EventDown) {}

    #[handle_call(local)]
    fn seen(&mut self) -> Vec<ClusterEvent> {
        self.seen.clone()
    }
}

#[tokio::test]
async fn cluster_events_are_node_events() {
    let etcd = Etcd::start("events").await;
    let mine = etcd.registrar("c6").await;
    let node = node_with("obs@127.0.0.1", mine.clone()).await;
    mine.watch(Some(&node)).await.unwrap();
    let observer = node.spawn(Observer::default()).await.unwrap();
    assert!(observer.subscribe().await.unwrap());

    let other = etcd.registrar("c6").await;
    other
        .register_node("peer@127.0.0.1", SocketAddr::from(([127, 0, 0, 1], 9)))
        .await
        .unwrap();
    other.register_application("shop", 2).await.unwrap();
    other.unregister_application("shop").await.unwrap();
    other.deregister().await.unwrap();
    let expected = [
        ClusterEvent::NodeJoined {
            node: "peer@127.0.0.1".into(),
            addr: "127.0.0.1:9".into(),
        },
        ClusterEvent::ApplicationStarted {
            application: "shop".into(),
            node: "peer@127.0.0.1".into(),
            weight: 2,
        },
        ClusterEvent::ApplicationStopped {
            application: "shop".into(),
            node: "peer@127.0.0.1".into(),
        },
        ClusterEvent::NodeLeft {
            node: "peer@127.0.0.1".into(),
        },
    ];
    let seen = eventually("the observer saw the peer come and go", || async {
        let seen = observer.seen().await.unwrap();
        let peer: Vec<ClusterEvent> = seen
            .into_iter()
            .filter(
                |e| !matches!(e, ClusterEvent::NodeJoined { node, .. } if node == "obs@127.0.0.1"),
            )
            .collect();
        (peer.len() >= expected.len()).then_some(peer)
    })
    .await;
    assert_eq!(seen, expected);
    node.stop().await.unwrap();
}
