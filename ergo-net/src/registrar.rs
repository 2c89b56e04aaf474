//! The embedded registrar: the first node on a host serves it on a well-known port of
//! 127.0.0.1; later nodes register their listening port with it over a connection they
//! keep open (closing it unregisters), and resolve `name@host` by asking the registrar
//! of `host`. When the serving node stops, the others race to take over and
//! re-register.
//!
//! The protocol is lines of text, each at most 512 bytes:
//! - `RESOLVE <name>`, answered `PORT <port>` or `NONE` (open to anyone, as EPMD is);
//! - `REGISTER <name> <port>`, answered `CHALLENGE <64 hex digits>`, to which the node
//!   answers `PROOF <64 hex digits>`, HMAC-SHA256(cookie, "register" ‖ challenge ‖
//!   name ‖ 0 ‖ port); then `OK`, `TAKEN` or `DENIED`. Only nodes with the serving
//!   node's cookie register: nobody else can squat a name or redirect its peers.
//! - to registered nodes, on their open registration, the registrar pushes
//!   `JOINED <name>` and `LEFT <name>` as other nodes register and unregister (between
//!   the answers to any requests such a session still makes); every
//!   node (the serving one too) publishes them as its cluster event
//!   (`ergo_otp::events::CLUSTER_EVENT`).
//!
//! A session that has not registered is a stranger's: each of its lines must come
//! within the connect timeout, and at most [`MAX_OPEN_SESSIONS`] such sessions (and at
//! most a quarter of the process's open-file limit) are open: one more closes the
//! oldest. The accept loop backs off on errors (too many
//! open files) and logs them rate-limited.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::guard::Guard;
use crate::Network;
use ergo_otp::events::{raise_cluster_event, ClusterEvent};
use ergo_runtime::{Atom, Node};

/// A boxed future, for the object-safe [`Registrar`] trait.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// An external registrar (etcd, DNS, a service mesh...): where nodes announce their
/// listening address and look each other up. Set with `NetOptions::external_registrar`;
/// it is asked after static routes and before the embedded registrar.
pub trait Registrar: Send + Sync + 'static {
    /// Announces that `node` accepts connections at `addr`.
    fn register<'a>(&'a self, node: &'a str, addr: SocketAddr) -> BoxFuture<'a, ()>;
    /// Where `node` accepts connections, if known.
    fn resolve<'a>(&'a self, node: &'a str) -> BoxFuture<'a, Option<SocketAddr>>;
}

const MAX_LINE: usize = 512;
/// Unregistered registrar sessions open at most.
pub const MAX_OPEN_SESSIONS: usize = 256;

/// Registered node name → listening port.
type Table = Arc<Mutex<FxHashMap<String, u16>>>;

/// A node's side of the registrar.
pub(crate) struct Client {
    addr: Option<SocketAddr>,
    /// Set while this node serves the registrar: the table it serves.
    serving: Mutex<Option<Table>>,
}

impl Client {
    pub(crate) fn new(addr: Option<SocketAddr>) -> Client {
        Client {
            addr,
            serving: Mutex::new(None),
        }
    }

    /// Registers the node: serves the registrar if nobody does, else registers with it
    /// (returning once the registrar confirmed), and keeps doing so if the serving node
    /// goes away.
    pub(crate) async fn register(&self, net: &Arc<Network>) {
        let Some(addr) = self.addr else { return };
        let first = if self.try_register(net, addr).await {
            None
        } else {
            let name = net.node.name().as_str().to_string();
            let port = net.advertised_port();
            let registered = register_with(addr, &name, port, net.node.cookie()).await;
            if registered.is_none() {
                tracing::warn!(node = %net.node.name(), %addr, "registrar unreachable; static routes only");
            }
            registered
        };
        let weak = Arc::downgrade(net);
        let task = net.runtime.spawn(keep_registered(weak, addr, first));
        net.tasks.lock().push(task.abort_handle());
    }

    /// True while this node serves the registrar.
    pub(crate) fn is_serving(&self) -> bool {
        self.serving.lock().is_some()
    }

