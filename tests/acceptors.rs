//! Several acceptors per node, each with its own cookie and TLS, and an advertised
//! address other than the bound one (a node behind a forwarder, as behind NAT or a
//! NodePort): peers resolve the advertised address and reach the node through it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ergo::net::tls::DevCa;
use ergo::net::{
    Acceptor, CertManager, NetOptions, NetworkExt, Registrar, RegistrarFuture, TlsOptions,
};
use ergo::prelude::*;
use ergo::{Atom, NetError};
use ergo_tests::{eventually, guard, NetCounter};

fn tls(ca: &DevCa) -> TlsOptions {
    let (chain, key) = ca.issue(&["127.0.0.1"]).unwrap();
    TlsOptions::new(Arc::new(CertManager::new(chain, key).unwrap()))
        .trust(ca.certificate())
        .unwrap()
}

async fn start(name: &str, cookie: &str, options: NetOptions) -> Node {
    Node::builder(&format!("{name}@127.0.0.1"))
        .cookie(cookie)
        .network(options.registrar(None))
        .start()
        .await
        .unwrap()
}

async fn add(from: &Node, to: &str, n: u64) -> Result<u64, NetError> {
    let counter = from.lookup_remote::<NetCounter>("counter", to).await?;
    Ok(guard("a remote call", counter.add(n)).await.unwrap())
}

#[tokio::test]
async fn each_acceptor_has_its_own_cookie_and_tls() {
    let ca = DevCa::new("edge").unwrap();
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let b = start(
        "acc_b1",
        "main",
        NetOptions::new().acceptor(Acceptor::new(any).cookie("edge").tls(tls(&ca))),
    )
    .await;
    b.spawn_register("counter", NetCounter::default())
        .await
        .unwrap();
    let addrs = b.acceptor_addrs();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[0], b.listen_addr().unwrap());
    let (main, edge) = (addrs[0], addrs[1]);
    let to = "acc_b1@127.0.0.1";

    // Through the edge acceptor: its cookie, over TLS. (b answers through a's main
    // acceptor, with the cookie both share.)
    let a = start(
        "acc_a1",
        "main",
        NetOptions::new().route_with(to, edge, Some("edge"), Some(tls(&ca))),
    )
    .await;
    assert_eq!(add(&a, to, 1).await, Ok(1));

    // The main cookie is wrong at the edge acceptor...
    let c = start(
        "acc_c1",
        "main",
        NetOptions::new().route_with(to, edge, None, Some(tls(&ca))),
    )
    .await;
    assert_eq!(
        add(&c, to, 1).await,
        Err(NetError::WrongCookie(Atom::new(to)))
    );
    // ...the edge cookie at the main one...
    let d = start(
        "acc_d1",
        "main",
        NetOptions::new().route_with(to, main, Some("edge"), None),
    )
    .await;
    assert_eq!(
        add(&d, to, 1).await,
        Err(NetError::WrongCookie(Atom::new(to)))
    );
    // ...and clear text is refused by the edge acceptor.
    let e = start(
        "acc_e1",
        "main",
        NetOptions::new().route_with(to, edge, Some("edge"), None),
    )
    .await;
    assert!(matches!(
        add(&e, to, 1).await,
        Err(NetError::NoConnection(_))
    ));
    // The main acceptor still serves the main cookie in clear text.
    let f = start("acc_f1", "main", NetOptions::new().route(to, main)).await;
    assert_eq!(add(&f, to, 1).await, Ok(2));
    for n in [a, b, c, d, e, f] {
        n.stop().await.unwrap();
    }
}

/// A registrar in memory, shared by the nodes of a test.
#[derive(Default)]
struct Table(Mutex<HashMap<String, SocketAddr>>);

impl Registrar for Table {
    fn register<'a>(&'a self, node: &'a str, addr: SocketAddr) -> RegistrarFuture<'a, ()> {
        self.0.lock().unwrap().insert(node.to_owned(), addr);
        Box::pin(async {})
    }

    fn resolve<'a>(&'a self, node: &'a str) -> RegistrarFuture<'a, Option<SocketAddr>> {
        let found = self.0.lock().unwrap().get(node).copied();
        Box::pin(async move { found })
    }
}

/// Forwards every connection on a port of its own to `to` (as NAT or a NodePort
/// would); counts the connections.
async fn forwarder(to: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (at, count)
}

#[tokio::test]
async fn peers_dial_the_advertised_address() {
    let table = Arc::new(Table::default());
    // b binds one port and advertises another, where a forwarder sends its traffic on.
    let bound = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = bound.local_addr().unwrap();
    drop(bound);
    let (public, forwarded) = forwarder(listen).await;
    let b = start(
        "acc_b2",
        "adv",
        NetOptions::new()
            .listen(listen)
            .advertise(public)
            .pool_size(2)
            .external_registrar(table.clone()),
    )
    .await;
    b.spawn_register("counter", NetCounter::default())
        .await
        .unwrap();
    assert_eq!(b.advertised_addr(), Some(public));
    assert_ne!(b.listen_addr(), Some(public));
    let a = start(
        "acc_a2",
        "adv",
        NetOptions::new()
            .pool_size(2)
            .external_registrar(table.clone()),
    )
    .await;
    assert_eq!(add(&a, "acc_b2@127.0.0.1", 5).await, Ok(5));
    // Every connection a dialed (its pool of 2) went through the advertised address.
    eventually("a's pool dialed through the forwarder", || {
        forwarded.load(Ordering::SeqCst) == 2
    })
    .await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
