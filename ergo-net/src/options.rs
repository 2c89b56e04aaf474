//! [`NetOptions`]: how a node listens, reaches others, and what it accepts.

use std::net::SocketAddr;
use std::time::Duration;

/// The default port of the embedded registrar (as in the Go framework).
pub const DEFAULT_REGISTRAR_PORT: u16 = 4499;

/// The default bound of one connection's write buffer: 4 MiB (see
/// [`NetOptions::write_buffer`]).
pub const DEFAULT_WRITE_BUFFER: usize = 4 << 20;

/// The default fragment size: 64 KiB (see [`NetOptions::fragment_size`]).
pub const DEFAULT_FRAGMENT_SIZE: usize = 64 << 10;

/// A static route: nodes whose name matches `pattern` (exact, or with one `*`
/// wildcard) are dialed at `addr`, bypassing the registrar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// A node name, or a pattern with one `*`.
    pub pattern: String,
    /// Where to dial.
    pub addr: SocketAddr,
}

impl Route {
    /// True if `node` matches the pattern.
    pub fn matches(&self, node: &str) -> bool {
        Route::matches_pattern(&self.pattern, node)
    }

    /// True if `node` matches `pattern` (exact, or with one `*`).
    pub fn matches_pattern(pattern: &str, node: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == node,
            Some((prefix, suffix)) => {
                node.len() >= prefix.len() + suffix.len()
                    && node.starts_with(prefix)
                    && node.ends_with(suffix)
            }
        }
    }
}

/// One more acceptor of a node (besides the one of [`NetOptions::listen`]), with its
/// own cookie, TLS and limit of connections in their handshake: a port for another
/// cluster, a TLS-only port facing another network, a port behind a load balancer.
#[derive(Clone, Debug)]
pub struct Acceptor {
    /// Where it accepts connections.
    pub listen: SocketAddr,
    /// The cookie dialers must prove (default: the node's).
    pub cookie: Option<String>,
    /// TLS on its connections (default none: clear text, whatever the node's).
    pub tls: Option<crate::tls::TlsOptions>,
    /// Connections in their handshake at most (default 128).
    pub max_handshakes: usize,
}

impl Acceptor {
    /// An acceptor on `listen`, with the node's cookie, in clear text.
    pub fn new(listen: SocketAddr) -> Acceptor {
        Acceptor {
            listen,
            cookie: None,
            tls: None,
            max_handshakes: 128,
        }
    }

    /// Its own cookie.
    pub fn cookie(mut self, cookie: &str) -> Acceptor {
        self.cookie = Some(cookie.to_owned());
        self
    }

    /// TLS on its connections.
    pub fn tls(mut self, tls: crate::tls::TlsOptions) -> Acceptor {
        self.tls = Some(tls);
        self
    }

    /// Its cap of connections in their handshake.
    pub fn max_handshakes(mut self, n: usize) -> Acceptor {
        self.max_handshakes = n.max(1);
        self
    }
}

/// How to dial the nodes of a route, when not as the node's own settings say: another
/// cookie, other TLS settings (to reach another cluster's acceptor).
#[derive(Clone, Debug)]
pub struct RouteSecrets {
    /// The node-name pattern it applies to (as [`Route::pattern`]).
    pub pattern: String,
    /// The cookie to prove (default: the node's).
    pub cookie: Option<String>,
    /// TLS settings (default: the node's).
    pub tls: Option<crate::tls::TlsOptions>,
}

