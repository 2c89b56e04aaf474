//! The Erlang distribution protocol: [`Distribution`] makes an ergo [`Node`] a peer of
//! Erlang/Elixir nodes — registered with epmd, accepting and dialling connections
//! (handshake version 6), answering `net_kernel`, carrying gen_server calls and casts
//! both ways, and links, monitors and exit signals between Rust and Erlang processes.

mod conn;
mod control;
mod exposed;
pub mod flags;
mod fragments;
mod global;
pub mod handshake;
pub mod reason;
mod stream;
mod transport;
mod typed;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ergo_runtime::dist::Dist;
use ergo_runtime::{Atom, Node, Pid, Ref};
use parking_lot::Mutex;
use rustc_hash::{FxHashMap, FxHashSet};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::convert::{FromTerm, IntoTerm, TermError};
use crate::epmd::{self, EpmdError, EpmdServer, Registration};
use crate::term::{ErlPid, ErlRef, Term};
use conn::Conn;
use handshake::HandshakeError;
use stream::DistStream;

/// A message that came as `{'$gen_cast', Msg}` (`gen_server:cast`): what a Rust actor's
/// `message_from_any` receives, mapped onto its cast handlers.
#[derive(Clone, Debug, PartialEq)]
pub struct GenCast(pub Term);

/// Sent to the processes that watch nodes (see [`Distribution::watch_nodes`]): a
/// visible Erlang node connected (`{nodeup, Node}` of `net_kernel:monitor_nodes/1`).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeUp(pub String);

/// Options of [`Distribution::start`].
#[derive(Clone, Debug)]
pub struct Options {
    /// The port epmd listens on (default 4369).
    pub epmd_port: u16,
    /// The distribution port (default 0: any free port).
    pub port: u16,
    /// A hidden node does not join the peers' `nodes()` (default: visible).
    pub hidden: bool,
    /// Serve a minimal epmd on 127.0.0.1 when none answers (default true).
    pub serve_epmd: bool,
    /// Send a tick after this long without traffic; drop a peer silent for four
    /// times as long (default 15 s, Erlang's `net_ticktime` / 4).
    pub tick: Duration,
    /// The largest frame accepted from a peer (default 64 MiB); a larger one closes
    /// the connection. On a connection that agreed on fragments, a message sent whole
    /// (as a BEAM node sends what it queued while connecting) may be as large as
    /// `max_message`.
    pub max_frame: u32,
    /// The largest message accepted in fragments (default 1 GiB), over all the
    /// fragmented messages under way on a connection; more closes the connection.
    pub max_message: usize,
    /// Connect on first use, as a BEAM node does (default true): a link, monitor,
    /// exit signal or send from a Rust process to a pid or `{name, node}` on a node not
    /// connected yet connects to it first (through epmd), then carries the signal.
    /// With it, this transport can try every `alive@host` node; on a node that also
    /// runs the native network, a peer the native network knows (connected, a static
    /// route, an address it told) goes over the native network, any other over Erlang
    /// distribution.
    pub auto_connect: bool,
    /// TLS on every distribution connection, from the first byte, as OTP's
    /// `inet_tls_dist` (`erl -proto_dist inet_tls`): the acceptor runs the server side
    /// of TLS, the dialer the client side (verifying the host part of the node name
    /// unless [`ergo_tls::TlsOptions::server_name`] says otherwise), then the usual
    /// handshake runs inside. Under [`ergo_tls::ClientAuth::Required`] a peer without a
    /// certificate from the CA pool is refused. epmd stays clear text, as in OTP.
    /// Default: none (clear text, `inet_tcp_dist`).
    pub tls: Option<ergo_tls::TlsOptions>,
}

impl Options {
    /// These options with TLS on every connection (see [`Options::tls`](Options#structfield.tls)).
    pub fn tls(mut self, tls: ergo_tls::TlsOptions) -> Options {
        self.tls = Some(tls);
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            epmd_port: epmd::EPMD_PORT,
            port: 0,
            hidden: false,
            serve_epmd: true,
            tick: Duration::from_secs(15),
            max_frame: 64 << 20,
            max_message: 1 << 30,
            auto_connect: true,
            tls: None,
        }
    }
}

