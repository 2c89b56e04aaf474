//! Shared helpers of the integration tests: a node per test, a failure guard for
//! awaits, a gate a test opens to release a blocked handler, and small hand-written
//! actors (the runtime tests do not depend on the macros).

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};

use ergo::dev::{Answer, BoxFuture, Payload, RemoteTarget, Transport};
use ergo::{Atom, NetError, Pid, Ref};
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ergo::{
    Actor, ActorRef, CallError, Context, Down, Exit, Handles, Node, Priority, Reason, ReplyTo, Step,
};
use tokio::sync::{mpsc, oneshot};

/// How long a test waits for something that must happen before it calls it a hang.
/// Only a failure guard: no test passes or fails because of how long things take.
pub const GUARD: Duration = Duration::from_secs(60);

/// Starts a node called `name@127.0.0.1`.
pub async fn node(name: &str) -> Node {
    Node::builder(&format!("{name}@127.0.0.1"))
        .cookie("test")
        .start()
        .await
        .expect("node starts")
}

/// Awaits `fut`, failing the test (instead of hanging it) if it never completes.
pub async fn guard<F: IntoFuture>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(GUARD, fut.into_future()).await {
        Ok(out) => out,
        Err(_) => panic!("hang: {what} did not happen within {GUARD:?}"),
    }
}

/// Polls `cond` until it holds (a bounded loop under [`GUARD`]). For states the runtime
/// reaches on its own, such as a message sitting in a queue.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    guard(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
}

/// The process side of a gate: an async handler reports that it entered, then waits
/// until the test opens the gate.
pub struct Gate {
    entered: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

impl Gate {
    /// Reports entry and waits for release (or for the test side to be dropped).
    pub async fn pass(self) {
        let _ = self.entered.send(());
        let _ = self.release.await;
    }
}

/// The test side of a gate.
pub struct GateKey {
    entered: Option<oneshot::Receiver<()>>,
    release: Option<oneshot::Sender<()>>,
}

impl GateKey {
    /// Waits until the handler is inside the gate.
    pub async fn entered(&mut self) {
        if let Some(rx) = self.entered.take() {
            guard("the handler entering the gate", rx)
                .await
                .expect("the gate's handler ran");
        }
    }

    /// Lets the handler go on.
    pub fn open(&mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
    }
}

/// A closed gate: hand the [`Gate`] to a process, keep the [`GateKey`].
pub fn gate() -> (GateKey, Gate) {
    let (entered_tx, entered_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    (
        GateKey {
            entered: Some(entered_rx),
            release: Some(release_tx),
        },
        Gate {
            entered: entered_tx,
            release: release_rx,
        },
    )
}

/// Lines written by `terminate` callbacks, in the order they ran.
pub type Journal = Arc<Mutex<Vec<String>>>;

/// What a [`Probe`] reports on its event channel, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// It recorded a number.
    Seen(u64),
    /// It trapped an exit signal.
    Exit(Exit),
    /// A monitor of its fired.
    Down(Down),
    /// Its `terminate` ran.
    Terminated(Reason),
}

/// A closure run inside a probe as a message.
pub type Task = Box<dyn FnOnce(&mut Probe, &mut Context<Probe>) -> Step<Probe> + Send>;

/// A closure run inside a probe as a call; its result is the reply.
pub type Job = Box<dyn FnOnce(&mut Probe, &mut Context<Probe>) -> Box<dyn Any + Send> + Send>;

/// Messages a [`Probe`] handles.
pub enum Cmd {
    /// Record a number.
    Record(u64),
    /// Block in an async handler until the gate opens.
    Block(Gate),
    /// Stop with this reason.
    Stop(Reason),
    /// Panic with this message.
    Panic(String),
    /// Run this closure.
    Run(Task),
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cmd::Record(n) => write!(f, "Record({n})"),
            Cmd::Block(_) => f.write_str("Block(..)"),
            Cmd::Stop(r) => write!(f, "Stop({r})"),
            Cmd::Panic(m) => write!(f, "Panic({m})"),
            Cmd::Run(_) => f.write_str("Run(..)"),
        }
    }
}

/// A general-purpose test actor: records numbers, trapped exits and `Down`s, blocks on
/// a gate, stops or panics on request, runs closures sent to it, and writes its
/// terminate reason to an optional journal.
#[derive(Default)]
pub struct Probe {
    /// A label for journal lines.
    pub tag: String,
    /// Numbers recorded, in the order handled.
    pub seen: Vec<u64>,
    /// Trapped exit signals.
    pub exits: Vec<Exit>,
    /// `Down`s received.
    pub downs: Vec<Down>,
    /// Trap exits from init on.
    pub trap: bool,
    /// Where `terminate` writes `tag:reason`.
    pub journal: Option<Journal>,
    /// Where events are reported as they happen.
    pub events: Option<mpsc::UnboundedSender<Event>>,
}

