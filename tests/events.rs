//! Events: typed publish/subscribe with a token, open events, buffers for late
//! subscribers, demand notices, the end of an event reaching monitors and links with
//! the producer's reason — on one node, and from another node through one shared
//! subscription per node.

use ergo::events::{unregistered, ClusterEvent, EventError, EventToken, CLUSTER_EVENT};
use ergo::prelude::*;
use ergo::{Atom, Node};
use ergo_tests::{guard, node};

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Price(u64);

/// Registers `prices` and publishes what it is told to.
#[derive(Default)]
struct Producer {
    token: Option<EventToken<Price>>,
    demand: Vec<bool>,
}

#[actor]
impl Producer {
    #[handle_call(local)]
    fn start(
        &mut self,
        ctx: &mut Context<Self>,
        buffer: usize,
        open: bool,
    ) -> Result<(), EventError> {
        let mut options = EventOptions::new().buffer(buffer);
        if open {
            options = options.open();
        }
        self.token = Some(ctx.register_demand_event::<Price>("prices", options)?);
        Ok(())
    }

    #[handle_call(local)]
    fn publish(&mut self, n: u64) -> Result<(), EventError> {
        self.token.as_ref().expect("started").publish(Price(n))
    }

    #[handle_call(local)]
    fn unregister(&mut self) -> Result<(), EventError> {
        self.token.take().expect("started").unregister()
    }

    #[handle_call]
    fn demand(&mut self) -> Vec<bool> {
        self.demand.clone()
    }

    #[handle_cast]
    fn crash(&mut self) {
        panic!("producer crashed");
    }

    #[handle_info(local)]
    fn on_demand(&mut self, demand: EventDemand) {
        self.demand.push(demand.subscribers);
    }
}

/// Subscribes and keeps what it gets.
#[derive(Default)]
struct Subscriber {
    prices: Vec<u64>,
    downs: Vec<Reason>,
    exits: Vec<Reason>,
}

#[actor]
impl Subscriber {
    #[init]
    fn init(&mut self, ctx: &mut Context<Self>) {
        ctx.trap_exit(true);
    }

    #[handle_call(local)]
    fn monitor(&mut self, ctx: &mut Context<Self>) -> Result<Vec<u64>, EventError> {
        let past = ctx.monitor_event::<Price>("prices")?;
        Ok(past.into_iter().map(|p| p.0).collect())
    }

    #[handle_call(local)]
    fn link(&mut self, ctx: &mut Context<Self>) -> Result<Vec<u64>, EventError> {
        let past = ctx.link_event::<Price>("prices")?;
        Ok(past.into_iter().map(|p| p.0).collect())
    }

    #[handle_call(local)]
    fn monitor_as_string(&mut self, ctx: &mut Context<Self>) -> Result<Vec<String>, EventError> {
        ctx.monitor_event::<String>("prices")
    }

    #[handle_call(local)]
    async fn monitor_remote(
        &mut self,
        ctx: &mut Context<Self>,
        at: String,
    ) -> Result<Vec<u64>, EventError> {
        let past = ctx
            .monitor_remote_event::<Price>("prices", at.as_str())
            .await?;
        Ok(past.into_iter().map(|p| p.0).collect())
    }

    #[handle_call(local)]
    async fn link_remote(
        &mut self,
        ctx: &mut Context<Self>,
        at: String,
    ) -> Result<Vec<u64>, EventError> {
        let past = ctx
            .link_remote_event::<Price>("prices", at.as_str())
            .await?;
        Ok(past.into_iter().map(|p| p.0).collect())
    }

    #[handle_call]
    fn unsubscribe_remote(&mut self, ctx: &mut Context<Self>, at: String) -> bool {
        ctx.unsubscribe_remote_event("prices", at.as_str())
    }

    #[handle_call]
    fn unsubscribe(&mut self, ctx: &mut Context<Self>) -> bool {
        ctx.unsubscribe_event("prices")
    }

    #[handle_call(local)]
    fn publish_open(&mut self, ctx: &mut Context<Self>, n: u64) -> Result<(), EventError> {
        ctx.publish_event("prices", Price(n))
    }

    #[handle_call(local)]
    fn seen(&mut self) -> (Vec<u64>, Vec<Reason>, Vec<Reason>) {
        (self.prices.clone(), self.downs.clone(), self.exits.clone())
    }

    #[handle_info(local)]
    fn price(&mut self, event: Event<Price>) {
        assert_eq!(event.name, Atom::new("prices"));
        self.prices.push(event.message.0);
    }