/// Errors of the distribution layer.
#[derive(Error, Debug)]
#[non_exhaustive]
pub enum DistError {
    /// Listening or connecting failed.
    #[error("distribution i/o: {0}")]
    Io(#[from] std::io::Error),
    /// epmd failed or refused.
    #[error(transparent)]
    Epmd(#[from] EpmdError),
    /// The handshake with a peer failed (wrong cookie, missing flags, refusal).
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// epmd does not know the node.
    #[error("node {0} is not registered with epmd")]
    UnknownNode(String),
    /// The node name is not `alive@host`.
    #[error("invalid node name {0:?}")]
    BadNodeName(String),
    /// The connection to the node is gone.
    #[error("not connected to {0}")]
    NotConnected(String),
    /// A term could not be encoded (OTP would refuse it).
    #[error(transparent)]
    Encode(#[from] crate::etf::EncodeError),
    /// A term that arrived could not be decoded (nested too deep).
    #[error(transparent)]
    Decode(#[from] crate::etf::DecodeError),
    /// The TLS handshake with a peer failed (untrusted or missing certificate, wrong
    /// name...).
    #[error("TLS with {node}: {reason}")]
    Tls {
        /// The peer.
        node: String,
        /// What TLS said.
        reason: String,
    },
}

/// Why a call to an Erlang process failed.
#[derive(Error, Debug)]
#[non_exhaustive]
pub enum ErlCallError {
    /// The node could not be reached.
    #[error(transparent)]
    Dist(#[from] DistError),
    /// No reply within the timeout.
    #[error("call timed out after {0:?}")]
    Timeout(Duration),
    /// The callee exited (or did not exist: `noproc`) before replying.
    #[error("the callee exited: {0}")]
    Exit(Term),
    /// The connection to the callee's node was lost (`noconnection`).
    #[error("connection to {0} lost")]
    NoConnection(String),
    /// The reply did not have the type asked for.
    #[error("cannot decode the reply: {0}")]
    Decode(#[from] TermError),
}

/// Where an Erlang process is: a pid, or a name registered on a node.
#[derive(Clone, Debug, PartialEq)]
pub enum ErlTarget {
    /// A process id.
    Pid(ErlPid),
    /// `{Name, Node}`.
    Name {
        /// The registered name.
        name: String,
        /// The node.
        node: String,
    },
}

impl ErlTarget {
    /// The node the target lives on.
    pub fn node(&self) -> &str {
        match self {
            ErlTarget::Pid(p) => &p.node,
            ErlTarget::Name { node, .. } => node,
        }
    }

    /// The term naming the target in a monitor (`Pid` or the name atom).
    fn proc_term(&self) -> Term {
        match self {
            ErlTarget::Pid(p) => Term::Pid(p.clone()),
            ErlTarget::Name { name, .. } => Term::atom(name),
        }
    }
}

impl From<ErlPid> for ErlTarget {
    fn from(p: ErlPid) -> Self {
        ErlTarget::Pid(p)
    }
}
impl From<Pid> for ErlTarget {
    fn from(p: Pid) -> Self {
        ErlTarget::Pid(ErlPid::from_pid(p))
    }
}
impl From<(&str, &str)> for ErlTarget {
    /// `(name, node)`, as Erlang's `{Name, Node}`.
    fn from((name, node): (&str, &str)) -> Self {
        ErlTarget::Name {
            name: name.to_owned(),
            node: node.to_owned(),
        }
    }
}

/// A call this node made to an Erlang process, waiting for its reply.
struct PendingCall {
    peer: String,
    tx: oneshot::Sender<Result<Term, ErlCallError>>,
}

/// A signal for a peer that is being connected: what to do with the connection, or
/// if it cannot be made.
pub(crate) struct Waiting {
    run: WithConn,
    fail: WithoutConn,
}

type WithConn = Box<dyn FnOnce(&Arc<Shared>, &Conn) + Send>;
type WithoutConn = Box<dyn FnOnce(&Arc<Shared>) + Send>;

/// A monitor a local process holds on an Erlang process (the core books it; this is
/// the translation to Erlang's reference).
#[derive(Clone)]
struct OutMonitor {
    target: Pid,
    erl_ref: ErlRef,
}

/// A monitor an Erlang process holds on a local process.
#[derive(Clone)]
struct InMonitor {
    watcher: ErlPid,
    /// The monitored process as the watcher named it (pid or name atom).
    proc_term: Term,
    erl_ref: ErlRef,
}

pub(crate) struct Shared {
    node: Node,
    dist: Dist,
    /// Where typed calls to other ergo nodes wait for their answers.
    runtime: tokio::runtime::Handle,
    name: String,
    cookie: String,
    creation: u32,
    flags: u64,
    options: Options,
    port: u16,
    conns: Mutex<FxHashMap<String, Arc<Conn>>>,
    /// Erlang nodes ever connected: the router answers for them (with `noconnection`
    /// while they are down).
    known: Mutex<FxHashSet<Atom>>,
    connecting: tokio::sync::Mutex<()>,
    calls: Mutex<FxHashMap<ErlRef, PendingCall>>,
    /// Signals waiting for a connection being set up on first use, in order, per peer.
    waiting: Mutex<FxHashMap<String, Vec<Waiting>>>,
    monitors_out: Mutex<FxHashMap<Ref, OutMonitor>>,
    monitors_out_by_erl: Mutex<FxHashMap<ErlRef, Ref>>,
    monitors_in: Mutex<FxHashMap<Ref, InMonitor>>,
    monitors_in_by_erl: Mutex<FxHashMap<ErlRef, Ref>>,
    next_ref: AtomicU64,
    next_conn: AtomicU64,
    next_unlink: AtomicU64,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    epmd: Mutex<Option<Registration>>,
    epmd_server: Mutex<Option<EpmdServer>>,
    /// This node's `global_name_server`.
    global: Mutex<global::Global>,
    /// One registration from this node at a time.
    global_ops: tokio::sync::Mutex<()>,
    /// Local processes told [`NodeUp`] when a visible node connects.
    node_watchers: Mutex<Vec<Pid>>,
    /// What Erlang may run here by module and function name.
    exposed: Mutex<exposed::Exposed>,
}

/// Erlang distribution for one ergo node. Cheap to clone; [`Distribution::stop`] ends it.
#[derive(Clone)]
pub struct Distribution(Arc<Shared>);

impl Distribution {
    /// Makes `node` reachable from Erlang: listens on 127.0.0.1, registers the node's
    /// alive name with epmd (serving a minimal epmd on 127.0.0.1 when none answers and
    /// `options.serve_epmd`), and routes links, monitors and exits to Erlang pids.
    /// The node's cookie is the distribution cookie.
    pub async fn start(node: &Node, options: Options) -> Result<Distribution, DistError> {
        let name = node.name().as_str().to_string();
        let alive = split_name(&name)?.0.to_owned();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            node: node.clone(),
            dist: Dist::new(node),
            runtime: tokio::runtime::Handle::current(),
            cookie: node.cookie().to_owned(),
            creation: node.creation(),
            flags: flags::ours(options.hidden),
            port,
            conns: Mutex::default(),
            known: Mutex::default(),
            connecting: tokio::sync::Mutex::new(()),
            calls: Mutex::default(),
            waiting: Mutex::default(),
            monitors_out: Mutex::default(),
            monitors_out_by_erl: Mutex::default(),
            monitors_in: Mutex::default(),
            monitors_in_by_erl: Mutex::default(),
            next_ref: AtomicU64::new(1),
            next_conn: AtomicU64::new(1),
            next_unlink: AtomicU64::new(1),
            tasks: Mutex::default(),
            epmd: Mutex::default(),
            epmd_server: Mutex::default(),
            global: Mutex::default(),
            global_ops: tokio::sync::Mutex::new(()),
            node_watchers: Mutex::default(),
            exposed: Mutex::default(),
            name,
            options,
        });
        let registration = shared.register_epmd(&alive).await?;
        *shared.epmd.lock() = Some(registration);
        let accept = {
            let shared = shared.clone();
            tokio::spawn(async move { shared.accept_loop(listener).await })
        };
        shared.tasks.lock().push(accept);
        shared
            .dist
            .add_transport(Arc::new(transport::ErlTransport::new(&shared)));
        // A BEAM node that resolves a `global` name conflict runs the resolver on the
        // node of the process registered first (`rpc:call(Node, global, resolve_it,
        // [Method, Name, Pid1, Pid2])`): answered here for OTP's resolvers.
        let weak = Arc::downgrade(&shared);
        let resolve: exposed::RpcFn = Arc::new(move |args: Vec<Term>| {
            let (Some(shared), [method, name, Term::Pid(p1), Term::Pid(p2)]) =
                (weak.upgrade(), args.as_slice())
            else {
                return Err(Term::atom("badarg"));
            };
            let mut losers = Vec::new();
            let kept = global::resolve_it(method, name, p1, p2, &mut losers);
            shared.resolve_losers(losers);
            Ok(kept.map_or_else(|| Term::atom("none"), Term::Pid))
        });
        shared
            .exposed
            .lock()
            .allow_rpc("global", "resolve_it", resolve);
        tracing::info!(node = %shared.name, port, "Erlang distribution started");
        Ok(Distribution(shared))
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.0.node
    }

    /// The distribution port.
    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// The Erlang nodes connected now.
    pub fn nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.0.conns.lock().keys().cloned().collect();
        v.sort();
        v
    }

    /// The connected nodes that are visible (not hidden), as Erlang's `nodes()`.
    pub fn visible_nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .0
            .conns
            .lock()
            .values()
            .filter(|c| c.flags & flags::PUBLISHED != 0)
            .map(|c| c.peer.clone())
            .collect();
        v.sort();
        v
    }

    /// Tells the local process `pid` [`NodeUp`] each time a visible node connects
    /// (`net_kernel:monitor_nodes(true)`), until it is gone.
    pub fn watch_nodes(&self, pid: Pid) {
        self.0.node_watchers.lock().push(pid);
    }

    /// Connects to `peer` (`alive@host`) unless connected: `Node.connect/1`.
    pub async fn connect(&self, peer: &str) -> Result<(), DistError> {
        self.0.ensure_conn(peer).await.map(drop)
    }

    /// Closes the connection to `peer` (`erlang:disconnect_node/1`): links and monitors
    /// across it fire with `noconnection`.
    pub fn disconnect(&self, peer: &str) {
        if let Some(c) = self.0.conns.lock().get(peer).cloned() {
            c.close();
        }
    }

    /// Calls the gen_server `to` (`gen_server:call(To, Req, Timeout)`) and reads its
    /// reply as an `R`.
    pub async fn call<R: FromTerm>(
        &self,
        to: impl Into<ErlTarget>,
        req: impl IntoTerm,
        timeout: Duration,
    ) -> Result<R, ErlCallError> {
        let reply = self.call_term(to, req.into_term(), timeout).await?;
        Ok(R::from_term(&reply)?)
    }

    /// As [`Distribution::call`], the reply as a term.
    pub async fn call_term(
        &self,
        to: impl Into<ErlTarget>,
        req: Term,
        timeout: Duration,
    ) -> Result<Term, ErlCallError> {
        self.0.call(to.into(), req, timeout).await
    }

    /// Casts to the gen_server `to` (`gen_server:cast(To, Msg)`).
    pub async fn cast(
        &self,
        to: impl Into<ErlTarget>,
        msg: impl IntoTerm,
    ) -> Result<(), DistError> {
        let msg = Term::tuple([Term::atom("$gen_cast"), msg.into_term()]);
        self.send(to, msg).await
    }

    /// Sends a plain message (`To ! Msg`), from this node.
    pub async fn send(
        &self,
        to: impl Into<ErlTarget>,
        msg: impl IntoTerm,
    ) -> Result<(), DistError> {
        let to = to.into();
        let conn = self.0.ensure_conn(to.node()).await?;
        let pid0 = self.0.node_pid();
        if conn.try_send_to(&to, &pid0, &msg.into_term())? {
            Ok(())
        } else {
            Err(DistError::NotConnected(to.node().to_owned()))
        }
    }

    /// Lets Erlang call the Rust function `f` as `module:function(Args...)` through
    /// `rpc:call/4,5` and `erpc:call/4,5` (any arity: `f` gets the argument list). An
    /// `Err(reason)` raises `error:Reason` in the caller (`{badrpc, {'EXIT', ..}}` from
    /// `rpc:call`). Nothing else is callable: other functions fail with `undef`, as on
    /// a BEAM node without the module. `f` runs on the connection's reader, so it
    /// should be short (start a process for long work).
    ///
    /// ```no_run
    /// # fn demo(dist: &ergo_erlang::Distribution) {
    /// use ergo_erlang::Term;
    /// dist.allow_rpc("math", "double", |args| match args.as_slice() {
    ///     [Term::Integer(n)] => Ok(Term::Integer(n * 2)),
    ///     _ => Err(Term::atom("badarg")),
    /// });
    /// # }
    /// ```
    pub fn allow_rpc<F>(&self, module: &str, function: &str, f: F)
    where
        F: Fn(Vec<Term>) -> Result<Term, Term> + Send + Sync + 'static,
    {
        self.0
            .exposed
            .lock()
            .allow_rpc(module, function, Arc::new(f));
    }

    /// Lets Erlang start a process here with `spawn(Node, module, function, Args)`
    /// (`Node.spawn/4`, `erlang:spawn_request/5`, with `link` and `monitor`): the
    /// factory gets the node and the arguments and returns the pid it started, or the
    /// reason the spawn fails. Other modules and functions fail with `undef`.
    ///
    /// ```no_run
    /// # use ergo_runtime::{Actor, Context, Step, ReplyTo};
    /// # struct Worker;
    /// # impl Actor for Worker { type Message = (); type Call = (); type Reply = (); type Args = ();
    /// #   fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> { Step::Continue }
    /// #   fn handle_call(&mut self, _: &mut Context<Self>, _: (), r: ReplyTo<()>) -> Step<Self> { r.send(()); Step::Continue } }
    /// # fn demo(dist: &ergo_erlang::Distribution) {
    /// use ergo_erlang::Term;
    /// dist.allow_spawn("worker", "start", |node, _args| async move {
    ///     node.spawn(Worker).await.map(|w| w.pid()).map_err(|_| Term::atom("badarg"))
    /// });
    /// # }
    /// ```
    pub fn allow_spawn<F, Fut>(&self, module: &str, function: &str, factory: F)
    where
        F: Fn(Node, Vec<Term>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Pid, Term>> + Send + 'static,
    {
        let f: exposed::SpawnFn = Arc::new(move |node, args| Box::pin(factory(node, args)));
        self.0.exposed.lock().allow_spawn(module, function, f);
    }

    /// `global:register_name(Name, Pid)`: registers `pid` as `name` on this node and
    /// on every node synchronised with it (under the cluster's `global` lock, as OTP
    /// does). False if the name is taken.
    pub async fn global_register(
        &self,
        name: impl IntoTerm,
        pid: impl Into<ErlTarget>,
    ) -> Result<bool, ErlCallError> {
        let ErlTarget::Pid(pid) = pid.into() else {
            return Ok(false);
        };
        self.0.global_register(name.into_term(), pid).await
    }

    /// `global:unregister_name(Name)`, on every synchronised node.
    pub async fn global_unregister(&self, name: impl IntoTerm) {
        self.0.global_unregister(name.into_term()).await
    }

    /// `global:whereis_name(Name)`: the pid registered as `name` in the cluster.
    pub fn global_whereis(&self, name: impl IntoTerm) -> Option<ErlPid> {
        self.0.global_whereis(&name.into_term())
    }

    /// `global:registered_names()`.
    pub fn global_names(&self) -> Vec<Term> {
        self.0.global_names()
    }

    /// The nodes `global` has synchronised with.
    pub fn global_nodes(&self) -> Vec<String> {
        self.0.global_known()
    }

    /// `global:set_lock({Resource, Requester}, Nodes, Retries)`: locks `resource` for
    /// `requester` on `nodes` (`None`: this node and every visible node, as
    /// `global:set_lock/1`), held by this node (its [`Distribution::pid`]). Another
    /// holder with the same `requester` shares the lock; one with another requester
    /// makes this attempt fail. A refused attempt is retried after OTP's random pause,
    /// `retries` times (`None`: until it succeeds). True once locked everywhere.
    pub async fn set_lock(
        &self,
        resource: impl IntoTerm,
        requester: impl IntoTerm,
        nodes: Option<&[String]>,
        retries: Option<u32>,
    ) -> bool {
        let id = Term::tuple([resource.into_term(), requester.into_term()]);
        let nodes = self.lock_nodes(nodes);
        self.0.set_lock(&id, &nodes, retries).await
    }

    /// `global:del_lock({Resource, Requester}, Nodes)`: this node stops holding the
    /// lock on `nodes` (`None`: this node and every visible node).
    pub async fn del_lock(
        &self,
        resource: impl IntoTerm,
        requester: impl IntoTerm,
        nodes: Option<&[String]>,
    ) {
        let id = Term::tuple([resource.into_term(), requester.into_term()]);
        let nodes = self.lock_nodes(nodes);
        self.0.unlock_nodes(&id, &nodes).await
    }

    /// `global:trans({Resource, Requester}, Fun, Nodes, Retries)`: runs `work` under
    /// the lock and releases it after; `None` (Erlang's `aborted`) if the lock could
    /// not be taken.
    pub async fn trans<R>(
        &self,
        resource: impl IntoTerm,
        requester: impl IntoTerm,
        nodes: Option<&[String]>,
        retries: Option<u32>,
        work: impl std::future::Future<Output = R>,
    ) -> Option<R> {
        let id = Term::tuple([resource.into_term(), requester.into_term()]);
        let nodes = self.lock_nodes(nodes);
        if !self.0.set_lock(&id, &nodes, retries).await {
            return None;
        }
        let result = work.await;
        self.0.unlock_nodes(&id, &nodes).await;
        Some(result)
    }

    /// The nodes a lock goes on: those given, else this node and the visible ones.
    fn lock_nodes(&self, nodes: Option<&[String]>) -> Vec<String> {
        match nodes {
            Some(n) => n.to_vec(),
            None => {
                let mut all = vec![self.0.name.clone()];
                all.extend(self.visible_nodes());
                all
            }
        }
    }

    /// The pid that stands for this node in Erlang (the sender of node-level calls).
    pub fn pid(&self) -> ErlPid {
        self.0.node_pid()
    }

    /// Stops listening, closes every connection (links and monitors across them fire
    /// with `noconnection`) and unregisters from epmd.
    pub fn stop(&self) {
        for t in self.0.tasks.lock().drain(..) {
            t.abort();
        }
        let conns: Vec<_> = self.0.conns.lock().values().cloned().collect();
        for c in conns {
            c.close();
        }
        self.0.epmd.lock().take();
        self.0.epmd_server.lock().take();
    }
}

/// Splits `alive@host`.
fn split_name(name: &str) -> Result<(&str, &str), DistError> {
    match name.split_once('@') {
        Some((a, h)) if !a.is_empty() && !h.is_empty() => Ok((a, h)),
        _ => Err(DistError::BadNodeName(name.to_owned())),
    }
}

/// A control message tuple `{Op, Items...}`.
pub(crate) fn ctl(op: i64, items: impl IntoIterator<Item = Term>) -> Term {
    let mut v = vec![Term::Integer(op)];
    v.extend(items);
    Term::Tuple(v)
}

impl Shared {
    fn epmd_addr(&self, host: Ipv4Addr) -> SocketAddr {
        SocketAddr::from((host, self.options.epmd_port))
    }

    async fn register_epmd(&self, alive: &str) -> Result<Registration, DistError> {
        let addr = self.epmd_addr(Ipv4Addr::LOCALHOST);
        match epmd::register(addr, alive, self.port, self.options.hidden).await {
            Ok(r) => return Ok(r),
            Err(EpmdError::Io(e)) if self.options.serve_epmd => {
                tracing::info!(error = %e, "no epmd answers; serving one on 127.0.0.1");
            }
            Err(e) => return Err(e.into()),
        }
        match EpmdServer::bind(addr).await {
            Ok(server) => *self.epmd_server.lock() = Some(server),
            // Someone else started one meanwhile: use it.
            Err(e) => tracing::debug!(error = %e, "could not serve epmd"),
        }
        Ok(epmd::register(addr, alive, self.port, self.options.hidden).await?)
    }

    /// The pid standing for the node itself (id 0).
    fn node_pid(&self) -> ErlPid {
        ErlPid {
            node: self.name.clone(),
            id: 0,
            serial: 0,
            creation: self.creation,
        }
    }

    /// A fresh reference of this node.
    fn make_ref(&self) -> ErlRef {
        let n = self.next_ref.fetch_add(1, Ordering::Relaxed);
        ErlRef {
            node: self.name.clone(),
            creation: self.creation,
            ids: vec![(n & 0x3ffff) as u32, (n >> 18) as u32, (n >> 50) as u32],
        }
    }

    /// The local ergo pid an Erlang pid of this node stands for.
    fn local_pid(&self, p: &ErlPid) -> Option<Pid> {
        (p.node == self.name && p.creation == self.creation).then(|| p.to_pid())
    }

    fn conn(&self, peer: &str) -> Option<Arc<Conn>> {
        self.conns.lock().get(peer).cloned()
    }

    fn handshake_me(&self) -> handshake::Me<'_> {
        handshake::Me {
            name: &self.name,
            cookie: &self.cookie,
            flags: self.flags,
            creation: self.creation,
        }
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (tcp, addr) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    self.node.log_limiter().log(
                        "erlang: accept failed",
                        || tracing::warn!(error = %e, "distribution accept failed"),
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let shared = self.clone();
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                let mut stream = match &shared.options.tls {
                    None => DistStream::Plain(tcp),
                    Some(tls) => {
                        let shake = ergo_tls::accept(tls, tcp);
                        match tokio::time::timeout(handshake::HANDSHAKE_TIMEOUT, shake).await {
                            Ok(Ok((s, _))) => DistStream::Tls(Box::new(s.into())),
                            Ok(Err(e)) => {
                                let why = ergo_tls::cause(&e).unwrap_or_else(|| e.to_string());
                                shared.node.log_limiter().log(
                                    "erlang: TLS refused",
                                    || tracing::warn!(%addr, %why, "refused a connection: TLS handshake failed"),
                                );
                                return;
                            }
                            Err(_) => {
                                shared.node.log_limiter().log(
                                    "erlang: TLS refused",
                                    || tracing::warn!(%addr, "refused a connection: TLS handshake timed out"),
                                );
                                return;
                            }
                        }
                    }
                };
                let me = shared.handshake_me();
                let result =
                    handshake::accept(&mut stream, &me, |peer| shared.conn(peer).is_some()).await;
                match result {
                    Ok(peer) => {
                        tracing::info!(peer = %peer.name, "Erlang node connected");
                        conn::start(shared.clone(), stream, peer);
                    }
                    Err(HandshakeError::BadCookie(peer)) => {
                        shared.node.log_limiter().log(
                            "erlang: wrong cookie",
                            || tracing::warn!(%peer, %addr, "refused a connection: wrong cookie"),
                        );
                    }
                    Err(e) => shared.node.log_limiter().log(
                        "erlang: bad handshake",
                        || tracing::warn!(%addr, error = %e, "refused a connection"),
                    ),
                }
            });
        }
    }

