//! The native network under faults and attack, several nodes in one OS process on
//! 127.0.0.1: what a stranger learns from a handshake, pids of a former incarnation, a
//! fault-injecting TCP proxy between two nodes (a corrupted length, a connection cut
//! or silent in the middle of a frame, a stall), and a stalled peer's cost to its
//! sender. Keepalives are short here so that losses are detected in a fraction of a
//! second; times are printed, and bounded only by the hang guard.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ergo::net::{NetOptions, NetworkExt};
use ergo::prelude::*;
use ergo::{Atom, NetError, RemoteError};
use ergo_net::handshake::{self, Challenge, Closing, Hello};
use ergo_tests::{guard, Cmd, NetCounter, NetCounterMessage, Probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const COOKIE: &str = "faults";

async fn node_with(name: &str, options: NetOptions) -> Node {
    Node::builder(&format!("{name}@127.0.0.1"))
        .cookie(COOKIE)
        .log_level(tracing::Level::WARN)
        .network(options)
        .start()
        .await
        .unwrap()
}

/// Options for a fast-detecting node: keepalive 100 ms, a peer silent for 300 ms lost.
fn fast() -> NetOptions {
    NetOptions::new()
        .registrar(None)
        .keepalive(Duration::from_millis(100))
}

/// Collects the `Down`s and exits it gets.
#[derive(Default)]
pub struct Watcher {
    seen: Vec<(&'static str, Reason)>,
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
    fn link_to(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.link(pid).is_ok()
    }

    #[handle_call]
    fn report(&mut self) -> Vec<(String, Reason)> {
        self.seen
            .iter()
            .map(|(k, r)| (k.to_string(), r.clone()))
            .collect()
    }

    #[handle_info]
    fn down(&mut self, down: Down) {
        self.seen.push(("down", down.reason));
    }

    #[handle_info]
    fn exit(&mut self, exit: Exit) {
        self.seen.push(("exit", exit.reason));
    }
}

/// Waits until the watcher has seen `n` notifications.
async fn report(w: &ActorRef<Watcher>, n: usize) -> Vec<(String, Reason)> {
    guard("notifications", async {
        loop {
            let r = w.report().await.unwrap();
            if r.len() >= n {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
}

#[tokio::test]
async fn a_stranger_learns_nothing_derived_from_the_cookie() {
    let b = node_with("flt_b1", NetOptions::new().registrar(None)).await;
    let addr = b.listen_addr().unwrap();
    let me = "stranger@127.0.0.1";
    let ours = [9u8; 32];
    let mut stream = TcpStream::connect(addr).await.unwrap();
    handshake::write_msg(
        &mut stream,
        &Hello {
            version: handshake::VERSION,
            name: me.into(),
            creation: 1,
            capabilities: 0,
            listen_port: 0,
            max_message: handshake::DEFAULT_MAX_MESSAGE,
            advertised: None,
            challenge: ours,
        },
    )
    .await
    .unwrap();
    // Everything the node sends, raw, until it closes.
    let mut transcript = Vec::new();
    let len = stream.read_u16().await.unwrap();
    let mut body = vec![0; len as usize];
    stream.read_exact(&mut body).await.unwrap();
    transcript.extend_from_slice(&len.to_be_bytes());
    transcript.extend_from_slice(&body);
    let theirs: Challenge = handshake::parse(&body).unwrap();
    // A guess at the proof (the stranger does not know the cookie).
    handshake::write_msg(&mut stream, &Closing::Proof([7; 32]))
        .await
        .unwrap();
    let mut rest = Vec::new();
    guard("the node closes", stream.read_to_end(&mut rest))
        .await
        .unwrap();
    let verdict: Closing = handshake::parse(&rest[2..]).unwrap();
    assert_eq!(verdict, Closing::Refused);
    transcript.extend_from_slice(&rest);
    // No HMAC under the cookie, of either role, over the challenges in either order.
    let names = (me, "flt_b1@127.0.0.1");
    for role in [&b"server"[..], b"client"] {
        for (x, y) in [(&ours, &theirs.challenge), (&theirs.challenge, &ours)] {
            let proof = handshake::proof(COOKIE, role, x, y, names, &[0; 32]);
            assert!(
                !transcript.windows(32).any(|w| w == proof),
                "the transcript holds a proof derived from the cookie"
            );
        }
    }
    println!(
        "FIGURE handshake transcript to a stranger: {} bytes, 0 cookie-derived",
        transcript.len()
    );
    // The same exchange with the right cookie does end with the node's proof.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let peer = handshake::client(&mut stream, me, 1, COOKIE, 0)
        .await
        .unwrap();
    assert_eq!(peer.name, "flt_b1@127.0.0.1");
    let stats = b.network_stats().unwrap();
    assert_eq!(stats.handshakes_refused, 1);
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_pid_of_a_former_incarnation_gets_no_process() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let at = SocketAddr::from(([127, 0, 0, 1], port));
    let b_options = || NetOptions::new().registrar(None).listen(at);
    let first = node_with("flt_b2", b_options()).await;
    let old = first.spawn(NetCounter::default()).await.unwrap();
    let a = node_with(
        "flt_a2",
        NetOptions::new()
            .registrar(None)
            .route("flt_b2@127.0.0.1", at),
    )
    .await;
    let stale: ActorRef<NetCounter> = a.actor_ref(old.pid()).unwrap();
    assert_eq!(stale.add(1).await.unwrap(), 1);
    let started = Instant::now();
    first.stop().await.unwrap();
    // The same node again, at once (within the same second, usually), same address
    // (retried while the stopped node's listener is still being dropped).
    let second = guard("restart", async {
        loop {
            let started = Node::builder("flt_b2@127.0.0.1")
                .cookie(COOKIE)
                .network(b_options())
                .start()
                .await;
            match started {
                Ok(node) => return node,
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    })
    .await;
    let restart = started.elapsed();
    let new = second.spawn(NetCounter::default()).await.unwrap();
    assert_eq!(new.pid().id(), old.pid().id(), "the same pid number again");
    assert_ne!(first.creation(), second.creation());
    assert_ne!(new.pid(), old.pid());
    // The old pid reaches nobody: the first call may find the old connection lost.
    let answer = guard("a call to the stale pid", async {
        loop {
            match stale.add(5).await {
                Err(CallError::NoConnection) => tokio::time::sleep(Duration::from_millis(5)).await,
                other => return other,
            }
        }
    })
    .await;
    assert_eq!(answer, Err(CallError::NoProcess));
    assert_eq!(
        stale.send_important(NetCounterMessage::Record(1)).await,
        Err(NetError::Remote(RemoteError::NoProcess))
    );
    // A monitor and a link on the stale pid fire NoProcess; the new process is untouched.
    let watcher = a.spawn(Watcher::default()).await.unwrap();
    assert!(watcher.watch(old.pid()).await.unwrap());
    assert!(watcher.link_to(old.pid()).await.unwrap());
    let seen = report(&watcher, 2).await;
    assert!(
        seen.iter().all(|(_, r)| *r == Reason::NoProcess),
        "{seen:?}"
    );
    assert_eq!(new.add(0).await.unwrap(), 0);
    assert_eq!(new.seen().await.unwrap(), Vec::<u64>::new());
    println!("FIGURE restart of a node at the same address took {restart:?}; stale pid: NoProcess");
    a.stop().await.unwrap();
    second.stop().await.unwrap();
}

/// What the proxy does to the next frame from the dialing node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Forward faithfully.
    None,
    /// Set the top byte of the frame's length (a 2 GiB frame).
    CorruptLength,
    /// Forward half the frame, then close both sides.
    CutMidFrame,
    /// Forward half the frame, then nothing more (sockets stay open).
    SilentMidFrame,
    /// Stop reading from the dialer at all (sockets stay open).
    Stall,
}

/// A TCP proxy in front of a node that understands the native framing enough to hurt
/// it: it forwards the handshake, then frame by frame, and applies the armed fault to
/// the next frame of whichever connection carries one (each fault fires once).
struct Proxy {
    addr: SocketAddr,
    fault: watch::Sender<Fault>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (fault, _) = watch::channel(Fault::None);
        let armed = fault.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, armed.clone()));
            }
        });
        Proxy { addr, fault }
    }

    fn arm(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }
}

async fn relay(client: TcpStream, server: TcpStream, fault: watch::Sender<Fault>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    // Server to client: copied as bytes; when the server closes, so does the client side.
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
    });
    let forward = async {
        // The dialer's two handshake messages (u16 length, body).
        for _ in 0..2 {
            let len = from_client.read_u16().await.ok()?;
            let mut body = vec![0; len as usize];
            from_client.read_exact(&mut body).await.ok()?;
            to_server.write_all(&len.to_be_bytes()).await.ok()?;
            to_server.write_all(&body).await.ok()?;
        }
        loop {
            let mut len = [0u8; 4];
            from_client.read_exact(&mut len).await.ok()?;
            let mut body = vec![0; u32::from_be_bytes(len) as usize];
            from_client.read_exact(&mut body).await.ok()?;
            let armed = fault.send_replace(Fault::None);
            match armed {
                Fault::None => {
                    to_server.write_all(&len).await.ok()?;
                    to_server.write_all(&body).await.ok()?;
                }
                Fault::CorruptLength => {
                    len[0] = 0x7F;
                    to_server.write_all(&len).await.ok()?;
                    to_server.write_all(&body).await.ok()?;
                }
                Fault::CutMidFrame => {
                    to_server.write_all(&len).await.ok()?;
                    to_server.write_all(&body[..body.len() / 2]).await.ok()?;
                    return Some(Fault::CutMidFrame);
                }
                Fault::SilentMidFrame => {
                    to_server.write_all(&len).await.ok()?;
                    to_server.write_all(&body[..body.len() / 2]).await.ok()?;
                    return Some(Fault::SilentMidFrame);
                }
                Fault::Stall => return Some(Fault::Stall),
            }
        }
    };
    match forward.await {
        Some(Fault::SilentMidFrame | Fault::Stall) => {
            // Hold everything open and silent until the server side gives up.
            let _ = back.await;
            drop((from_client, to_server));
        }
        _ => back.abort(),
    }
}