    async fn try_register(&self, net: &Arc<Network>, addr: SocketAddr) -> bool {
        if let Ok(listener) = TcpListener::bind(addr).await {
            let table = Arc::new(Mutex::new(FxHashMap::default()));
            table
                .lock()
                .insert(net.node.name().as_str().to_string(), net.advertised_port());
            *self.serving.lock() = Some(table.clone());
            let task = net
                .runtime
                .spawn(serve(Arc::downgrade(net), listener, table));
            net.tasks.lock().push(task.abort_handle());
            tracing::info!(node = %net.node.name(), %addr, "serving the registrar");
            return true;
        }
        false
    }

    /// The port `node` (`name@host`) listens on, from the registrar of its host.
    pub(crate) async fn resolve(&self, net: &Arc<Network>, node: &str) -> Option<SocketAddr> {
        let registrar = self.addr?;
        let host = node.split_once('@').map(|(_, h)| h)?;
        let ip: std::net::IpAddr = if host == "localhost" {
            [127, 0, 0, 1].into()
        } else {
            host.parse().ok()?
        };
        if let Some(table) = self.serving.lock().clone() {
            if ip == registrar.ip() {
                return table
                    .lock()
                    .get(node)
                    .map(|port| SocketAddr::new(ip, *port));
            }
        }
        let at = SocketAddr::new(ip, registrar.port());
        let ask = async {
            let stream = TcpStream::connect(at).await.ok()?;
            let mut stream = BufReader::new(stream);
            stream
                .get_mut()
                .write_all(format!("RESOLVE {node}\n").as_bytes())
                .await
                .ok()?;
            let line = read_line(&mut stream).await?;
            let port: u16 = line.strip_prefix("PORT ")?.trim().parse().ok()?;
            if port == 0 {
                return None;
            }
            Some(SocketAddr::new(ip, port))
        };
        tokio::time::timeout(net.options.connect_timeout, ask)
            .await
            .ok()
            .flatten()
    }
}

/// Registers `name` at `port` with the registrar at `addr`, proving the cookie; the
/// open connection is the registration.
async fn register_with(
    addr: SocketAddr,
    name: &str,
    port: u16,
    cookie: &str,
) -> Option<BufReader<TcpStream>> {
    let register = async {
        let stream = TcpStream::connect(addr).await.ok()?;
        let mut stream = BufReader::new(stream);
        let line = format!("REGISTER {name} {port}\n");
        stream.get_mut().write_all(line.as_bytes()).await.ok()?;
        let challenge = parse_hex(read_line(&mut stream).await?.strip_prefix("CHALLENGE ")?)?;
        let proof = to_hex(&registration_proof(cookie, &challenge, name, port));
        let line = format!("PROOF {proof}\n");
        stream.get_mut().write_all(line.as_bytes()).await.ok()?;
        (read_line(&mut stream).await.as_deref() == Some("OK")).then_some(stream)
    };
    tokio::time::timeout(Duration::from_secs(5), register)
        .await
        .ok()
        .flatten()
}

/// HMAC-SHA256(cookie, "register" ‖ challenge ‖ name ‖ 0 ‖ port).
pub fn registration_proof(cookie: &str, challenge: &[u8; 32], name: &str, port: u16) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(cookie.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"register");
    mac.update(challenge);
    mac.update(name.as_bytes());
    mac.update(&[0]);
    mac.update(&port.to_be_bytes());
    mac.finalize().into_bytes().into()
}