impl Probe {
    /// A probe called `tag`.
    pub fn new(tag: &str) -> Probe {
        Probe {
            tag: tag.to_owned(),
            ..Probe::default()
        }
    }

    /// Traps exits from init on.
    pub fn trapping(mut self) -> Probe {
        self.trap = true;
        self
    }

    /// Writes `tag:reason` to `journal` when it terminates.
    pub fn journal(mut self, journal: &Journal) -> Probe {
        self.journal = Some(journal.clone());
        self
    }

    /// Reports events on a channel; returns the receiving end too.
    pub fn events(mut self) -> (Probe, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.events = Some(tx);
        (self, rx)
    }

    fn report(&self, event: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }
}

impl Actor for Probe {
    type Message = Cmd;
    type Call = Job;
    type Reply = Box<dyn Any + Send>;
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        if self.trap {
            ctx.trap_exit(true);
        }
        Ok(())
    }

    fn handle_message(&mut self, ctx: &mut Context<Self>, msg: Cmd) -> Step<Self> {
        match msg {
            Cmd::Record(n) => {
                self.seen.push(n);
                self.report(Event::Seen(n));
                Step::Continue
            }
            Cmd::Block(gate) => Step::run_async(|probe, ctx| async move {
                gate.pass().await;
                (probe, ctx)
            }),
            Cmd::Stop(reason) => Step::Stop(reason),
            Cmd::Panic(msg) => panic!("{msg}"),
            Cmd::Run(task) => task(self, ctx),
        }
    }

    fn handle_call(
        &mut self,
        ctx: &mut Context<Self>,
        job: Job,
        reply: ReplyTo<Self::Reply>,
    ) -> Step<Self> {
        reply.send(job(self, ctx));
        Step::Continue
    }

    fn handle_exit(&mut self, _: &mut Context<Self>, exit: Exit) -> Step<Self> {
        self.exits.push(exit.clone());
        self.report(Event::Exit(exit));
        Step::Continue
    }

    fn handle_down(&mut self, _: &mut Context<Self>, down: Down) -> Step<Self> {
        self.downs.push(down.clone());
        self.report(Event::Down(down));
        Step::Continue
    }

    fn terminate(&mut self, _: &mut Context<Self>, reason: &Reason) {
        if let Some(journal) = &self.journal {
            journal
                .lock()
                .expect("journal lock")
                .push(format!("{}:{reason}", self.tag));
        }
        self.report(Event::Terminated(reason.clone()));
    }

    fn message_from_any(msg: Box<dyn Any + Send>) -> Result<Cmd, Box<dyn Any + Send>> {
        let msg = match msg.downcast::<Cmd>() {
            Ok(cmd) => return Ok(*cmd),
            Err(msg) => msg,
        };
        msg.downcast::<u64>().map(|n| Cmd::Record(*n))
    }
}

impl Handles<Cmd> for Probe {
    fn into_message(msg: Cmd) -> Cmd {
        msg
    }
}

impl Handles<u64> for Probe {
    fn into_message(msg: u64) -> Cmd {
        Cmd::Record(msg)
    }
}

/// Wraps a closure as a probe call.
pub fn job<T: Send + 'static>(
    f: impl FnOnce(&mut Probe, &mut Context<Probe>) -> T + Send + 'static,
) -> Job {
    Box::new(move |probe, ctx| Box::new(f(probe, ctx)))
}

/// Wraps a closure as a probe message.
pub fn task(
    f: impl FnOnce(&mut Probe, &mut Context<Probe>) -> Step<Probe> + Send + 'static,
) -> Cmd {
    Cmd::Run(Box::new(f))
}

/// Unboxes a probe's reply.
pub fn unbox<T: 'static>(reply: Box<dyn Any + Send>) -> T {
    *reply.downcast::<T>().expect("reply of the expected type")
}

/// Calls a probe with a closure run inside it, at `priority`.
pub async fn ask_with<T: Send + 'static>(
    probe: &ActorRef<Probe>,
    priority: Priority,
    f: impl FnOnce(&mut Probe, &mut Context<Probe>) -> T + Send + 'static,
) -> Result<T, CallError> {
    probe.request(job(f)).priority(priority).await.map(unbox)
}

/// Calls a probe with a closure run inside it.
pub async fn ask<T: Send + 'static>(
    probe: &ActorRef<Probe>,
    f: impl FnOnce(&mut Probe, &mut Context<Probe>) -> T + Send + 'static,
) -> Result<T, CallError> {
    ask_with(probe, Priority::Normal, f).await
}

/// What a probe recorded so far.
pub async fn seen(probe: &ActorRef<Probe>) -> Vec<u64> {
    ask(probe, |p, _| p.seen.clone())
        .await
        .expect("probe answers")
}

/// The exits a probe trapped so far.
pub async fn exits(probe: &ActorRef<Probe>) -> Vec<Exit> {
    ask(probe, |p, _| p.exits.clone())
        .await
        .expect("probe answers")
}

