//! The embedded registrar: the first node on a host serves it on a well-known port of
//! 127.0.0.1; later nodes register their listening port with it over a connection they
//! keep open (closing it unregisters), and resolve `name@host` by asking the registrar
//! of `host`. When the serving node stops, the others race to take over and
//! re-register.
//!
//! The protocol is lines of text, each at most 512 bytes: `REGISTER <name> <port>`,
//! answered `OK` or `TAKEN`; `RESOLVE <name>`, answered `PORT <port>` or `NONE`.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::Network;

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
            let registered = register_with(addr, &name, net.listen.port()).await;
            if registered.is_none() {
                tracing::warn!(node = %net.node.name(), %addr, "registrar unreachable; static routes only");
            }
            registered
        };
        let weak = Arc::downgrade(net);
        let task = net.runtime.spawn(keep_registered(weak, addr, first));
        net.tasks.lock().push(task.abort_handle());
    }

    async fn try_register(&self, net: &Arc<Network>, addr: SocketAddr) -> bool {
        if let Ok(listener) = TcpListener::bind(addr).await {
            let table = Arc::new(Mutex::new(FxHashMap::default()));
            table
                .lock()
                .insert(net.node.name().as_str().to_string(), net.listen.port());
            *self.serving.lock() = Some(table.clone());
            let task = net.runtime.spawn(serve(listener, table));
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
            Some(SocketAddr::new(ip, port))
        };
        tokio::time::timeout(net.options.connect_timeout, ask)
            .await
            .ok()
            .flatten()
    }
}

/// Registers `name` at `port` with the registrar at `addr`; the open connection is the
/// registration.
async fn register_with(addr: SocketAddr, name: &str, port: u16) -> Option<BufReader<TcpStream>> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let mut stream = BufReader::new(stream);
    let line = format!("REGISTER {name} {port}\n");
    stream.get_mut().write_all(line.as_bytes()).await.ok()?;
    (read_line(&mut stream).await.as_deref() == Some("OK")).then_some(stream)
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
            // Blocks until the registrar goes away.
            while read_line(&mut stream).await.is_some() {}
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
        let port = strong.listen.port();
        drop(strong);
        held = register_with(addr, &name, port).await;
        if held.is_none() {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

async fn serve(listener: TcpListener, table: Table) {
    // Sessions live in the set: when the serving node stops (this task is aborted), they
    // close with it, and the registered nodes notice and take over.
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    sessions.spawn(session(stream, table.clone()));
                }
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

async fn session(stream: TcpStream, table: Table) {
    let mut stream = BufReader::new(stream);
    let mut registered: Option<String> = None;
    while let Some(line) = read_line(&mut stream).await {
        let answer = match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["REGISTER", name, port] if registered.is_none() => match port.parse::<u16>() {
                Ok(port) => {
                    let mut t = table.lock();
                    if t.contains_key(name) {
                        "TAKEN".to_string()
                    } else {
                        t.insert(name.to_string(), port);
                        registered = Some(name.to_string());
                        "OK".to_string()
                    }
                }
                Err(_) => "ERROR bad port".to_string(),
            },
            ["RESOLVE", name] => match table.lock().get(name) {
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
    }
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