fn to_hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 64 hex digits as 32 bytes.
pub fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim().as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// Holds the registration open; when it drops, takes over or registers again.
async fn keep_registered(
    net: Weak<Network>,
    addr: SocketAddr,
    mut held: Option<BufReader<TcpStream>>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        if let Some(mut stream) = held.take() {
            // Blocks until the registrar goes away, raising the cluster news it pushes.
            while let Some(line) = read_line(&mut stream).await {
                if let (Some(event), Some(net)) = (parse_news(&line), net.upgrade()) {
                    let about_us =
                        matches!(&event, ClusterEvent::NodeJoined(n) if *n == net.node.name());
                    if !about_us {
                        raise_cluster_event(&net.node, event);
                    }
                }
            }
            backoff = Duration::from_millis(50);
        }
        let Some(strong) = net.upgrade() else { return };
        if strong.registrar.serving.lock().is_some() {
            return; // we serve it: nothing to keep open
        }
        if strong.registrar.try_register(&strong, addr).await {
            return;
        }
        let name = strong.node.name().as_str().to_string();
        let port = strong.advertised_port();
        let cookie = strong.node.cookie().to_owned();
        drop(strong);
        held = register_with(addr, &name, port, &cookie).await;
        if held.is_none() {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

async fn serve(net: Weak<Network>, listener: TcpListener, table: Table) {
    let Some((cookie, idle, strangers, node)) = net.upgrade().map(|n| {
        (
            n.node.cookie().to_owned(),
            n.options.connect_timeout,
            n.registrar_guard.clone(),
            n.node.clone(),
        )
    }) else {
        return;
    };
    let news = News {
        lines: tokio::sync::broadcast::channel(NEWS_BACKLOG).0,
        node,
    };
    let cap = crate::guard::within_fd_limit(MAX_OPEN_SESSIONS);
    // Sessions live in the set: when the serving node stops (this task is aborted), they
    // close with it, and the registered nodes notice and take over.
    let mut sessions = tokio::task::JoinSet::new();
    let mut backoff = Duration::ZERO;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff = Duration::ZERO;
                    let ticket = strangers.ticket();
                    let (table, cookie, guard) = (table.clone(), cookie.clone(), strangers.clone());
                    let news = news.clone();
                    let handle = sessions.spawn(async move {
                        session(stream, table, &cookie, idle, &guard, ticket, &news).await;
                        guard.done(ticket);
                    });
                    strangers.admit(cap, ticket, handle);
                }
                Err(e) => {
                    let Some(strong) = net.upgrade() else { return };
                    backoff = crate::conn::accept_backoff(&strong, "registrar", &e, backoff).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

/// How many cluster changes a slow registered node may fall behind before it misses
/// some.
const NEWS_BACKLOG: usize = 1024;

/// Who joins and leaves: pushed to every registered node, raised on the serving one.
#[derive(Clone)]
struct News {
    lines: tokio::sync::broadcast::Sender<String>,
    node: Node,
}

impl News {
    fn tell(&self, event: ClusterEvent) {
        let line = match &event {
            ClusterEvent::NodeJoined(name) => format!("JOINED {name}"),
            ClusterEvent::NodeLeft(name) => format!("LEFT {name}"),
            _ => return,
        };
        let _ = self.lines.send(line);
        raise_cluster_event(&self.node, event);
    }
}

/// One registrar session: lines until EOF; unregistered, each line within `idle`;
/// registered, the cluster news is pushed to it.
async fn session(
    stream: TcpStream,
    table: Table,
    cookie: &str,
    idle: Duration,
    strangers: &Guard,
    ticket: u64,
    news: &News,
) {
    let mut stream = BufReader::new(stream);
    let mut registered: Option<String> = None;
    let mut pushed: Option<tokio::sync::broadcast::Receiver<String>> = None;
    let mut own_join: Option<String> = None;
    loop {
        let line = if let Some(pushed) = pushed.as_mut() {
            // A registered node sends nothing more: a line cut by a push is lost only
            // to a peer that breaks the protocol.
            tokio::select! {
                line = read_line(&mut stream) => line,
                push = tokio::sync::broadcast::Receiver::recv(pushed) => match push {
                    // Not its own join (subscribed before it was told, so nothing
                    // that came after is missed).
                    Ok(push) if own_join.as_deref() == Some(push.as_str()) => continue,
                    Ok(push) => {
                        let push = format!("{push}\n");
                        if stream.get_mut().write_all(push.as_bytes()).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
            }
        } else {
            tokio::time::timeout(idle, read_line(&mut stream))
                .await
                .ok()
                .flatten()
        };
        let Some(line) = line else { break };
        let answer = match parse_request(&line) {
            Request::Register { name, port } if registered.is_none() => {
                match (port, crate::handshake::valid_node_name(name)) {
                    (Some(port), true) => {
                        match authenticate(&mut stream, cookie, name, port, idle).await {
                            Some(true) => {
                                let mut t = table.lock();
                                if t.contains_key(name) {
                                    "TAKEN".to_string()
                                } else {
                                    t.insert(name.to_string(), port);
                                    registered = Some(name.to_string());
                                    // It hears the news from now on.
                                    pushed = Some(news.lines.subscribe());
                                    own_join = Some(format!("JOINED {name}"));
                                    news.tell(ClusterEvent::NodeJoined(Atom::new(name)));
                                    // Authenticated: no longer a stranger's session.
                                    strangers.done(ticket);
                                    "OK".to_string()
                                }
                            }
                            Some(false) => "DENIED".to_string(),
                            None => break,
                        }
                    }
                    _ => "ERROR bad name or port".to_string(),
                }
            }
            Request::Resolve(name) => match table.lock().get(name) {
                Some(port) => format!("PORT {port}"),
                None => "NONE".to_string(),
            },
            _ => "ERROR unknown request".to_string(),
        };
        if stream
            .get_mut()
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    if let Some(name) = registered {
        table.lock().remove(&name);
        news.tell(ClusterEvent::NodeLeft(Atom::new(&name)));
    }
}

/// Parses a line the registrar pushes to a registered node (`JOINED <name>`,
/// `LEFT <name>`); `None` for anything else, or a name that is not `name@host`.
pub fn parse_news(line: &str) -> Option<ClusterEvent> {
    let mut words = line.split_whitespace();
    let (kind, name) = (words.next()?, words.next()?);
    if words.next().is_some() || !crate::handshake::valid_node_name(name) {
        return None;
    }
    match kind {
        "JOINED" => Some(ClusterEvent::NodeJoined(Atom::new(name))),
        "LEFT" => Some(ClusterEvent::NodeLeft(Atom::new(name))),
        _ => None,
    }
}

/// A request line to the registrar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// `REGISTER <name> <port>` (`None`: not a nonzero port).
    Register {
        /// The node name.
        name: &'a str,
        /// Its listening port.
        port: Option<u16>,
    },
    /// `RESOLVE <name>`.
    Resolve(&'a str),
    /// Anything else.
    Unknown,
}

/// Parses one request line (without its newline).
pub fn parse_request(line: &str) -> Request<'_> {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some("REGISTER"), Some(name), Some(port), None) => Request::Register {
            name,
            port: port.parse::<u16>().ok().filter(|p| *p != 0),
        },
        (Some("RESOLVE"), Some(name), None, None) => Request::Resolve(name),
        _ => Request::Unknown,
    }
}

/// Challenges a registration; `Some(true)` if the proof holds, `None` if the session
/// ended or stalled.
async fn authenticate(
    stream: &mut BufReader<TcpStream>,
    cookie: &str,
    name: &str,
    port: u16,
    idle: Duration,
) -> Option<bool> {
    let mut challenge = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut challenge);
    let line = format!("CHALLENGE {}\n", to_hex(&challenge));
    stream.get_mut().write_all(line.as_bytes()).await.ok()?;
    let line = tokio::time::timeout(idle, read_line(stream)).await.ok()??;
    let proof = line.strip_prefix("PROOF ").and_then(parse_hex);
    let expected = registration_proof(cookie, &challenge, name, port);
    Some(proof.is_some_and(|p| {
        p.iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }))
}

/// One line, without its newline; `None` at EOF, on error or past `MAX_LINE`.
async fn read_line(stream: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    let mut limited = (&mut *stream).take(MAX_LINE as u64);
    match limited.read_line(&mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) if !line.ends_with('\n') => None,
        Ok(_) => Some(line.trim_end().to_string()),
    }
}

use tokio::io::AsyncReadExt as _;