/// The `Down`s a probe received so far.
pub async fn downs(probe: &ActorRef<Probe>) -> Vec<Down> {
    ask(probe, |p, _| p.downs.clone())
        .await
        .expect("probe answers")
}

/// Blocks a probe in an async handler; returns once it is inside. Open the key to
/// release it.
pub async fn block(probe: &ActorRef<Probe>) -> GateKey {
    let (mut key, gate) = gate();
    probe.send(Cmd::Block(gate)).expect("probe alive");
    key.entered().await;
    key
}

/// Records every message it gets; a call returns what it recorded so far.
#[derive(Default)]
pub struct Recorder {
    /// Messages recorded since the last call.
    pub seen: Vec<u64>,
}

impl Actor for Recorder {
    type Message = u64;
    type Call = ();
    type Reply = Vec<u64>;
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, msg: u64) -> Step<Self> {
        self.seen.push(msg);
        Step::Continue
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        _: (),
        reply: ReplyTo<Vec<u64>>,
    ) -> Step<Self> {
        reply.send(std::mem::take(&mut self.seen));
        Step::Continue
    }
}

impl Handles<u64> for Recorder {
    fn into_message(msg: u64) -> u64 {
        msg
    }
}

/// A counter that crosses the network (used by the multi-process tests and the
/// `net-node` program).
#[derive(Default)]
pub struct NetCounter {
    count: u64,
    seen: Vec<u64>,
}

#[ergo::actor]
impl NetCounter {
    /// Adds `n`, returns the total.
    #[handle_call]
    pub fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }

    /// Records a number.
    #[handle_cast]
    pub fn record(&mut self, n: u64) {
        self.seen.push(n);
    }

    /// The numbers recorded so far, in arrival order.
    #[handle_call]
    pub fn seen(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.seen)
    }

    /// Stops with an error.
    #[handle_cast]
    pub fn fail(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(ergo::Reason::error("asked to fail"));
    }
}

/// An in-process transport standing for one peer: it counts what the core asks of it
/// and carries nothing (for tests and benchmarks of the core's per-peer bookkeeping).
pub struct CountingTransport {
    peer: Atom,
    /// Monitors asked for.
    pub monitors: AtomicUsize,
    /// Links asked for.
    pub links: AtomicUsize,
    /// Downs carried to the peer.
    pub downs: AtomicUsize,
    /// Exit signals carried to the peer.
    pub exits: AtomicUsize,
}

impl CountingTransport {
    /// A transport reaching the node called `peer`.
    pub fn new(peer: &str) -> Self {
        CountingTransport {
            peer: Atom::new(peer),
            monitors: AtomicUsize::new(0),
            links: AtomicUsize::new(0),
            downs: AtomicUsize::new(0),
            exits: AtomicUsize::new(0),
        }
    }
}

impl Transport for CountingTransport {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn reaches(&self, node: Atom) -> bool {
        node == self.peer
    }
    fn send(
        &self,
        _: Option<Pid>,
        to: RemoteTarget,
        _: Priority,
        _: Payload<'_>,
        _: Option<Answer>,
    ) -> Result<(), NetError> {
        Err(NetError::NoConnection(to.node()))
    }
    fn call(
        &self,
        _: Option<Pid>,
        to: Pid,
        _: Priority,
        _: Payload<'_>,
        _: Answer,
    ) -> Result<(), NetError> {
        Err(NetError::NoConnection(to.node()))
    }
    fn exit(&self, _: Pid, _: Pid, _: Reason, _: bool) {
        self.exits.fetch_add(1, Ordering::Relaxed);
    }
    fn link(&self, _: Pid, _: Pid) {
        self.links.fetch_add(1, Ordering::Relaxed);
    }
    fn unlink(&self, _: Pid, _: Pid) {}
    fn monitor(&self, _: Pid, _: RemoteTarget, _: Ref) {
        self.monitors.fetch_add(1, Ordering::Relaxed);
    }
    fn demonitor(&self, _: Pid, _: RemoteTarget, _: Ref) {}
    fn down(&self, _: Pid, _: Down) {
        self.downs.fetch_add(1, Ordering::Relaxed);
    }
    fn lookup(&self, _: Atom, node: Atom) -> BoxFuture<Result<Option<(Pid, String)>, NetError>> {
        Box::pin(async move { Err(NetError::NoConnection(node)) })
    }
    fn connected_nodes(&self) -> Vec<Atom> {
        vec![self.peer]
    }
    fn disconnect(&self, _: Atom) -> bool {
        false
    }
    fn shutdown(&self) {}
}

/// A minimal HTTP/1.1 request over a fresh connection (`Connection: close`): the status
/// and the body. For tests of the node's own HTTP servers.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = guard("connect", tokio::net::TcpStream::connect(addr))
        .await
        .expect("the server accepts");
    let body = body.unwrap_or("");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    guard("the response", stream.read_to_end(&mut raw))
        .await
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("a header block");
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        unchunk(rest)
    } else {
        rest.to_owned()
    };
    (status, body)
}

fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}