    /// Handles text events too (so subscribing to one compiles; the registry refuses
    /// it at run time for an event of prices).
    #[handle_info(local)]
    fn text(&mut self, _: Event<String>) {}

    #[handle_info(local)]
    fn ended(&mut self, down: EventDown) {
        self.downs.push(down.reason);
    }

    #[handle_info]
    fn exit(&mut self, exit: Exit) {
        self.exits.push(exit.reason);
    }
}

async fn seen_until(
    s: &ActorRef<Subscriber>,
    done: impl Fn(&(Vec<u64>, Vec<Reason>, Vec<Reason>)) -> bool,
) -> (Vec<u64>, Vec<Reason>, Vec<Reason>) {
    guard("subscriber state", async {
        loop {
            let seen = s.seen().await.unwrap();
            if done(&seen) {
                break seen;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

async fn demand_until(p: &ActorRef<Producer>, n: usize) -> Vec<bool> {
    guard("demand notices", async {
        loop {
            let demand = p.demand().await.unwrap();
            if demand.len() >= n {
                break demand;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_published_values_and_the_buffer_and_the_producer_demand() {
    let node = node("events_pub").await;
    let producer = node.spawn(Producer::default()).await.unwrap();
    producer.start(2, false).await.unwrap();
    // Before anyone subscribes: kept in the buffer of 2, the oldest dropped.
    for n in 1..=3 {
        producer.publish(n).await.unwrap();
    }
    let a = node.spawn(Subscriber::default()).await.unwrap();
    let b = node.spawn(Subscriber::default()).await.unwrap();
    assert_eq!(a.monitor().await, Ok(vec![2, 3]));
    assert_eq!(b.link().await, Ok(vec![2, 3]));
    assert_eq!(demand_until(&producer, 1).await, vec![true]);
    // A subscription of another type is refused; so is a second registration.
    assert!(matches!(
        a.monitor_as_string().await,
        Err(CallError::Handler(EventError::WrongType { .. }))
    ));
    let other = node.spawn(Producer::default()).await.unwrap();
    assert_eq!(
        other.start(0, false).await,
        Err(CallError::Handler(EventError::Taken(Atom::new("prices"))))
    );
    // Not open: publishing by name is refused.
    assert_eq!(
        a.publish_open(9).await,
        Err(CallError::Handler(EventError::NotOpen(Atom::new("prices"))))
    );
    producer.publish(4).await.unwrap();
    producer.publish(5).await.unwrap();
    for s in [&a, &b] {
        let (prices, ..) = seen_until(s, |s| s.0.len() >= 2).await;
        assert_eq!(prices, vec![4, 5]);
    }
    // The last subscriber leaving (one unsubscribes, the other ends) turns demand off.
    assert!(a.unsubscribe().await.unwrap());
    assert!(!a.unsubscribe().await.unwrap());
    assert_eq!(demand_until(&producer, 1).await, vec![true]);
    node.kill(b.pid());
    assert_eq!(demand_until(&producer, 2).await, vec![true, false]);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_ends_with_its_producer_and_on_unregister() {
    let node = node("events_end").await;
    // The producer crashes: monitors get EventDown, links an exit, with its reason.
    let producer = node.spawn(Producer::default()).await.unwrap();
    producer.start(0, true).await.unwrap();
    let (m, l) = (
        node.spawn(Subscriber::default()).await.unwrap(),
        node.spawn(Subscriber::default()).await.unwrap(),
    );
    m.monitor().await.unwrap();
    l.link().await.unwrap();
    // Open: anyone publishes by name.
    m.publish_open(7).await.unwrap();
    seen_until(&l, |s| s.0 == [7]).await;
    producer.crash().unwrap();
    let crashed = Reason::Panic("producer crashed".into());
    assert_eq!(
        seen_until(&m, |s| !s.1.is_empty()).await.1,
        vec![crashed.clone()]
    );
    assert_eq!(seen_until(&l, |s| !s.2.is_empty()).await.2, vec![crashed]);
    // The name is free again; a token of the old event publishes nothing.
    let producer = node.spawn(Producer::default()).await.unwrap();
    producer.start(0, false).await.unwrap();
    m.monitor().await.unwrap();
    producer.unregister().await.unwrap();
    let downs = seen_until(&m, |s| s.1.len() >= 2).await.1;
    assert_eq!(downs[1], unregistered());
    assert_eq!(
        m.publish_open(1).await,
        Err(CallError::Handler(EventError::Unknown(Atom::new("prices"))))
    );
    node.stop().await.unwrap();
}

/// Two nodes with the native network; `a` reaches `b` by a static route.
async fn pair(a: &str, b: &str) -> (Node, Node) {
    use ergo::net::NetOptions;
    let nb = Node::builder(&format!("{b}@127.0.0.1"))
        .cookie("events")
        .network(NetOptions::new().registrar(None))
        .start()
        .await
        .unwrap();
    let route = NetOptions::new()
        .registrar(None)
        .route(&format!("{b}@127.0.0.1"), nb.listen_addr().unwrap());
    let na = Node::builder(&format!("{a}@127.0.0.1"))
        .cookie("events")
        .network(route)
        .start()
        .await
        .unwrap();
    (na, nb)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_on_another_node_share_one_subscription() {
    ergo::register_message::<Price>();
    let (a, b) = pair("events_sub", "events_pub").await;
    let at = "events_pub@127.0.0.1".to_string();
    let producer = b.spawn(Producer::default()).await.unwrap();
    producer.start(2, false).await.unwrap();
    producer.publish(1).await.unwrap();
    // Three subscribers on node a: the first subscribes the node, the others join.
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(a.spawn(Subscriber::default()).await.unwrap());
    }
    assert_eq!(subs[0].monitor_remote(at.clone()).await, Ok(vec![1]));
    assert_eq!(subs[1].monitor_remote(at.clone()).await, Ok(vec![1]));
    assert_eq!(subs[2].link_remote(at.clone()).await, Ok(vec![1]));
    // One demand notice on b for node a's three subscribers.
    assert_eq!(demand_until(&producer, 1).await, vec![true]);
    // 1,000 more subscribers on node a join locally.
    let mut crowd = Vec::new();
    for _ in 0..1_000 {
        let s = a.spawn(Subscriber::default()).await.unwrap();
        assert_eq!(s.monitor_remote(at.clone()).await, Ok(vec![1]));
        crowd.push(s);
    }
    producer.publish(2).await.unwrap();
    producer.publish(3).await.unwrap();
    for s in subs.iter().chain(&crowd) {
        assert_eq!(seen_until(s, |s| s.0.len() >= 2).await.0, vec![2, 3]);
    }
    // Each value left node b once for node a, however many subscribe there.
    let info = ergo::events::info(&b, "prices").unwrap();
    assert_eq!(info.published, 3);
    assert_eq!(info.sent, vec![(Atom::new("events_sub@127.0.0.1"), 2)]);
    assert_eq!(info.nodes, vec![Atom::new("events_sub@127.0.0.1")]);
    for s in &crowd {
        assert!(s.unsubscribe_remote(at.clone()).await.unwrap());
    }
    // The last local unsubscribe removes node a's subscription there.
    assert!(subs[0].unsubscribe_remote(at.clone()).await.unwrap());
    assert!(subs[1].unsubscribe_remote(at.clone()).await.unwrap());
    assert_eq!(demand_until(&producer, 1).await, vec![true]);
    assert!(subs[2].unsubscribe_remote(at.clone()).await.unwrap());
    assert_eq!(demand_until(&producer, 2).await, vec![true, false]);
    // Subscribed again, then the producer crashes: the end crosses with its reason.
    assert_eq!(subs[0].monitor_remote(at.clone()).await, Ok(vec![2, 3]));
    assert_eq!(subs[1].link_remote(at.clone()).await, Ok(vec![2, 3]));
    producer.crash().unwrap();
    let crashed = Reason::Panic("producer crashed".into());
    assert_eq!(
        seen_until(&subs[0], |s| !s.1.is_empty()).await.1,
        vec![crashed.clone()]
    );
    assert_eq!(
        seen_until(&subs[1], |s| !s.2.is_empty()).await.2,
        vec![crashed]
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_node_ends_its_events_for_remote_subscribers() {
    ergo::register_message::<Price>();
    let (a, b) = pair("events_sub2", "events_pub2").await;
    let at = "events_pub2@127.0.0.1".to_string();
    let producer = b.spawn(Producer::default()).await.unwrap();
    producer.start(0, false).await.unwrap();
    // Registered with its event: a subscriber from another node finds it at once.
    assert!(b.whereis("ergo_event_relay").is_some());
    let sub = a.spawn(Subscriber::default()).await.unwrap();
    assert_eq!(sub.monitor_remote(at.clone()).await, Ok(vec![]));
    assert_eq!(demand_until(&producer, 1).await, vec![true]);
    assert!(a.disconnect(&at));
    assert_eq!(
        seen_until(&sub, |s| !s.1.is_empty()).await.1,
        vec![Reason::NoConnection]
    );
    // On the producer's side the lost node is no subscriber any more.
    assert_eq!(demand_until(&producer, 2).await, vec![true, false]);
    assert!(ergo::events::info(&b, "prices").unwrap().nodes.is_empty());
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_itself_can_produce_an_event() {
    let node = node("events_node").await;
    let token =
        ergo::events::register_node_event::<Price>(&node, "prices", EventOptions::new().buffer(1))
            .unwrap();
    token.publish(Price(1)).unwrap();
    let s = node.spawn(Subscriber::default()).await.unwrap();
    assert_eq!(s.monitor().await, Ok(vec![1]));
    token.publish(Price(2)).unwrap();
    assert_eq!(seen_until(&s, |s| !s.0.is_empty()).await.0, vec![2]);
    assert_eq!(ergo::events::names(&node), vec![Atom::new("prices")]);
    let info = ergo::events::info(&node, "prices").unwrap();
    assert_eq!(
        (info.published, info.delivered, info.subscribers),
        (2, 1, 1)
    );
    token.unregister().unwrap();
    assert_eq!(
        seen_until(&s, |s| !s.1.is_empty()).await.1,
        vec![unregistered()]
    );
    assert!(ergo::events::names(&node).is_empty());
    node.stop().await.unwrap();
}

/// Keeps the ticks it gets from another OS process's event.
#[derive(Default)]
struct Ticks {
    seen: Vec<u64>,
}

#[actor]
impl Ticks {
    #[handle_call(local)]
    async fn subscribe(&mut self, ctx: &mut Context<Self>, at: String) -> Result<(), EventError> {
        ctx.monitor_remote_event::<u64>("ticks", at.as_str())
            .await
            .map(drop)
    }

    #[handle_call]
    fn count(&mut self) -> usize {
        self.seen.len()
    }

    #[handle_call]
    fn seen(&mut self) -> Vec<u64> {
        self.seen.clone()
    }

    #[handle_info(local)]
    fn tick(&mut self, event: Event<u64>) {
        self.seen.push(event.message);
    }

    #[handle_info(local)]
    fn ended(&mut self, _down: EventDown) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_sees_every_event_of_another_os_process_in_order() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    ergo::register_message::<u64>();
    let producer = "events_os_pub@127.0.0.1";
    let mut child = Command::new(env!("CARGO_BIN_EXE_event-node"))
        .arg(producer)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start event-node");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("READY line");
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("bad READY line {line:?}"));
    let node = Node::builder("events_os_sub@127.0.0.1")
        .cookie("events")
        .network(
            ergo::net::NetOptions::new()
                .registrar(None)
                .route(producer, addr),
        )
        .start()
        .await
        .unwrap();
    let subs = [
        node.spawn(Ticks::default()).await.unwrap(),
        node.spawn(Ticks::default()).await.unwrap(),
    ];
    for s in &subs {
        s.subscribe(producer.to_string()).await.unwrap();
    }
    const N: u64 = 5_000;
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "publish {N}").unwrap();
    stdin.flush().unwrap();
    for s in &subs {
        guard("every tick", async {
            while s.count().await.unwrap() < N as usize {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert_eq!(s.seen().await.unwrap(), (0..N).collect::<Vec<_>>());
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    node.stop().await.unwrap();
}

/// Forwards TCP connections to `to`, counting the bytes that flow towards `to`.
async fn counting_proxy(
    to: std::net::SocketAddr,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bytes = std::sync::Arc::new(AtomicU64::new(0));
    let counted = bytes.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = tokio::net::TcpStream::connect(to).await else {
                continue;
            };
            let (mut in_read, mut in_write) = inbound.into_split();
            let (mut out_read, mut out_write) = outbound.into_split();
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = in_read.read(&mut buf).await {
                    if n == 0 || out_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    counted.fetch_add(n as u64, Ordering::Relaxed);
                }
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut out_read, &mut in_write).await;
            });
        }
    });
    (addr, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_remote_subscribers_cost_one_message_per_publish_on_the_wire() {
    use std::sync::atomic::Ordering;
    ergo::register_message::<Price>();
    let (sub_name, pub_name) = ("events_wire_sub@127.0.0.1", "events_wire_pub@127.0.0.1");
    let subs_node = Node::builder(sub_name)
        .cookie("events")
        .network(ergo::net::NetOptions::new().registrar(None))
        .start()
        .await
        .unwrap();
    // Everything the producer's node sends to the subscribers' node goes through the
    // proxy, which counts it.
    let (proxy, wire_bytes) = counting_proxy(subs_node.listen_addr().unwrap()).await;
    let pub_node = Node::builder(pub_name)
        .cookie("events")
        .network(
            ergo::net::NetOptions::new()
                .registrar(None)
                .route(sub_name, proxy),
        )
        .start()
        .await
        .unwrap();
    let producer = pub_node.spawn(Producer::default()).await.unwrap();
    producer.start(0, false).await.unwrap();
    // The producer's node calls first, so the subscribers' node learns where it is.
    let probe = subs_node.spawn(Subscriber::default()).await.unwrap();
    let remote: ActorRef<Subscriber> = pub_node.actor_ref(probe.pid()).unwrap();
    assert!(!remote.unsubscribe().await.unwrap());
    let mut subs = Vec::new();
    for _ in 0..10_000 {
        let s = subs_node.spawn(Subscriber::default()).await.unwrap();
        assert_eq!(s.monitor_remote(pub_name.to_string()).await, Ok(vec![]));
        subs.push(s);
    }
    let before = wire_bytes.load(Ordering::Relaxed);
    const PUBLISHED: u64 = 20;
    for n in 0..PUBLISHED {
        producer.publish(n).await.unwrap();
    }
    for s in [&subs[0], &subs[9_999]] {
        seen_until(s, |s| s.0.len() == PUBLISHED as usize).await;
    }
    let per_publish = (wire_bytes.load(Ordering::Relaxed) - before) / PUBLISHED;
    // One small frame per value (per subscriber it would be 10,000 frames).
    assert!(per_publish < 512, "{per_publish} bytes per publish");
    let info = ergo::events::info(&pub_node, "prices").unwrap();
    assert_eq!(info.sent, vec![(Atom::new(sub_name), PUBLISHED)]);
    subs_node.stop().await.unwrap();
    pub_node.stop().await.unwrap();
}

/// Keeps the cluster changes it is told.
#[derive(Default)]
struct ClusterWatch {
    seen: Vec<ClusterEvent>,
}

#[actor]
impl ClusterWatch {
    #[handle_call(local)]
    fn watch(&mut self, ctx: &mut Context<Self>) -> Result<(), EventError> {
        ctx.monitor_event::<ClusterEvent>(CLUSTER_EVENT).map(drop)
    }

    #[handle_call(local)]
    async fn watch_remote(
        &mut self,
        ctx: &mut Context<Self>,
        at: String,
    ) -> Result<(), EventError> {
        ctx.monitor_remote_event::<ClusterEvent>(CLUSTER_EVENT, at.as_str())
            .await
            .map(drop)
    }

    #[handle_call(local)]
    fn seen(&mut self) -> Vec<ClusterEvent> {
        self.seen.clone()
    }

    #[handle_info(local)]
    fn change(&mut self, event: Event<ClusterEvent>) {
        self.seen.push(event.message);
    }

    #[handle_info(local)]
    fn ended(&mut self, _down: EventDown) {}
}

async fn cluster_seen_until(w: &ActorRef<ClusterWatch>, n: usize) -> Vec<ClusterEvent> {
    guard("cluster events", async {
        loop {
            let seen = w.seen().await.unwrap();
            if seen.len() >= n {
                return seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_tells_its_subscribers_who_joins_and_leaves_the_cluster() {
    use ergo::net::NetOptions;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let registrar = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let start = |name: &'static str| async move {
        Node::builder(name)
            .cookie("cluster")
            .network(NetOptions::new().registrar(Some(registrar)))
            .start()
            .await
            .unwrap()
    };
    // The first node serves the registrar; the second registers with it.
    let r = start("cl_serving@127.0.0.1").await;
    let b = start("cl_member@127.0.0.1").await;
    let on_r = r.spawn(ClusterWatch::default()).await.unwrap();
    let on_b = b.spawn(ClusterWatch::default()).await.unwrap();
    on_r.watch().await.unwrap();
    on_b.watch().await.unwrap();
    // And a subscriber on b to the serving node's event, by the same calls.
    let remote = b.spawn(ClusterWatch::default()).await.unwrap();
    remote
        .watch_remote("cl_serving@127.0.0.1".to_string())
        .await
        .unwrap();
    let c = start("cl_late@127.0.0.1").await;
    let late = Atom::new("cl_late@127.0.0.1");
    for w in [&on_r, &on_b, &remote] {
        assert_eq!(
            cluster_seen_until(w, 1).await,
            vec![ClusterEvent::NodeJoined(late)]
        );
    }
    c.stop().await.unwrap();
    for w in [&on_r, &on_b, &remote] {
        assert_eq!(
            cluster_seen_until(w, 2).await,
            vec![ClusterEvent::NodeJoined(late), ClusterEvent::NodeLeft(late)]
        );
    }
    let info = ergo::events::info(&r, CLUSTER_EVENT).unwrap();
    assert_eq!(info.owner.id(), 0, "produced by the node itself");
    assert_eq!(info.nodes, vec![Atom::new("cl_member@127.0.0.1")]);
    b.stop().await.unwrap();
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_subscribers_that_end_unsubscribe_their_node() {
    ergo::register_message::<Price>();
    let (a, b) = pair("events_sub3", "events_pub3").await;
    let at = "events_pub3@127.0.0.1".to_string();
    let producer = b.spawn(Producer::default()).await.unwrap();
    producer.start(0, false).await.unwrap();
    let mut subs = Vec::new();
    for _ in 0..3 {
        let s = a.spawn(Subscriber::default()).await.unwrap();
        s.monitor_remote(at.clone()).await.unwrap();
        subs.push(s);
    }
    assert_eq!(demand_until(&producer, 1).await, vec![true]);
    // Two end: the third still gets values, and node a stays subscribed.
    a.kill(subs[0].pid());
    a.kill(subs[1].pid());
    producer.publish(1).await.unwrap();
    assert_eq!(seen_until(&subs[2], |s| !s.0.is_empty()).await.0, vec![1]);
    assert_eq!(ergo::events::info(&b, "prices").unwrap().nodes.len(), 1);
    // The last one ends: node a's subscription goes, and the producer is told.
    a.kill(subs[2].pid());
    assert_eq!(demand_until(&producer, 2).await, vec![true, false]);
    assert!(ergo::events::info(&b, "prices").unwrap().nodes.is_empty());
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// Registers the demand-driven event `ticks` (u64 values) and keeps its demand notices.
#[derive(Default)]
struct TickProducer {
    demand: Vec<bool>,
}

#[actor]
impl TickProducer {
    #[handle_call(local)]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), EventError> {
        ctx.register_demand_event::<u64>("ticks", EventOptions::new())
            .map(drop)
    }

    #[handle_call]
    fn demand(&mut self) -> Vec<bool> {
        self.demand.clone()
    }

    #[handle_info(local)]
    fn on_demand(&mut self, demand: EventDemand) {
        self.demand.push(demand.subscribers);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_subscriber_node_leaves_the_producer_and_ends_its_demand() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    ergo::register_message::<u64>();
    let node = Node::builder("events_os_pub2@127.0.0.1")
        .cookie("events")
        .network(ergo::net::NetOptions::new().registrar(None))
        .start()
        .await
        .unwrap();
    let producer = node.spawn(TickProducer::default()).await.unwrap();
    producer.start().await.unwrap();
    // The relay that serves other nodes starts with the first event.
    ergo_tests::eventually("the relay", || node.whereis("ergo_event_relay").is_some()).await;
    let subscriber = "events_os_sub2@127.0.0.1";
    let mut child = Command::new(env!("CARGO_BIN_EXE_event-node"))
        .args([subscriber, "subscribe", "events_os_pub2@127.0.0.1"])
        .arg(node.listen_addr().unwrap().to_string())
        .arg("100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start event-node");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("SUBSCRIBED line");
    assert_eq!(line.trim(), "SUBSCRIBED");
    // 100 subscribers there: one subscribing node here, one demand notice.
    let demand = async |n: usize| {
        guard("demand", async {
            loop {
                let d = producer.demand().await.unwrap();
                if d.len() >= n {
                    return d;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await
    };
    assert_eq!(demand(1).await, vec![true]);
    let info = ergo::events::info(&node, "ticks").unwrap();
    assert_eq!(info.nodes, vec![Atom::new(subscriber)]);
    // Killed (SIGKILL): its connection drops, it is no subscriber any more.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(demand(2).await, vec![true, false]);
    assert!(ergo::events::info(&node, "ticks").unwrap().nodes.is_empty());
    node.stop().await.unwrap();
}