/// Network options, with the defaults of `NetOptions::default()`.
#[derive(Clone)]
pub struct NetOptions {
    /// Where to accept connections (default `127.0.0.1:0`, any free port).
    pub listen: SocketAddr,
    /// TCP connections per peer (default 3).
    pub pool_size: usize,
    /// Largest frame accepted or sent, and largest decompressed frame (default 16 MiB).
    pub max_frame: usize,
    /// Frames above this many bytes are lz4-compressed (default 0: never).
    pub compress_above: usize,
    /// Static routes, tried before the registrar.
    pub routes: Vec<Route>,
    /// The registrar to register with and resolve through (default
    /// `127.0.0.1:4499`; `None` disables it). The first node on a host serves it.
    pub registrar: Option<SocketAddr>,
    /// How often an idle connection sends a keepalive (default 5 s).
    pub keepalive: Duration,
    /// How long a silent inbound connection is trusted (default 15 s: three keepalives).
    pub peer_timeout: Duration,
    /// How long a connect and handshake may take (default 5 s).
    pub connect_timeout: Duration,
    /// Bytes of frames one connection's buffer holds before sends to that peer fail
    /// with `NetError::Busy` (default [`DEFAULT_WRITE_BUFFER`], 4 MiB): the message is
    /// not queued, and the sender knows it. Control frames (links, monitors, exits,
    /// replies, acks) may use up to `2 × write_buffer + max_frame`; beyond that the
    /// peer is declared lost (links and monitors fire) rather than a signal dropped. A
    /// peer that reads nothing for `peer_timeout` is declared lost anyway. With its
    /// writer's batch in flight, messages to a stalled peer cost at most about
    /// `pool_size × 2 × write_buffer` bytes of memory.
    pub write_buffer: usize,
    /// Connections accepted but not yet authenticated, at most (default 128, and never
    /// more than a quarter of the process's open-file limit); one more evicts the
    /// oldest.
    pub max_handshakes: usize,
    /// How long an address a peer told us in its handshake is used to dial it back
    /// (default 10 min). It is also forgotten as soon as dialing it fails, and the peer
    /// is then resolved again through routes and registrars.
    pub learned_ttl: Duration,
    /// An external registrar, asked after static routes (default none).
    pub external_registrar: Option<std::sync::Arc<dyn super::registrar::Registrar>>,
    /// TLS on every connection, dialed and accepted (default none: clear text). Both
    /// ends of a connection must agree.
    pub tls: Option<crate::tls::TlsOptions>,
    /// The largest message this node accepts, before compression (default 16 MiB),
    /// told to peers in the handshake: a send above a peer's limit fails at the
    /// sender with `NetError::TooLarge`.
    pub max_message: usize,
    /// Messages whose frame (after compression) is larger than this are sent as
    /// fragments of this size (default 64 KiB), and reassembled by the receiver.
    pub fragment_size: usize,
    /// How long a receiver keeps a partly received message (default 30 s), and how
    /// many it keeps per connection at most (default 16): past either, it is dropped.
    pub assembly_timeout: Duration,
    /// See `assembly_timeout`.
    pub max_assemblies: usize,
    /// The address this node tells registrars and peers to dial, when it is not the
    /// one it listens on (behind NAT, a load balancer, a Kubernetes NodePort). The
    /// embedded registrar and peers dialing back take its port (with the host of the
    /// node name, or the address the connection came from); an external registrar
    /// gets it whole.
    pub advertise: Option<SocketAddr>,
    /// More acceptors, each with its own cookie, TLS and limits (default none).
    pub acceptors: Vec<Acceptor>,
    /// Cookies and TLS settings for dialing some nodes (default none).
    pub route_secrets: Vec<RouteSecrets>,
}

impl std::fmt::Debug for NetOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetOptions")
            .field("listen", &self.listen)
            .field("pool_size", &self.pool_size)
            .field("max_frame", &self.max_frame)
            .field("compress_above", &self.compress_above)
            .field("routes", &self.routes)
            .field("registrar", &self.registrar)
            .field("keepalive", &self.keepalive)
            .field("peer_timeout", &self.peer_timeout)
            .field("write_buffer", &self.write_buffer)
            .field("max_handshakes", &self.max_handshakes)
            .field("external_registrar", &self.external_registrar.is_some())
            .field("tls", &self.tls)
            .field("max_message", &self.max_message)
            .field("fragment_size", &self.fragment_size)
            .finish_non_exhaustive()
    }
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            pool_size: 3,
            max_frame: 16 << 20,
            compress_above: 0,
            routes: Vec::new(),
            registrar: Some(SocketAddr::from(([127, 0, 0, 1], DEFAULT_REGISTRAR_PORT))),
            keepalive: Duration::from_secs(5),
            peer_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            write_buffer: DEFAULT_WRITE_BUFFER,
            max_handshakes: 128,
            learned_ttl: Duration::from_secs(600),
            external_registrar: None,
            tls: None,
            max_message: crate::handshake::DEFAULT_MAX_MESSAGE as usize,
            fragment_size: DEFAULT_FRAGMENT_SIZE,
            assembly_timeout: Duration::from_secs(30),
            max_assemblies: 16,
            advertise: None,
            acceptors: Vec::new(),
            route_secrets: Vec::new(),
        }
    }
}