    /// Runs `run` with the connection to `peer`: now if it is up, else (with
    /// `auto_connect`) once it is made, after any signal already waiting for it. `fail`
    /// runs instead if there is no connection and none can be made.
    pub(crate) fn with_conn(
        self: &Arc<Self>,
        peer: &str,
        run: impl FnOnce(&Arc<Shared>, &Conn) + Send + 'static,
        fail: impl FnOnce(&Arc<Shared>) + Send + 'static,
    ) {
        let mut waiting = self.waiting.lock();
        if let Some(queue) = waiting.get_mut(peer) {
            queue.push(Waiting {
                run: Box::new(run),
                fail: Box::new(fail),
            });
            return;
        }
        if let Some(conn) = self.conn(peer) {
            drop(waiting);
            return run(self, &conn);
        }
        if !self.options.auto_connect || split_name(peer).is_err() || peer == self.name {
            drop(waiting);
            return fail(self);
        }
        waiting.insert(
            peer.to_owned(),
            vec![Waiting {
                run: Box::new(run),
                fail: Box::new(fail),
            }],
        );
        drop(waiting);
        let shared = self.clone();
        let peer = peer.to_owned();
        self.runtime.spawn(async move {
            let conn = shared.ensure_conn(&peer).await;
            if let Err(e) = &conn {
                tracing::info!(%peer, error = %e, "could not connect on first use");
            }
            // Batches in order; the queue stays registered (so later signals line up
            // behind) until it is empty.
            loop {
                let batch = {
                    let mut waiting = shared.waiting.lock();
                    match waiting.get_mut(&peer) {
                        Some(q) if !q.is_empty() => std::mem::take(q),
                        _ => {
                            waiting.remove(&peer);
                            break;
                        }
                    }
                };
                for w in batch {
                    match &conn {
                        Ok(c) => (w.run)(&shared, c),
                        Err(_) => (w.fail)(&shared),
                    }
                }
            }
        });
    }

