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
        Self::spawn(name, registrar_port, None, false)
    }

    /// As `start`, with at most `nofile` open files (through `prlimit`, which execs the
    /// program), and its stderr (the node's log) captured for [`OsNode::stop_log`].
    fn spawn(name: &str, registrar_port: u16, nofile: Option<u32>, log: bool) -> OsNode {
        let exe = env!("CARGO_BIN_EXE_net-node");
        let mut command = match nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        command
            .args([name, &registrar_port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if log {
            command.stderr(Stdio::piped());
        }
        let mut child = command.spawn().expect("start net-node");
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

impl OsNode {
    /// Stops the node (closes its stdin) and returns what it logged.
    fn stop_log(mut self) -> String {
        use std::io::Read;
        drop(self.child.stdin.take());
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
        let _ = self.child.wait();
        log
    }

    /// Lowers the process's open-file limit to what it has open now plus `spare`
    /// (`prlimit --pid`), so that a flood runs it out of descriptors whatever its base
    /// count is.
    fn limit_open_files(&self, spare: usize) {
        let open = std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("the node's fd table")
            .count();
        let limit = open + spare;
        let status = Command::new("prlimit")
            .arg(format!("--pid={}", self.child.id()))
            .arg(format!("--nofile={limit}:{limit}"))
            .status()
            .expect("prlimit");
        assert!(status.success(), "prlimit --pid failed");
    }

    /// CPU time the process used so far, in clock ticks (Linux `/proc/<pid>/stat`).
    fn cpu_ticks(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which ends with ')'): utime and stime are the
        // 12th and 13th of them.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<u64> = rest
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_and_restarted_on_a_new_port_is_reached_each_time() {
    let port = free_port();
    let registrar = Some(SocketAddr::from(([127, 0, 0, 1], port)));
    // `a` serves the registrar; `b` registers with it, on a random port each time.
    let a = local("mp_ka@127.0.0.1", NetOptions::new().registrar(registrar)).await;
    let mut ports = Vec::new();
    for round in 0..6 {
        let b = OsNode::start("mp_kb@127.0.0.1", port);
        ports.push(b.addr.port());
        let started = std::time::Instant::now();
        let mut attempts = 0u32;
        let total = guard("reach the restarted node", async {
            loop {
                attempts += 1;
                if let Ok(c) = a
                    .lookup_remote::<NetCounter>("counter", "mp_kb@127.0.0.1")
                    .await
                {
                    if let Ok(n) = c.add(1).await {
                        return n;
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert_eq!(total, 1, "round {round}: a fresh incarnation answered");
        println!(
            "FIGURE restart round {round}: port {}, reached after {attempts} attempt(s) in {:?}",
            b.addr.port(),
            started.elapsed()
        );
        drop(b); // kill -9
    }
    ports.sort_unstable();
    ports.dedup();
    assert!(
        ports.len() > 1,
        "the node came back on other ports: {ports:?}"
    );
    a.stop().await.unwrap();
}

/// Opens a connection, plays the dialer's handshake with a wrong cookie, and hangs up
/// without waiting for the verdict.
async fn wrong_cookie_attempt(addr: SocketAddr, n: u32) -> std::io::Result<()> {
    use ergo_net::handshake::{self, Challenge, Closing, Hello};
    use tokio::io::AsyncReadExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let hello = Hello {
        version: handshake::VERSION,
        name: format!("intruder{n}@127.0.0.1"),
        creation: n,
        capabilities: 0,
        listen_port: 0,
        max_message: handshake::DEFAULT_MAX_MESSAGE,
        advertised: None,
        challenge: [1; 32],
    };
    handshake::write_msg(&mut stream, &hello)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let len = stream.read_u16().await?;
    let mut body = vec![0; len as usize];
    stream.read_exact(&mut body).await?;
    let _: Challenge = handshake::parse(&body).map_err(|e| std::io::Error::other(e.to_string()))?;
    handshake::write_msg(&mut stream, &Closing::Proof([0; 32]))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_wrong_cookie_attempts_log_a_bounded_number_of_lines() {
    let b = OsNode::spawn("mp_wb@127.0.0.1", 0, None, true);
    let addr = b.addr;
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8u32 {
        tasks.spawn(async move {
            let mut failed = 0;
            for i in 0..1_250 {
                if wrong_cookie_attempt(addr, worker * 10_000 + i)
                    .await
                    .is_err()
                {
                    failed += 1;
                }
            }
            failed
        });
    }
    let mut io_errors = 0;
    while let Some(failed) = guard("the attempts", tasks.join_next()).await {
        io_errors += failed.unwrap();
    }
    let elapsed = started.elapsed();
    // A node with the cookie still gets in.
    let friend = local(
        "mp_wf@127.0.0.1",
        NetOptions::new()
            .registrar(None)
            .route("mp_wb@127.0.0.1", addr),
    )
    .await;
    let counter: ActorRef<NetCounter> =
        guard("lookup", friend.lookup_remote("counter", "mp_wb@127.0.0.1"))
            .await
            .unwrap();
    assert_eq!(counter.add(1).await.unwrap(), 1);
    friend.stop().await.unwrap();
    let log = b.stop_log();
    let lines: Vec<&str> = log.lines().collect();
    let wrong = lines.iter().filter(|l| l.contains("wrong cookie")).count();
    let suppressed: u64 = lines
        .iter()
        .filter(|l| l.contains("similar warnings suppressed"))
        .filter_map(|l| l.split("suppressed=").nth(1))
        .filter_map(|n| n.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    // Each kind of warning: at most 10 lines per 10 s interval, plus one summary.
    let intervals = elapsed.as_secs() / 10 + 2;
    let bound = 4 * 11 * intervals as usize;
    println!(
        "FIGURE 10,000 wrong-cookie attempts in {elapsed:?} ({io_errors} cut short by the node): \
         {} log lines in all, {wrong} about the cookie, {suppressed} warnings suppressed",
        lines.len()
    );
    assert!(
        wrong <= 11 * intervals as usize,
        "{wrong} wrong-cookie lines"
    );
    assert!(lines.len() <= bound, "{} lines:\n{log}", lines.len());
    assert!(suppressed > 0, "the attempts were counted: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_strangers_under_a_low_fd_limit_locks_no_node_out() {
    let port = free_port();
    let registrar_addr = SocketAddr::from(([127, 0, 0, 1], port));
    // The flooded node serves the registrar, with at most 32 open files.
    let b = OsNode::spawn("mp_fb@127.0.0.1", port, Some(32), true);
    // Four descriptors to spare: the flood is sure to run the node out of them.
    b.limit_open_files(4);
    let mut idle = Vec::new();
    let opened = guard("the flood", async {
        let mut errors = 0;
        for i in 0..7_000 {
            let to = if i < 5_000 { registrar_addr } else { b.addr };
            match tokio::net::TcpStream::connect(to).await {
                Ok(s) => idle.push(s),
                Err(_) => errors += 1,
            }
        }
        errors
    })
    .await;
    // The node does not spin: over a second of flood, it uses well under a core.
    let before = b.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let spent = b.cpu_ticks() - before;
    // A legitimate node resolves it through its registrar, registers there too, and
    // calls it, with all those connections still open.
    let friend = local(
        "mp_ff@127.0.0.1",
        NetOptions::new().registrar(Some(registrar_addr)),
    )
    .await;
    let counter: ActorRef<NetCounter> = guard("lookup under the flood", async {
        loop {
            if let Ok(c) = friend.lookup_remote("counter", "mp_fb@127.0.0.1").await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let added = counter.add(1).await;
    drop(idle);
    friend.stop().await.unwrap();
    let log = b.stop_log();
    assert_eq!(added, Ok(1), "the node logged:\n{log}");
    assert!(spent < 50, "the node spun: {spent} ticks in one second");
    let accept_lines = log.lines().filter(|l| l.contains("accept failed")).count();
    let out_of_files = log.lines().any(|l| l.contains("Too many open files"));
    println!(
        "FIGURE flood under ulimit -n 32 lowered to 4 spare descriptors: 7000 connections opened ({opened} refused), \
         node CPU over 1 s of flood: {spent} ticks of 100; {accept_lines} accept-failure lines; \
         a legitimate node resolved, registered and called"
    );
    assert!(
        out_of_files && accept_lines >= 1,
        "the node never ran out of descriptors:\n{log}"
    );
    assert!(accept_lines <= 22, "{accept_lines} accept lines:\n{log}");
}