/// Two nodes, the dialer `a` reaching `b` through the proxy on one connection.
struct Faulty {
    a: Node,
    b: Node,
    proxy: Proxy,
    counter: ActorRef<NetCounter>,
    remote: ActorRef<NetCounter>,
}

async fn faulty(n: u32) -> Faulty {
    let b = node_with(&format!("flt_b{n}"), fast()).await;
    let proxy = Proxy::start(b.listen_addr().unwrap()).await;
    let a = node_with(
        &format!("flt_a{n}"),
        fast()
            .pool_size(1)
            .route(&format!("flt_b{n}@127.0.0.1"), proxy.addr),
    )
    .await;
    let counter = b.spawn(NetCounter::default()).await.unwrap();
    let remote: ActorRef<NetCounter> = a.actor_ref(counter.pid()).unwrap();
    Faulty {
        a,
        b,
        proxy,
        counter,
        remote,
    }
}

/// One fault through the proxy: the loss is detected, links and monitors fire once, a
/// call in flight fails with a clear error, the connection recovers, and every
/// important send that returned Ok was delivered exactly once, in order.
async fn survive(n: u32, fault: Fault) {
    let f = faulty(n).await;
    // A second process of b, for the link (the counter must survive the loss).
    let linked = f.b.spawn(NetCounter::default()).await.unwrap();
    let watcher = f.a.spawn(Watcher::default()).await.unwrap();
    assert!(watcher.watch(f.counter.pid()).await.unwrap());
    assert!(watcher.link_to(linked.pid()).await.unwrap());
    let mut sent = 0u64;
    let mut accepted = Vec::new();
    for k in 0..100 {
        sent += 1;
        guard(
            "important send",
            f.remote.send_important(NetCounterMessage::Record(k)),
        )
        .await
        .unwrap();
        accepted.push(k);
    }
    // The monitor and link frames are through before the fault (same connection).
    assert_eq!(f.remote.add(0).await.unwrap(), 0);
    let armed = Instant::now();
    f.proxy.arm(fault);
    // The call's frame is the next one through the proxy: written on its first poll.
    let mut call = std::pin::pin!(f.remote.add(1).into_future());
    use std::future::Future;
    let pending =
        std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx).is_pending()))
            .await;
    assert!(pending, "{fault:?}: the call is on its way");
    // Meanwhile a sender keeps making important sends: during the fault, across the
    // loss, and after the reconnection.
    let sender = {
        let remote = f.remote.clone();
        tokio::spawn(async move {
            let (mut accepted, mut refused) = (Vec::new(), 0u64);
            for k in 100..300 {
                match remote.send_important(NetCounterMessage::Record(k)).await {
                    Ok(()) => accepted.push(k),
                    Err(NetError::NoConnection(_) | NetError::Timeout(_)) => refused += 1,
                    Err(e) => panic!("{e:?}"),
                }
            }
            (accepted, refused)
        })
    };
    let call = guard("a call across the fault", call).await;
    assert_eq!(call, Err(CallError::NoConnection), "{fault:?}");
    let failed_after = armed.elapsed();
    let seen = report(&watcher, 2).await;
    let detected = armed.elapsed();
    let mut kinds: Vec<_> = seen.iter().map(|(k, r)| (k.as_str(), r.clone())).collect();
    kinds.sort_by_key(|(k, _)| *k);
    assert_eq!(
        kinds,
        vec![
            ("down", Reason::NoConnection),
            ("exit", Reason::NoConnection)
        ],
        "{fault:?}"
    );
    // Recovery: the sender's later sends reconnect (through the proxy, now faithful).
    let (more, refused) = guard("the sender", sender).await.unwrap();
    sent += 200;
    accepted.extend(more);
    assert!(
        accepted.len() > 100,
        "{fault:?}: the connection never recovered"
    );
    assert_eq!(f.remote.add(1).await.unwrap(), 1, "calls work again");
    let delivered = f.counter.seen().await.unwrap();
    // Exactly once, in order: strictly increasing, and every accepted one is there.
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]),
        "{fault:?}: {delivered:?}"
    );
    let missing: Vec<_> = accepted
        .iter()
        .filter(|k| delivered.binary_search(k).is_err())
        .collect();
    assert!(
        missing.is_empty(),
        "{fault:?}: accepted but lost: {missing:?}"
    );
    // Nothing fired twice.
    assert_eq!(watcher.report().await.unwrap().len(), 2);
    println!(
        "FIGURE fault {fault:?}: sent {sent}, accepted {}, refused {refused}, delivered {}, lost 0; \
         call failed after {failed_after:?}, links/monitors fired after {detected:?} (keepalive 100 ms, peer timeout 300 ms)",
        accepted.len(),
        delivered.len()
    );
    f.a.stop().await.unwrap();
    f.b.stop().await.unwrap();
}

