//! Nodes in separate OS processes on 127.0.0.1: calls, remote spawn, a killed node's
//! links and monitors firing `NoConnection`, and discovery through the embedded
//! registrar, including its failover when the serving node stops.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ergo::net::NetOptions;
use ergo::prelude::*;
use ergo_tests::{guard, NetCounter};

/// A `net-node` child process; killed when dropped.
struct OsNode {
    child: Child,
    addr: SocketAddr,
}

impl OsNode {
    /// Starts the program and waits for its `READY` line (a blocking read: the tests run
    /// on a multi-thread runtime so the in-process registrar keeps serving meanwhile).
    fn start(name: &str, registrar_port: u16) -> OsNode {
        let mut child = Command::new(env!("CARGO_BIN_EXE_net-node"))
            .args([name, &registrar_port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start net-node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("READY line");
        let addr = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("bad READY line {line:?}"));
        OsNode { child, addr }
    }
}

impl Drop for OsNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Watches and links remote processes, and reports what it saw.
#[derive(Default)]
pub struct Watcher {
    seen: Vec<Reason>,
}

#[actor]
impl Watcher {
    #[init]
    fn init(&mut self, ctx: &mut Context<Self>) {
        ctx.trap_exit(true);
    }

    #[handle_call]
    fn watch_and_link(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.monitor(pid).is_ok() && ctx.link(pid).is_ok()
    }

    #[handle_call]
    fn seen(&mut self) -> Vec<Reason> {
        self.seen.clone()
    }

    #[handle_info]
    fn down(&mut self, down: Down) {
        self.seen.push(down.reason);
    }

    #[handle_info]
    fn exit(&mut self, exit: Exit) {
        self.seen.push(exit.reason);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn local(name: &str, options: NetOptions) -> Node {
    Node::builder(name)
        .cookie("multi-process")
        .network(options)
        .start()
        .await
        .expect("node starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_spawns_and_a_killed_node_fires_no_connection() {
    let mut b = OsNode::start("mp_b@127.0.0.1", 0);
    let a = local(
        "mp_a@127.0.0.1",
        NetOptions::new()
            .registrar(None)
            .route("mp_b@127.0.0.1", b.addr),
    )
    .await;
    let counter: ActorRef<NetCounter> =
        guard("lookup", a.lookup_remote("counter", "mp_b@127.0.0.1"))
            .await
            .unwrap();
    assert_eq!(counter.add(2).await.unwrap(), 2);
    assert_eq!(counter.add(3).await.unwrap(), 5);
    let spawned: ActorRef<NetCounter> = a
        .remote_spawn("mp_b@127.0.0.1", "counter", None, ())
        .await
        .unwrap();
    assert_eq!(spawned.add(7).await.unwrap(), 7);

    let watcher = a.spawn(Watcher::default()).await.unwrap();
    assert!(watcher.watch_and_link(counter.pid()).await.unwrap());
    assert!(watcher.watch_and_link(spawned.pid()).await.unwrap());
    counter.add(0).await.unwrap(); // the link and monitor frames went first
    spawned.add(0).await.unwrap();
    b.child.kill().expect("kill the node's OS process");
    let _ = b.child.wait();
    let mut seen = Vec::new();
    for _ in 0..4_000 {
        seen = watcher.seen().await.unwrap();
        if seen.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        seen,
        vec![Reason::NoConnection; 4],
        "two Downs and two exits, once each"
    );
    assert_eq!(counter.add(1).await, Err(CallError::NoConnection));
    a.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registrar_resolves_nodes_and_fails_over() {
    let port = free_port();
    let registrar = Some(SocketAddr::from(([127, 0, 0, 1], port)));
    // The first node serves the registrar.
    let r = local("mp_r@127.0.0.1", NetOptions::new().registrar(registrar)).await;
    let b = OsNode::start("mp_rb@127.0.0.1", port);
    let a = local("mp_ra@127.0.0.1", NetOptions::new().registrar(registrar)).await;
    let counter: ActorRef<NetCounter> =
        guard("lookup", a.lookup_remote("counter", "mp_rb@127.0.0.1"))
            .await
            .unwrap();
    assert_eq!(counter.add(1).await.unwrap(), 1);
    // The serving node stops; another takes the role and the others register again.
    r.stop().await.unwrap();
    let c = local("mp_rc@127.0.0.1", NetOptions::new().registrar(registrar)).await;
    let mut found = None;
    for _ in 0..400 {
        if let Ok(r) = c
            .lookup_remote::<NetCounter>("counter", "mp_rb@127.0.0.1")
            .await
        {
            found = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let counter = found.expect("resolved through the new registrar");
    assert_eq!(counter.add(1).await.unwrap(), 2);
    drop(b);
    a.stop().await.unwrap();
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn casts_keep_their_order_and_a_remote_exit_reaches_links_and_monitors() {
    let b = OsNode::start("mp_ob@127.0.0.1", 0);
    let a = local(
        "mp_oa@127.0.0.1",
        NetOptions::new()
            .registrar(None)
            .route("mp_ob@127.0.0.1", b.addr),
    )
    .await;
    let counter: ActorRef<NetCounter> =
        guard("lookup", a.lookup_remote("counter", "mp_ob@127.0.0.1"))
            .await
            .unwrap();
    for i in 0..50_000 {
        counter.record(i).unwrap();
    }
    assert_eq!(
        guard("seen", counter.seen()).await.unwrap(),
        (0..50_000).collect::<Vec<_>>()
    );
    let watcher = a.spawn(Watcher::default()).await.unwrap();
    assert!(watcher.watch_and_link(counter.pid()).await.unwrap());
    counter.add(0).await.unwrap();
    counter.fail().unwrap();
    let mut seen = Vec::new();
    for _ in 0..4_000 {
        seen = watcher.seen().await.unwrap();
        if seen.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(seen, vec![Reason::error("asked to fail"); 2]);
    a.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_cookie_is_refused() {
    let b = OsNode::start("mp_cb@127.0.0.1", 0);
    let intruder = Node::builder("mp_ca@127.0.0.1")
        .cookie("not-the-cookie")
        .network(
            NetOptions::new()
                .registrar(None)
                .route("mp_cb@127.0.0.1", b.addr),
        )
        .start()
        .await
        .unwrap();
    let found = intruder
        .lookup_remote::<NetCounter>("counter", "mp_cb@127.0.0.1")
        .await;
    assert!(
        matches!(found, Err(ergo::NetError::WrongCookie(_))),
        "{found:?}"
    );
    // The node still serves the right cookie.
    let friend = local(
        "mp_cf@127.0.0.1",
        NetOptions::new()
            .registrar(None)
            .route("mp_cb@127.0.0.1", b.addr),
    )
    .await;
    let counter: ActorRef<NetCounter> = friend
        .lookup_remote("counter", "mp_cb@127.0.0.1")
        .await
        .unwrap();
    assert_eq!(counter.add(1).await.unwrap(), 1);
    intruder.stop().await.unwrap();
    friend.stop().await.unwrap();
}
