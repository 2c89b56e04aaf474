//! Network transparency with several nodes in one OS process, on 127.0.0.1: typed
//! calls and casts, order, remote links and monitors, wrong cookies, bad frames,
//! important delivery, remote spawn, restarts seen from another node.

use std::net::SocketAddr;
use std::time::Duration;

use ergo::net::{NetOptions, NetworkExt, SpawnPermission};
use ergo::prelude::*;
use ergo::Atom;
use ergo::{NetError, RemoteError};
use ergo_net::frame::{self, Header, WireTarget};
use ergo_net::handshake;
use ergo_tests::guard;
use tokio::io::AsyncWriteExt;

/// A counter reachable from other nodes.
#[derive(Default)]
pub struct Counter {
    count: u64,
    seen: Vec<u64>,
}

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }

    #[handle_call]
    fn seen(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.seen)
    }

    #[handle_cast]
    fn record(&mut self, n: u64) {
        self.seen.push(n);
    }

    #[handle_cast]
    fn fail(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(Reason::error("asked to fail"));
    }

    #[handle_cast]
    fn note(&mut self, text: String) {
        self.seen.push(text.len() as u64);
    }
}

/// Collects the `Down`s and exits it gets; links and monitors on request.
#[derive(Default)]
pub struct Watcher {
    downs: Vec<Down>,
    exits: Vec<Exit>,
}

#[actor]
impl Watcher {
    #[init]
    fn init(&mut self, ctx: &mut Context<Self>) {
        ctx.trap_exit(true);
    }

    #[handle_call]
    fn watch(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.monitor(pid).is_ok()
    }

    #[handle_call]
    fn watch_name(&mut self, ctx: &mut Context<Self>, name: String, node: String) -> bool {
        ctx.monitor((name.as_str(), node.as_str())).is_ok()
    }

    #[handle_call]
    fn link_to(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.link(pid).is_ok()
    }

    #[handle_call]
    fn unlink_from(&mut self, ctx: &mut Context<Self>, pid: Pid) {
        ctx.unlink(pid);
    }

    #[handle_call]
    fn report(&mut self) -> (Vec<Reason>, Vec<Reason>) {
        (
            self.downs.iter().map(|d| d.reason.clone()).collect(),
            self.exits.iter().map(|e| e.reason.clone()).collect(),
        )
    }

    #[handle_info]
    fn down(&mut self, down: Down) {
        self.downs.push(down);
    }

    #[handle_info]
    fn exit(&mut self, exit: Exit) {
        self.exits.push(exit);
    }
}

/// A node called `name@127.0.0.1` with the tests' cookie and these network options.
async fn node_with(name: &str, options: NetOptions) -> Node {
    Node::builder(&format!("{name}@127.0.0.1"))
        .cookie("net-test")
        .network(options)
        .start()
        .await
        .unwrap()
}

async fn node(name: &str, cookie: &str, routes: &[(&str, SocketAddr)]) -> Node {
    let mut options = NetOptions::new().registrar(None);
    for (pattern, addr) in routes {
        options = options.route(pattern, *addr);
    }
    Node::builder(&format!("{name}@127.0.0.1"))
        .cookie(cookie)
        .network(options)
        .start()
        .await
        .unwrap()
}

/// Two nodes; `a` reaches `b` by a static route, `b` dials back where `a` said.
async fn pair(a: &str, b: &str) -> (Node, Node) {
    let nb = node(b, "net-test", &[]).await;
    let addr = nb.listen_addr().unwrap();
    let na = node(a, "net-test", &[(&format!("{b}@127.0.0.1"), addr)]).await;
    (na, nb)
}