#[tokio::test]
async fn a_corrupted_length_closes_the_connection_and_it_recovers() {
    survive(11, Fault::CorruptLength).await;
}

#[tokio::test]
async fn a_connection_cut_mid_frame_is_lost_once_and_recovers() {
    survive(12, Fault::CutMidFrame).await;
}

#[tokio::test]
async fn a_peer_silent_mid_frame_is_caught_by_the_keepalive_rule() {
    survive(13, Fault::SilentMidFrame).await;
}

#[tokio::test]
async fn a_stalled_connection_is_lost_once_and_recovers() {
    survive(14, Fault::Stall).await;
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<usize>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_peer_bounds_the_senders_memory_and_the_sender_is_told() {
    const BUFFER: usize = 1 << 20;
    let b = node_with("flt_b20", NetOptions::new().registrar(None)).await;
    let proxy = Proxy::start(b.listen_addr().unwrap()).await;
    // Keepalive long enough that the stall is not declared lost while we push.
    let a = node_with(
        "flt_a20",
        NetOptions::new()
            .registrar(None)
            .pool_size(1)
            .write_buffer(BUFFER)
            .keepalive(Duration::from_secs(20))
            .route("flt_b20@127.0.0.1", proxy.addr),
    )
    .await;
    let counter = b.spawn(NetCounter::default()).await.unwrap();
    let remote: ActorRef<NetCounter> = a.actor_ref(counter.pid()).unwrap();
    assert_eq!(remote.add(0).await.unwrap(), 0);
    proxy.arm(Fault::Stall);
    let before = rss();
    let mut peak_rss = before;
    let mut peak_buffered = 0;
    let (mut sent, mut accepted, mut busy) = (0u64, 0u64, 0u64);
    // At full speed until the sender has been told "busy" 50,000 times (bounded loop).
    for _ in 0..5_000_000u64 {
        sent += 1;
        match remote.send(NetCounterMessage::Record(sent)) {
            Ok(()) => accepted += 1,
            // The refused message comes back to the sender, untouched.
            Err(SendError::Busy(NetCounterMessage::Record(back))) => {
                assert_eq!(back, sent);
                busy += 1;
                if busy >= 50_000 {
                    break;
                }
            }
            Err(e) => panic!("only busy is expected while the peer stalls: {e}"),
        }
        if sent % 1024 == 0 {
            peak_rss = peak_rss.max(rss());
            let stats = a.network_stats().unwrap();
            peak_buffered = peak_buffered.max(stats.buffered);
            tokio::task::yield_now().await;
        }
    }
    assert!(busy >= 50_000, "the sender was never told the peer is busy");
    // The buffer never holds more than its bound (messages stop at the limit; the last
    // one accepted may cross it by its own size).
    assert!(peak_buffered <= BUFFER + 1024, "buffered {peak_buffered}");
    let growth = peak_rss.saturating_sub(before);
    // Bound: the write buffer, the batch the writer holds, and the socket buffers of
    // the sender and the proxy — a few MiB; 64 MiB is the guard.
    assert!(growth < 64 << 20, "memory grew by {growth} bytes");
    // An important send is told too.
    let important = remote.send_important(NetCounterMessage::Record(1)).await;
    assert_eq!(
        important,
        Err(NetError::Busy(Atom::new("flt_b20@127.0.0.1")))
    );
    // And so is a caller.
    assert_eq!(remote.add(1).await, Err(CallError::Busy));
    println!(
        "FIGURE stalled peer: sent {sent}, accepted {accepted}, refused busy {busy}; \
         peak buffered {peak_buffered} B (limit {} B, plus the last frame), process RSS growth {} KiB (peak {} KiB)",
        BUFFER,
        growth / 1024,
        peak_rss / 1024
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn plain_sends_to_a_missing_process_are_counted() {
    let b = node_with("flt_b21", NetOptions::new().registrar(None)).await;
    let a = node_with(
        "flt_a21",
        NetOptions::new()
            .registrar(None)
            .pool_size(1)
            .route("flt_b21@127.0.0.1", b.listen_addr().unwrap()),
    )
    .await;
    // Plain sends to a process that is not there: refused on arrival, counted.
    let gone = b.spawn(NetCounter::default()).await.unwrap();
    let pid = gone.pid();
    gone.fail().unwrap();
    b.monitor(pid).unwrap().down().await;
    let remote: ActorRef<NetCounter> = a.actor_ref(pid).unwrap();
    for k in 0..1000 {
        remote.send(NetCounterMessage::Record(k)).unwrap();
    }
    // Order per pair: once a call behind them is answered, all were handled.
    assert_eq!(remote.add(0).await, Err(CallError::NoProcess));
    let stats = b.network_stats().unwrap();
    assert_eq!(stats.refused_plain, 1000);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn half_open_connections_do_not_lock_a_node_out() {
    let b = node_with(
        "flt_b22",
        NetOptions::new().registrar(None).max_handshakes(16),
    )
    .await;
    let addr = b.listen_addr().unwrap();
    b.spawn_register("counter", NetCounter::default())
        .await
        .unwrap();
    // 200 connections that never say a word.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let a = node_with(
        "flt_a22",
        NetOptions::new()
            .registrar(None)
            .route("flt_b22@127.0.0.1", addr),
    )
    .await;
    let counter: ActorRef<NetCounter> =
        guard("lookup", a.lookup_remote("counter", "flt_b22@127.0.0.1"))
            .await
            .unwrap();
    assert_eq!(counter.add(2).await.unwrap(), 2);
    let stats = b.network_stats().unwrap();
    assert!(stats.unauthenticated <= 16, "{stats:?}");
    assert!(stats.handshakes_refused >= 184, "{stats:?}");
    drop(idle);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn names_from_the_wire_are_not_interned() {
    use ergo_net::frame::{self, Header, WireName, WireTarget};
    let b = node_with("flt_b23", NetOptions::new().registrar(None)).await;
    b.spawn_register("counter", NetCounter::default())
        .await
        .unwrap();
    let mut stream = TcpStream::connect(b.listen_addr().unwrap()).await.unwrap();
    handshake::client(&mut stream, "raw23@127.0.0.1", 1, COOKIE, 0)
        .await
        .unwrap();
    let mut bytes = Vec::new();
    for i in 0..10_000u64 {
        // (Plain sends: they need no answer, and this raw peer cannot be dialed back.)
        let header = Header::Send {
            from: 1,
            to: WireTarget::Name(WireName(format!("made-up-name-{i}"))),
            priority: 2,
            ack: 0,
        };
        frame::encode(&mut bytes, &header, 0, |_| Ok(())).unwrap();
    }
    // Then a real one, so we know when the node has read them all.
    frame::encode(
        &mut bytes,
        &Header::Send {
            from: 1,
            to: WireTarget::Name(WireName("counter".into())),
            priority: 2,
            ack: 0,
        },
        0,
        |b| (NetCounter::wire().unwrap().encode_message)(&NetCounterMessage::Record(7), b),
    )
    .unwrap();
    stream.write_all(&bytes).await.unwrap();
    let counter = b.lookup::<NetCounter>("counter").unwrap();
    guard("the last frame", async {
        while counter.seen().await.unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    // The node refused them all, and interned none of the names.
    assert_eq!(b.network_stats().unwrap().refused_plain, 10_000);
    for i in [0, 4_999, 9_999] {
        assert_eq!(Atom::existing(&format!("made-up-name-{i}")), None);
    }
    b.stop().await.unwrap();
}

#[tokio::test]
async fn only_nodes_with_the_cookie_register_with_the_registrar() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let registrar = SocketAddr::from(([127, 0, 0, 1], port));
    // Strangers' sessions get 500 ms per line (the connect timeout).
    let r = node_with(
        "flt_r24",
        NetOptions::new()
            .registrar(Some(registrar))
            .connect_timeout(Duration::from_millis(500)),
    )
    .await;
    let mut session = BufReader::new(TcpStream::connect(registrar).await.unwrap());
    let mut line = String::new();
    let mut ask = async |session: &mut BufReader<TcpStream>, text: &str| {
        session.get_mut().write_all(text.as_bytes()).await.unwrap();
        line.clear();
        session.read_line(&mut line).await.unwrap();
        line.trim().to_string()
    };
    // A squatter without the cookie: challenged, and denied.
    let challenge = ask(&mut session, "REGISTER squat@127.0.0.1 4000\n").await;
    assert!(challenge.starts_with("CHALLENGE "), "{challenge}");
    let guess = format!("PROOF {}\n", "00".repeat(32));
    assert_eq!(ask(&mut session, &guess).await, "DENIED");
    assert_eq!(ask(&mut session, "RESOLVE squat@127.0.0.1\n").await, "NONE");
    // With the cookie, the same exchange registers.
    let challenge = ask(&mut session, "REGISTER named@127.0.0.1 4001\n").await;
    let challenge = ergo_net::registrar::parse_hex(&challenge["CHALLENGE ".len()..]).unwrap();
    let proof =
        ergo_net::registrar::registration_proof(COOKIE, &challenge, "named@127.0.0.1", 4001);
    let hex: String = proof.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(ask(&mut session, &format!("PROOF {hex}\n")).await, "OK");
    assert_eq!(
        ask(&mut session, "RESOLVE named@127.0.0.1\n").await,
        "PORT 4001"
    );
    // A stranger's session that says nothing is closed after the connect timeout.
    let mut idle = TcpStream::connect(registrar).await.unwrap();
    let mut rest = Vec::new();
    guard("the idle session is closed", idle.read_to_end(&mut rest))
        .await
        .unwrap();
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_that_times_out_still_closes_the_network() {
    let b = node_with("flt_b25", fast()).await;
    let addr = b.listen_addr().unwrap();
    let counter = b.spawn(NetCounter::default()).await.unwrap();
    let a = node_with("flt_a25", fast().route("flt_b25@127.0.0.1", addr)).await;
    let remote: ActorRef<NetCounter> = a.actor_ref(counter.pid()).unwrap();
    assert_eq!(remote.add(1).await.unwrap(), 1);
    let watcher = a.spawn(Watcher::default()).await.unwrap();
    // A handler waiting for a gate nobody opens during the stop.
    let stuck = b.spawn(Probe::new("stuck")).await.unwrap();
    assert!(watcher.watch(stuck.pid()).await.unwrap());
    let (mut key, gate) = ergo_tests::gate();
    stuck.send(Cmd::Block(gate)).unwrap();
    key.entered().await;
    let stopped = b.stop_with_timeout(Duration::from_millis(200)).await;
    assert!(
        stopped.is_err(),
        "the stuck process makes the stop time out"
    );
    guard("wait() after a timed-out stop", b.wait())
        .await
        .unwrap();
    // Its peers see it gone (the stuck process is still running, but unreachable)...
    let seen = report(&watcher, 1).await;
    assert_eq!(seen, vec![("down".to_string(), Reason::NoConnection)]);
    // ...and it accepts no more connections.
    guard("the listener closes", async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    key.open();
    a.stop().await.unwrap();
}

/// A counter that can be held inside a handler (its mailbox then fills up).
pub struct Holdable {
    gate: Option<ergo_tests::Gate>,
    seen: Vec<u64>,
}

#[actor]
impl Holdable {
    #[handle_cast]
    async fn hold(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.pass().await;
        }
    }

    #[handle_cast]
    fn record(&mut self, n: u64) {
        self.seen.push(n);
    }

    #[handle_call]
    fn seen(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.seen)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_remote_mailbox_is_reported_to_important_senders_and_counted_for_plain_ones() {
    let b = node_with("flt_b26", NetOptions::new().registrar(None)).await;
    let a = node_with(
        "flt_a26",
        NetOptions::new()
            .registrar(None)
            .pool_size(1)
            .route("flt_b26@127.0.0.1", b.listen_addr().unwrap()),
    )
    .await;
    let (mut key, gate) = ergo_tests::gate();
    let holdable = Holdable {
        gate: Some(gate),
        seen: Vec::new(),
    };
    let local = b
        .spawn_with(holdable, (), ergo::SpawnOptions::new().mailbox_limit(10))
        .await
        .unwrap();
    local.hold().unwrap();
    key.entered().await;
    let remote: ActorRef<Holdable> = a.actor_ref(local.pid()).unwrap();
    for k in 0..100 {
        remote.send(HoldableMessage::Record(k)).unwrap();
    }
    // Plain sends: refused on arrival once the queue is full, and counted.
    guard("the refusals counted", async {
        while b.network_stats().unwrap().refused_plain < 90 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    // An important send is told.
    assert_eq!(
        remote.send_important(HoldableMessage::Record(100)).await,
        Err(NetError::Remote(RemoteError::MailboxFull))
    );
    key.open();
    // (A call too is refused while the queue is still full.)
    let delivered = guard("the queue drains", async {
        loop {
            match remote.seen().await {
                Err(CallError::MailboxFull) => tokio::time::sleep(Duration::from_millis(2)).await,
                other => return other.unwrap(),
            }
        }
    })
    .await;
    let refused = b.network_stats().unwrap().refused_plain;
    assert_eq!(delivered, (0..10).collect::<Vec<_>>());
    assert_eq!(refused, 90);
    println!(
        "FIGURE full remote mailbox (limit 10): 100 plain sends, {} delivered, {refused} refused and counted; important send: MailboxFull",
        delivered.len()
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