    async fn ensure_conn(self: &Arc<Self>, peer: &str) -> Result<Arc<Conn>, DistError> {
        if let Some(c) = self.conn(peer) {
            return Ok(c);
        }
        let _guard = self.connecting.lock().await;
        if let Some(c) = self.conn(peer) {
            return Ok(c);
        }
        let (alive, host) = split_name(peer)?;
        let ip = tokio::net::lookup_host((host, 0))
            .await?
            .find_map(|a| match a.ip() {
                std::net::IpAddr::V4(v4) => Some(v4),
                _ => None,
            })
            .ok_or_else(|| DistError::BadNodeName(peer.to_owned()))?;
        let entry = epmd::port_please(self.epmd_addr(ip), alive)
            .await?
            .ok_or_else(|| DistError::UnknownNode(peer.to_owned()))?;
        let tcp = TcpStream::connect((ip, entry.port)).await?;
        let _ = tcp.set_nodelay(true);
        let mut stream = match &self.options.tls {
            None => DistStream::Plain(tcp),
            Some(tls) => {
                let shake = ergo_tls::connect(tls, peer, tcp);
                let tls_failed = |reason: String| {
                    tracing::warn!(%peer, %reason, "could not connect: TLS failed");
                    DistError::Tls {
                        node: peer.to_owned(),
                        reason,
                    }
                };
                match tokio::time::timeout(handshake::HANDSHAKE_TIMEOUT, shake).await {
                    Ok(Ok(s)) => DistStream::Tls(Box::new(s.into())),
                    Ok(Err(e)) => match ergo_tls::cause(&e) {
                        Some(reason) => return Err(tls_failed(reason)),
                        None => return Err(e.into()),
                    },
                    Err(_) => return Err(tls_failed("timed out".into())),
                }
            }
        };
        let me = self.handshake_me();
        let result = handshake::connect(&mut stream, &me).await;
        let info = match result {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "could not connect");
                return Err(e.into());
            }
        };
        tracing::info!(peer = %info.name, "connected to Erlang node");
        Ok(conn::start(self.clone(), stream, info))
    }

    async fn call(
        self: &Arc<Self>,
        to: ErlTarget,
        req: Term,
        timeout: Duration,
    ) -> Result<Term, ErlCallError> {
        let peer = to.node().to_owned();
        let conn = self.ensure_conn(&peer).await?;
        let mref = self.make_ref();
        let (tx, rx) = oneshot::channel();
        self.calls.lock().insert(
            mref.clone(),
            PendingCall {
                peer: peer.clone(),
                tx,
            },
        );
        let me = self.node_pid();
        // As gen:call does: monitor the callee, then send the request tagged with the
        // monitor reference; the reply comes back as {Ref, Reply} to our pid.
        let proc_term = to.proc_term();
        let monitor = ctl(
            19,
            [
                Term::Pid(me.clone()),
                proc_term.clone(),
                Term::Ref(mref.clone()),
            ],
        );
        let msg = Term::tuple([
            Term::atom("$gen_call"),
            Term::tuple([Term::Pid(me.clone()), Term::Ref(mref.clone())]),
            req,
        ]);
        // The monitor and the request leave in one write. A request OTP would refuse
        // (a long atom, a duplicate map key) is refused here, before anything is sent.
        let mut out = Vec::new();
        let mut lifted = Vec::new();
        let encoded = conn
            .encode(&monitor, None, &mut out)
            .and_then(|()| conn.encode_to_lifted(&to, &me, &msg, &mut out, &mut lifted));
        if let Err(e) = encoded {
            self.calls.lock().remove(&mref);
            return Err(ErlCallError::Dist(DistError::Encode(e)));
        }
        let sent = conn.write_lifted(out, &lifted);
        if !sent {
            self.calls.lock().remove(&mref);
            return Err(ErlCallError::NoConnection(peer));
        }
        let outcome = tokio::time::timeout(timeout, rx).await;
        self.calls.lock().remove(&mref);
        match outcome {
            Ok(Ok(result)) => {
                if result.is_ok() {
                    conn.send(&ctl(20, [Term::Pid(me), proc_term, Term::Ref(mref)]), None);
                }
                result
            }
            Ok(Err(_)) => Err(ErlCallError::NoConnection(peer)),
            Err(_) => {
                conn.send(&ctl(20, [Term::Pid(me), proc_term, Term::Ref(mref)]), None);
                Err(ErlCallError::Timeout(timeout))
            }
        }
    }

    /// A connection ended: everything across it fires with `noconnection`.
    fn connection_lost(self: &Arc<Self>, conn: &Conn) {
        {
            let mut conns = self.conns.lock();
            if conns.get(&conn.peer).is_some_and(|c| c.id == conn.id) {
                conns.remove(&conn.peer);
            } else {
                return;
            }
        }
        tracing::info!(peer = %conn.peer, "Erlang node disconnected");
        self.lost(conn);
    }

    /// Everything across a connection that is no longer registered fires with
    /// `noconnection`.
    fn lost(self: &Arc<Self>, conn: &Conn) {
        let node_atom = conn.peer_atom;
        let calls: Vec<PendingCall> = {
            let mut calls = self.calls.lock();
            let refs: Vec<ErlRef> = calls
                .iter()
                .filter(|(_, c)| c.peer == conn.peer)
                .map(|(r, _)| r.clone())
                .collect();
            refs.iter().filter_map(|r| calls.remove(r)).collect()
        };
        for c in calls {
            let _ =
                c.tx.send(Err(ErlCallError::NoConnection(conn.peer.clone())));
        }
        // The translations to Erlang references go; the core fires every link and
        // monitor through the peer.
        self.monitors_out.lock().retain(|_, o| {
            let gone = o.target.node() == node_atom;
            if gone {
                self.monitors_out_by_erl.lock().remove(&o.erl_ref);
            }
            !gone
        });
        self.monitors_in.lock().retain(|_, i| {
            let gone = i.watcher.node == conn.peer;
            if gone {
                self.monitors_in_by_erl.lock().remove(&i.erl_ref);
            }
            !gone
        });
        self.global_peer_down(&conn.peer);
        self.dist.connection_lost(node_atom);
    }
}