impl NetOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on `addr`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Connections per peer.
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// Largest frame.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Compresses frames above `bytes` (0: never).
    pub fn compress_above(mut self, bytes: usize) -> Self {
        self.compress_above = bytes;
        self
    }

    /// Adds a static route.
    pub fn route(mut self, pattern: &str, addr: SocketAddr) -> Self {
        self.routes.push(Route {
            pattern: pattern.to_owned(),
            addr,
        });
        self
    }

    /// Uses the registrar at `addr` (`None`: static routes only).
    pub fn registrar(mut self, addr: Option<SocketAddr>) -> Self {
        self.registrar = addr;
        self
    }

    /// Uses an external registrar.
    pub fn external_registrar(
        mut self,
        registrar: std::sync::Arc<dyn super::registrar::Registrar>,
    ) -> Self {
        self.external_registrar = Some(registrar);
        self
    }

    /// Keepalive period; a peer silent for three of them (also in the middle of a
    /// frame) is declared lost.
    pub fn keepalive(mut self, period: Duration) -> Self {
        self.keepalive = period;
        self.peer_timeout = period * 3;
        self
    }

    /// How long a connect and handshake may take.
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// Bound of one connection's write buffer (see the field).
    pub fn write_buffer(mut self, bytes: usize) -> Self {
        self.write_buffer = bytes.max(1);
        self
    }

    /// Cap on connections still in their handshake.
    pub fn max_handshakes(mut self, n: usize) -> Self {
        self.max_handshakes = n.max(1);
        self
    }

    /// TLS on every connection (see [`crate::tls::TlsOptions`]).
    pub fn tls(mut self, tls: crate::tls::TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The largest message accepted (and told to peers).
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes.max(1);
        self
    }

    /// The fragment size of large messages (at least 1 KiB).
    pub fn fragment_size(mut self, bytes: usize) -> Self {
        self.fragment_size = bytes.max(1024);
        self
    }

    /// Tells registrars and peers to dial `addr` (see the field).
    pub fn advertise(mut self, addr: SocketAddr) -> Self {
        self.advertise = Some(addr);
        self
    }

    /// Adds an acceptor.
    pub fn acceptor(mut self, acceptor: Acceptor) -> Self {
        self.acceptors.push(acceptor);
        self
    }

    /// Adds a static route whose nodes are dialed with their own cookie and TLS
    /// settings (`None`: the node's).
    pub fn route_with(
        mut self,
        pattern: &str,
        addr: SocketAddr,
        cookie: Option<&str>,
        tls: Option<crate::tls::TlsOptions>,
    ) -> Self {
        self.route_secrets.push(RouteSecrets {
            pattern: pattern.to_owned(),
            cookie: cookie.map(str::to_owned),
            tls,
        });
        self.route(pattern, addr)
    }

    /// How long a learned address is trusted.
    pub fn learned_ttl(mut self, ttl: Duration) -> Self {
        self.learned_ttl = ttl;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        let r = Route {
            pattern: "db*@127.0.0.1".into(),
            addr,
        };
        assert!(r.matches("db1@127.0.0.1"));
        assert!(!r.matches("web@127.0.0.1"));
        let exact = Route {
            pattern: "a@h".into(),
            addr,
        };
        assert!(exact.matches("a@h") && !exact.matches("a@hh"));
    }
}