/// Waits until the watcher has seen `n` Downs and exits in all.
async fn report(w: &ActorRef<Watcher>, n: usize) -> (Vec<Reason>, Vec<Reason>) {
    for _ in 0..2_000 {
        let r = w.report().await.unwrap();
        if r.0.len() + r.1.len() >= n {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the watcher never saw {n} notifications")
}

#[tokio::test]
async fn typed_call_and_cast_across_nodes_keep_order() {
    let (a, b) = pair("net_a1", "net_b1").await;
    b.spawn_register("counter", Counter::default())
        .await
        .unwrap();
    let remote: ActorRef<Counter> = guard("lookup", a.lookup_remote("counter", "net_b1@127.0.0.1"))
        .await
        .unwrap();
    assert!(!remote.is_local());
    assert_eq!(guard("call", remote.add(5)).await.unwrap(), 5);
    assert_eq!(guard("call", remote.add(2)).await.unwrap(), 7);
    for i in 0..20_000 {
        remote.record(i).unwrap();
    }
    let seen = guard("call", remote.seen()).await.unwrap();
    assert_eq!(seen, (0..20_000).collect::<Vec<_>>());
    // Looking up under the wrong type is refused by the remote node's answer.
    let wrong = a
        .lookup_remote::<Watcher>("counter", "net_b1@127.0.0.1")
        .await;
    assert!(
        matches!(wrong, Err(NetError::WrongType { .. })),
        "{wrong:?}"
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn remote_monitors_and_links_fire_on_exit_and_on_connection_loss() {
    let (a, b) = pair("net_a2", "net_b2").await;
    let c1 = b.spawn(Counter::default()).await.unwrap();
    let c2 = b.spawn(Counter::default()).await.unwrap();
    let watcher = a.spawn(Watcher::default()).await.unwrap();
    assert!(watcher.watch(c1.pid()).await.unwrap());
    assert!(watcher.link_to(c1.pid()).await.unwrap());
    assert!(watcher.watch(c2.pid()).await.unwrap());
    assert!(watcher.link_to(c2.pid()).await.unwrap());
    // Make sure the remote halves are in place before c1 fails (order per pair).
    let c1_remote: ActorRef<Counter> = a.actor_ref(c1.pid()).unwrap();
    c1_remote.add(0).await.unwrap();
    c1.fail().unwrap();
    let (downs, exits) = report(&watcher, 2).await;
    assert_eq!(downs, vec![Reason::error("asked to fail")]);
    assert_eq!(exits, vec![Reason::error("asked to fail")]);
    // Losing the connection to node b fires the rest with NoConnection, exactly once.
    assert!(a.disconnect("net_b2@127.0.0.1"));
    let (downs, exits) = report(&watcher, 4).await;
    assert_eq!(downs[1..], [Reason::NoConnection]);
    assert_eq!(exits[1..], [Reason::NoConnection]);
    // Node b saw the loss too: c2, linked to the watcher, died of it.
    b.monitor(c2.pid()).unwrap().down().await;
    // The next send reconnects.
    let c3 = b.spawn(Counter::default()).await.unwrap();
    let c3_remote: ActorRef<Counter> = a.actor_ref(c3.pid()).unwrap();
    assert_eq!(guard("call", c3_remote.add(1)).await.unwrap(), 1);
    assert_eq!(report(&watcher, 4).await.0.len(), 2, "nothing fired twice");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_wrong_cookie_is_refused_and_nothing_is_delivered() {
    let b = node("net_b3", "right", &[]).await;
    b.spawn_register("counter", Counter::default())
        .await
        .unwrap();
    let addr = b.listen_addr().unwrap();
    let a = node("net_a3", "wrong", &[("net_b3@127.0.0.1", addr)]).await;
    let found = a
        .lookup_remote::<Counter>("counter", "net_b3@127.0.0.1")
        .await;
    assert_eq!(
        found.err(),
        Some(NetError::WrongCookie(Atom::new("net_b3@127.0.0.1")))
    );
    // A caller learns why too, as a typed error.
    let pid = b.lookup::<Counter>("counter").unwrap().pid();
    let remote: ActorRef<Counter> = a.actor_ref(pid).unwrap();
    assert_eq!(
        remote.add(1).await,
        Err(CallError::Network(NetError::WrongCookie(Atom::new(
            "net_b3@127.0.0.1"
        ))))
    );
    // The raw handshake with the wrong cookie is refused too.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let shake = handshake::client(&mut stream, "raw@127.0.0.1", 1, "wrong", 0).await;
    assert!(matches!(
        shake,
        Err(handshake::HandshakeError::WrongCookie(_))
    ));
    let local = b.lookup::<Counter>("counter").unwrap();
    assert_eq!(local.seen().await.unwrap(), Vec::<u64>::new());
    assert_eq!(local.add(0).await.unwrap(), 0);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// A raw, authenticated connection to `addr` (as node `raw@127.0.0.1`).
async fn raw_connection(addr: SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    handshake::client(&mut stream, "raw@127.0.0.1", 1, "net-test", 0)
        .await
        .unwrap();
    stream
}

/// A frame sending `Record(n)` to the counter (or, `good = false`, a payload that is
/// not a Counter message).
fn record_frame(n: u64, good: bool) -> Vec<u8> {
    let mut buf = Vec::new();
    let header = Header::Send {
        from: 0,
        to: WireTarget::Name(frame::WireName("counter".into())),
        priority: 2,
        ack: 0,
    };
    frame::encode(&mut buf, &header, 0, |b| {
        if good {
            (Counter::wire().unwrap().encode_message)(&CounterMessage::Record(n), b)
        } else {
            b.extend_from_slice(&[200, 1, 2, 3]);
            Ok(())
        }
    })
    .unwrap();
    buf
}

/// Reads until the node closes the connection (the test's hang guard bounds it).
async fn closed_by_peer(stream: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut scratch = [0u8; 256];
    while guard("close", stream.read(&mut scratch)).await.unwrap_or(0) > 0 {}
}

#[tokio::test]
async fn a_framing_error_closes_the_connection_and_nothing_is_skipped() {
    let b = node_with("net_b4", NetOptions::new().registrar(None).max_frame(1024)).await;
    let counter = b
        .spawn_register("counter", Counter::default())
        .await
        .unwrap();
    let addr = b.listen_addr().unwrap();
    // A payload the target cannot decode is the target's business: refused, and the
    // connection goes on.
    let mut stream = raw_connection(addr).await;
    let mut bytes = record_frame(0, false);
    bytes.extend(record_frame(42, true));
    stream.write_all(&bytes).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..2_000 {
        seen = counter.seen().await.unwrap();
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(seen, vec![42]);
    // Oversized (announced above the limit) or malformed: the connection is closed at
    // once, and what follows on it is never read, let alone skipped to.
    let oversized = {
        let mut b = 5000u32.to_be_bytes().to_vec();
        b.extend(std::iter::repeat_n(0xAB, 5000));
        b
    };
    let malformed = {
        let mut b = 4u32.to_be_bytes().to_vec();
        b.extend_from_slice(&[0, 0xFF, 0xFF, 0xFF]);
        b
    };
    for bad in [oversized, malformed] {
        let mut stream = raw_connection(addr).await;
        let mut bytes = bad;
        bytes.extend(record_frame(7, true));
        // The node may close before it has read everything: a write error is fine.
        let _ = stream.write_all(&bytes).await;
        closed_by_peer(&mut stream).await;
    }
    // The node serves on: a new connection delivers, and nothing after a bad frame
    // arrived.
    let mut stream = raw_connection(addr).await;
    stream.write_all(&record_frame(43, true)).await.unwrap();
    for _ in 0..2_000 {
        let seen = counter.seen().await.unwrap();
        if !seen.is_empty() {
            assert_eq!(seen, vec![43]);
            let refused = b.network_stats().unwrap();
            assert_eq!(refused.refused_plain, 1, "the undecodable message");
            b.stop().await.unwrap();
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the node stopped serving after bad frames");
}

#[tokio::test]
async fn important_delivery_fails_at_once_for_a_missing_process() {
    let (a, b) = pair("net_a5", "net_b5").await;
    let c = b.spawn(Counter::default()).await.unwrap();
    let remote: ActorRef<Counter> = a.actor_ref(c.pid()).unwrap();
    remote
        .send_important(CounterMessage::Record(1))
        .await
        .unwrap();
    assert_eq!(remote.seen().await.unwrap(), vec![1]);
    c.fail().unwrap();
    b.monitor(c.pid()).unwrap().down().await;
    let err = guard(
        "important send",
        remote.send_important(CounterMessage::Record(2)),
    )
    .await
    .unwrap_err();
    assert_eq!(err, NetError::Remote(RemoteError::NoProcess));
    assert_eq!(remote.add(1).await, Err(CallError::NoProcess));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_message_of_the_wrong_type_gets_a_clear_error() {
    let (a, b) = pair("net_a6", "net_b6").await;
    let c = b.spawn(Counter::default()).await.unwrap();
    // Addressed as a Watcher, the Counter cannot decode the request.
    let wrong: ActorRef<Watcher> = a.actor_ref(c.pid()).unwrap();
    let err = guard("call", wrong.report()).await.unwrap_err();
    assert!(
        matches!(err, CallError::BadRequest(ref why) if why.contains("rejected")),
        "{err:?}"
    );
    // The node and the process are fine.
    let right: ActorRef<Counter> = a.actor_ref(c.pid()).unwrap();
    assert_eq!(right.add(3).await.unwrap(), 3);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn remote_spawn_when_allowed_and_refused_otherwise() {
    let (a, b) = pair("net_a7", "net_b7").await;
    b.enable_spawn("counter", SpawnPermission::Anyone, Counter::default)
        .unwrap();
    b.enable_spawn(
        "private",
        SpawnPermission::Nodes(vec![Atom::new("someone@127.0.0.1")]),
        Counter::default,
    )
    .unwrap();
    let spawned: ActorRef<Counter> = a
        .remote_spawn("net_b7@127.0.0.1", "counter", Some("spawned"), ())
        .await
        .unwrap();
    assert_eq!(spawned.pid().node(), b.name());
    assert_eq!(spawned.add(40).await.unwrap(), 40);
    assert_eq!(spawned.add(2).await.unwrap(), 42);
    assert!(b.whereis("spawned").is_some());
    let refused = a
        .remote_spawn::<Counter>("net_b7@127.0.0.1", "private", None, ())
        .await;
    assert!(
        matches!(refused, Err(NetError::Remote(RemoteError::NotAllowed(_)))),
        "{refused:?}"
    );
    let unknown = a
        .remote_spawn::<Counter>("net_b7@127.0.0.1", "nope", None, ())
        .await;
    assert!(
        matches!(unknown, Err(NetError::Remote(RemoteError::NotAllowed(_)))),
        "{unknown:?}"
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

supervisor! {
    pub RemoteSup: one_for_one(intensity = 10, period = 5s) {
        worker: Counter = Counter::default(),
    }
}

#[tokio::test]
async fn a_client_on_another_node_follows_a_restarted_child() {
    let (a, b) = pair("net_a8", "net_b8").await;
    b.spawn(RemoteSup::new()).await.unwrap();
    let first: ActorRef<Counter> = a.lookup_remote("worker", "net_b8@127.0.0.1").await.unwrap();
    assert_eq!(first.add(1).await.unwrap(), 1);
    first.fail().unwrap();
    // The old pid is gone; the name moved to the restarted child.
    let mut again = None;
    for _ in 0..2_000 {
        if let Ok(r) = a
            .lookup_remote::<Counter>("worker", "net_b8@127.0.0.1")
            .await
        {
            if r.pid() != first.pid() {
                again = Some(r);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let again = again.expect("the child restarted under its name");
    assert_eq!(again.add(1).await.unwrap(), 1, "a fresh instance");
    assert_eq!(first.add(1).await, Err(CallError::NoProcess));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn compressed_frames_cross_intact() {
    let b = node_with(
        "net_b9",
        NetOptions::new().registrar(None).compress_above(64),
    )
    .await;
    let addr = b.listen_addr().unwrap();
    let a = node_with(
        "net_a9",
        NetOptions::new()
            .registrar(None)
            .compress_above(64)
            .route("net_b9@127.0.0.1", addr),
    )
    .await;
    let c = b.spawn(Counter::default()).await.unwrap();
    let remote: ActorRef<Counter> = a.actor_ref(c.pid()).unwrap();
    for i in 0..1000 {
        remote.record(i).unwrap();
    }
    // The reply (1000 numbers) is compressed on the way back.
    assert_eq!(remote.seen().await.unwrap(), (0..1000).collect::<Vec<_>>());
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// An external registrar kept in memory, shared by the nodes of a test.
#[derive(Default)]
struct MemoryRegistrar(std::sync::Mutex<std::collections::HashMap<String, SocketAddr>>);

impl ergo::net::Registrar for MemoryRegistrar {
    fn register<'a>(
        &'a self,
        node: &'a str,
        addr: SocketAddr,
    ) -> ergo::net::RegistrarFuture<'a, ()> {
        self.0.lock().unwrap().insert(node.to_owned(), addr);
        Box::pin(async {})
    }

    fn resolve<'a>(&'a self, node: &'a str) -> ergo::net::RegistrarFuture<'a, Option<SocketAddr>> {
        let found = self.0.lock().unwrap().get(node).copied();
        Box::pin(async move { found })
    }
}

#[tokio::test]
async fn an_external_registrar_resolves_nodes() {
    let registrar = std::sync::Arc::new(MemoryRegistrar::default());
    let options = || {
        NetOptions::new()
            .registrar(None)
            .external_registrar(registrar.clone())
    };
    let b = node_with("net_b10", options()).await;
    let a = node_with("net_a10", options()).await;
    b.spawn_register("counter", Counter::default())
        .await
        .unwrap();
    let remote: ActorRef<Counter> = a
        .lookup_remote("counter", "net_b10@127.0.0.1")
        .await
        .unwrap();
    assert_eq!(remote.add(4).await.unwrap(), 4);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn remote_application_start_when_allowed_and_refused_otherwise() {
    use ergo::supervisor::ChildSpec;
    use ergo::ApplicationSpec;
    let (a, b) = pair("net_a11", "net_b11").await;
    for app in ["shop", "vault"] {
        b.load_application(ApplicationSpec::new(
            app,
            ChildSpec::new(&format!("{app}_sup"), || (RemoteSup::new(), ())),
        ))
        .unwrap();
    }
    b.enable_remote_start("shop", SpawnPermission::Anyone)
        .unwrap();
    b.enable_remote_start(
        "vault",
        SpawnPermission::Nodes(vec![Atom::new("someone@127.0.0.1")]),
    )
    .unwrap();
    let root = a
        .remote_start_application("net_b11@127.0.0.1", "shop")
        .await
        .unwrap();
    assert_eq!(root.node(), b.name());
    assert!(
        b.process_info(root).is_some(),
        "the root supervisor runs on b"
    );
    let refused = a
        .remote_start_application("net_b11@127.0.0.1", "vault")
        .await;
    assert!(
        matches!(refused, Err(NetError::Remote(RemoteError::NotAllowed(_)))),
        "{refused:?}"
    );
    let unknown = a
        .remote_start_application("net_b11@127.0.0.1", "nope")
        .await;
    assert!(
        matches!(unknown, Err(NetError::Remote(RemoteError::NotAllowed(_)))),
        "{unknown:?}"
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// Sends one long text to a remote counter, with its own compression setting.
pub struct Chatty {
    to: ActorRef<Counter>,
}

#[actor]
impl Chatty {
    #[handle_call]
    fn say(&mut self, ctx: &mut Context<Self>, compress: Option<usize>) {
        ctx.set_compression_threshold(compress);
        // 3,000 identical bytes: lz4 shrinks them to a few dozen.
        let _ = self.to.send(CounterMessage::Note("a".repeat(3000)));
    }
}

#[tokio::test]
async fn compression_can_be_set_per_process() {
    use tokio::io::AsyncReadExt;
    // A raw peer that accepts the handshake and reads the frames it gets.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // One connection, so both frames travel on it in the order they were sent.
    let a = node_with(
        "net_a12",
        NetOptions::new()
            .registrar(None)
            .pool_size(1)
            .route("raw12@127.0.0.1", addr),
    )
    .await;
    let target: ActorRef<Counter> = a
        .actor_ref(Pid::new(Atom::new("raw12@127.0.0.1"), 1, 1))
        .unwrap();
    let compressed = a.spawn(Chatty { to: target.clone() }).await.unwrap();
    let plain = a.spawn(Chatty { to: target }).await.unwrap();
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        handshake::server(&mut stream, "raw12@127.0.0.1", 1, "net-test")
            .await
            .unwrap();
        let mut flags = Vec::new();
        while flags.len() < 2 {
            let len = stream.read_u32().await.unwrap() as usize;
            let mut body = vec![0; len];
            stream.read_exact(&mut body).await.unwrap();
            let (header, payload) = frame::decode(&body, 1 << 20).unwrap();
            if let Header::Send { .. } = header {
                // The text arrives whole; only a compressed frame is small on the wire.
                assert!(payload.len() > 3000);
                assert_eq!(body.len() < 3000, body[0] & frame::COMPRESSED != 0);
                flags.push(body[0] & frame::COMPRESSED != 0);
            }
        }
        flags
    });
    // Each call returns after its frame is queued on the connection.
    compressed.say(Some(64)).await.unwrap();
    plain.say(None).await.unwrap();
    let flags = guard("both frames", peer).await.unwrap();
    assert_eq!(flags, vec![true, false]);
    a.stop().await.unwrap();
}

#[tokio::test]
async fn a_remote_name_can_be_monitored() {
    let b = node("net_b13", "net-test", &[]).await;
    // One connection from a, so its monitor goes out before the cast that ends the target.
    let a = node_with(
        "net_a13",
        NetOptions::new()
            .registrar(None)
            .pool_size(1)
            .route("net_b13@127.0.0.1", b.listen_addr().unwrap()),
    )
    .await;
    let named = b.spawn_register("named", Counter::default()).await.unwrap();
    let watcher = a.spawn(Watcher::default()).await.unwrap();
    assert!(watcher
        .watch_name("named".into(), "net_b13@127.0.0.1".into())
        .await
        .unwrap());
    assert!(watcher
        .watch_name("nobody".into(), "net_b13@127.0.0.1".into())
        .await
        .unwrap());
    let remote: ActorRef<Counter> = a.actor_ref(named.pid()).unwrap();
    remote.fail().unwrap();
    let (mut downs, _) = report(&watcher, 2).await;
    downs.sort_by_key(|r| r.to_string());
    assert_eq!(
        downs,
        vec![Reason::error("asked to fail"), Reason::NoProcess]
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn node_level_monitors_of_remote_processes_and_names() {
    let (a, b) = pair("net_a9", "net_b9").await;
    let by_pid = b.spawn(Counter::default()).await.unwrap();
    let by_name = b.spawn_register("named", Counter::default()).await.unwrap();
    let kept = b.spawn(Counter::default()).await.unwrap();
    // From outside any process, by pid and by {name, node}, like a process would.
    let m_pid = a
        .monitor(by_pid.pid())
        .expect("a node-level monitor of a remote pid");
    let m_name = a
        .monitor(("named", "net_b9@127.0.0.1"))
        .expect("a node-level monitor of a remote name");
    let m_kept = a.monitor(kept.pid()).unwrap();
    // The monitors are in place once a call through the same pairs has come back.
    let remote: ActorRef<Counter> = a.actor_ref(by_pid.pid()).unwrap();
    remote.add(0).await.unwrap();
    by_pid.fail().unwrap();
    let down = guard("Down by pid", m_pid.down()).await;
    assert_eq!(
        (down.pid, down.reason),
        (by_pid.pid(), Reason::error("asked to fail"))
    );
    by_name.fail().unwrap();
    let down = guard("Down by name", m_name.down()).await;
    assert_eq!(
        (down.pid, down.reason),
        (by_name.pid(), Reason::error("asked to fail"))
    );
    // A lost connection: the remaining monitor fires NoConnection, once.
    assert!(a.disconnect("net_b9@127.0.0.1"));
    let down = guard("Down on loss", m_kept.down()).await;
    assert_eq!((down.pid, down.reason), (kept.pid(), Reason::NoConnection));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_remote_handle_is_not_alive_once_its_node_is_lost() {
    let (a, b) = pair("net_a10", "net_b10").await;
    let counter = b.spawn(Counter::default()).await.unwrap();
    let remote: ActorRef<Counter> = a.actor_ref(counter.pid()).unwrap();
    assert_eq!(guard("call", remote.add(1)).await.unwrap(), 1);
    assert!(remote.is_alive());
    let monitor = a.monitor(counter.pid()).unwrap();
    b.stop().await.unwrap();
    let down = guard("Down", monitor.down()).await;
    // Shut down with its node, or already gone when the monitor arrived, or lost.
    assert!(
        matches!(
            down.reason,
            Reason::NoConnection | Reason::Shutdown | Reason::NoProcess
        ),
        "{down:?}"
    );
    // Once the loss is known, the handle says so (a bounded wait: the Down may come
    // from b's shutdown, before the connection closes).
    ergo_tests::eventually("the handle knows its node is lost", || !remote.is_alive()).await;
    assert!(a.connected_nodes().is_empty());
    a.stop().await.unwrap();
}

/// A message sent by pid without knowing the receiver's actor type.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Note {
    text: String,
}

/// A type nobody registered for other nodes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unregistered(u8);

/// Keeps the notes it gets.
#[derive(Default)]
pub struct Board {
    notes: Vec<Note>,
}

#[actor]
impl Board {
    #[handle_info]
    fn note(&mut self, note: Note) {
        self.notes.push(note);
    }

    #[handle_info]
    fn other(&mut self, _: Unregistered) {}

    #[handle_call]
    fn notes(&mut self) -> Vec<Note> {
        self.notes.clone()
    }
}

#[tokio::test]
async fn untyped_sends_by_pid_cross_nodes_for_registered_types() {
    ergo::register_message::<Note>();
    let (a, b) = pair("net_a11", "net_b11").await;
    let board = b.spawn_register("board", Board::default()).await.unwrap();
    // By pid and by {name, node}, without the receiver's actor type.
    a.send(board.pid(), Note { text: "one".into() }).unwrap();
    a.send(("board", "net_b11@127.0.0.1"), Note { text: "two".into() })
        .unwrap();
    let remote: ActorRef<Board> = a.actor_ref(board.pid()).unwrap();
    let notes = guard("notes", async {
        loop {
            let notes = remote.notes().await.unwrap();
            if notes.len() >= 2 {
                break notes;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(
        notes,
        vec![Note { text: "one".into() }, Note { text: "two".into() }]
    );
    // A type that cannot cross is refused at once, with the message given back.
    match a.send(board.pid(), Unregistered(7)) {
        Err(SendError::NotRemote(msg)) => {
            assert_eq!(msg.downcast_ref::<Unregistered>(), Some(&Unregistered(7)))
        }
        other => panic!("expected NotRemote, got {other:?}"),
    }
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn many_local_monitors_of_one_remote_process_cross_as_one() {
    let (a, b) = pair("net_a12", "net_b12").await;
    let target = b.spawn(Counter::default()).await.unwrap();
    let mut watchers = Vec::new();
    for _ in 0..100 {
        let w = a.spawn(Watcher::default()).await.unwrap();
        assert!(w.watch(target.pid()).await.unwrap());
        watchers.push(w);
    }
    let node_monitor = a.monitor(target.pid()).unwrap();
    // Node b holds one monitor for node a's 101.
    let on_b = ergo::dev::Dist::new(&b);
    let a_name = a.name();
    ergo_tests::eventually("the monitor is on b", || on_b.booked(a_name).2 == 1).await;
    assert_eq!(ergo::dev::Dist::new(&a).booked(b.name()).1, 101);
    target.fail().unwrap();
    // One Down crossed; each watcher gets its own, once.
    let down = guard("node-level Down", node_monitor.down()).await;
    assert_eq!(down.reason, Reason::error("asked to fail"));
    for w in &watchers {
        let (downs, _) = report(w, 1).await;
        assert_eq!(downs, vec![Reason::error("asked to fail")]);
    }
    assert_eq!(on_b.booked(a_name), (0, 0, 0));
    assert_eq!(ergo::dev::Dist::new(&a).booked(b.name()), (0, 0, 0));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn many_local_links_to_one_remote_process_cross_as_one() {
    let (a, b) = pair("net_a14", "net_b14").await;
    // A trapping target on b, linked to by 100 processes of a.
    let target = b.spawn(Watcher::default()).await.unwrap();
    let mut linked = Vec::new();
    for _ in 0..100 {
        let w = a.spawn(Watcher::default()).await.unwrap();
        assert!(w.link_to(target.pid()).await.unwrap());
        linked.push(w);
    }
    // Node b holds one link, to node a, for a's 100.
    let (on_a, on_b, a_name) = (ergo::dev::Dist::new(&a), ergo::dev::Dist::new(&b), a.name());
    ergo_tests::eventually("the link is on b", || on_b.booked(a_name).0 == 1).await;
    assert_eq!(on_a.booked(b.name()).0, 100);
    // One of a's ends: the target gets its exit, as from a link, and stays linked
    // for the others.
    let gone = linked.remove(0);
    a.kill(gone.pid());
    let (_, exits) = report(&target, 1).await;
    assert_eq!(exits, vec![Reason::Kill]);
    assert_eq!(on_a.booked(b.name()).0, 99);
    // One unlinks: only the others remain (no frame for b while some are left).
    let leaving = linked.remove(0);
    leaving.unlink_from(target.pid()).await.unwrap();
    assert_eq!(on_a.booked(b.name()).0, 98);
    // The target ends: one exit crosses, and each linked process gets its own, once.
    b.send_exit(target.pid(), Reason::Kill);
    for w in &linked {
        let (_, exits) = report(w, 1).await;
        assert_eq!(exits, vec![Reason::Kill]);
    }
    assert_eq!(on_a.booked(b.name()).0, 0);
    assert_eq!(on_b.booked(a_name).0, 0);
    // The one that unlinked heard nothing.
    assert_eq!(leaving.report().await.unwrap(), (vec![], vec![]));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn the_shared_remote_monitor_goes_with_the_last_local_one() {
    let (a, b) = pair("net_a13", "net_b13").await;
    let target = b.spawn(Counter::default()).await.unwrap();
    let first = a.monitor(target.pid()).unwrap();
    let second = a.monitor(target.pid()).unwrap();
    let (on_a, on_b, a_name) = (ergo::dev::Dist::new(&a), ergo::dev::Dist::new(&b), a.name());
    ergo_tests::eventually("the monitor is on b", || on_b.booked(a_name).2 == 1).await;
    drop(first);
    assert_eq!(on_a.booked(b.name()).1, 1);
    // b still watches for the remaining one: a call through the same pair has come
    // back, and the monitor is still there.
    let remote: ActorRef<Counter> = a.actor_ref(target.pid()).unwrap();
    remote.add(0).await.unwrap();
    assert_eq!(on_b.booked(a_name).2, 1);
    drop(second);
    ergo_tests::eventually("the monitor left b", || on_b.booked(a_name).2 == 0).await;
    assert_eq!(on_a.booked(b.name()), (0, 0, 0));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// Local handlers declared before remote ones.
#[derive(Default)]
pub struct Mixed {
    n: u64,
}

#[actor]
impl Mixed {
    #[handle_call(local)]
    fn local_first(&mut self, _not_remote: std::sync::Arc<std::sync::Mutex<u8>>) {}

    #[handle_cast(local)]
    fn local_cast(&mut self, _not_remote: std::sync::mpsc::Sender<u8>) {}

    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.n += n;
        self.n
    }

    #[handle_cast]
    fn reset(&mut self) {
        self.n = 0;
    }
}

#[tokio::test]
async fn remote_calls_reach_an_actor_that_also_has_local_handlers() {
    let (a, b) = pair("net_a14", "net_b14").await;
    let mixed = b.spawn(Mixed::default()).await.unwrap();
    let remote: ActorRef<Mixed> = a.actor_ref(mixed.pid()).unwrap();
    assert_eq!(guard("call", remote.add(2)).await.unwrap(), 2);
    remote.reset().unwrap();
    assert_eq!(guard("call", remote.add(3)).await.unwrap(), 3);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// Streams notes to a remote counter from inside a process, 64 per turn; a note refused
/// because the connection's buffer is full (`Busy`) is sent again after a pause.
pub struct Pusher {
    to: ActorRef<Counter>,
    next: u64,
    end: u64,
}

/// The note number `i`: its length encodes `i`, big enough to fill the socket.
fn filler(i: u64) -> String {
    "x".repeat(((i * 7919) % 4096 + 1) as usize)
}

#[actor]
impl Pusher {
    #[handle_cast]
    async fn push(&mut self, ctx: &mut Context<Self>) {
        let stop = (self.next + 64).min(self.end);
        while self.next < stop {
            if self.to.note(filler(self.next)).is_err() {
                tokio::time::sleep(Duration::from_millis(1)).await;
                break;
            }
            self.next += 1;
        }
        if self.next < self.end {
            let _ = ctx.myself().push();
        }
    }
}

#[tokio::test]
async fn a_stream_from_a_process_that_fills_the_socket_arrives_whole_and_in_order() {
    let (a, b) = pair("net_a20", "net_b20").await;
    b.spawn_register("counter", Counter::default())
        .await
        .unwrap();
    let remote: ActorRef<Counter> =
        guard("lookup", a.lookup_remote("counter", "net_b20@127.0.0.1"))
            .await
            .unwrap();
    const N: u64 = 3_000; // about 6 MB: more than loopback takes without the reader
    let pusher = a
        .spawn(Pusher {
            to: remote.clone(),
            next: 0,
            end: N,
        })
        .await
        .unwrap();
    pusher.push().unwrap();
    let mut seen = Vec::new();
    for _ in 0..4_000 {
        seen.extend(guard("call", remote.seen()).await.unwrap());
        if seen.len() as u64 >= N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let expected: Vec<u64> = (0..N).map(|i| filler(i).len() as u64).collect();
    assert_eq!(seen.len(), expected.len(), "notes lost");
    assert!(seen == expected, "notes out of order");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
