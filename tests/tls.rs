//! TLS and mutual TLS between nodes on 127.0.0.1: trusted certificates connect, an
//! untrusted one, a wrong server name and a missing client certificate are refused with
//! `NetError::Tls`, a certificate replaced at run time serves new connections while the
//! open ones stay, and the development switch that skips verification connects.

use std::net::SocketAddr;
use std::sync::Arc;

use ergo::net::tls::{self, DevCa};
use ergo::net::{CertManager, ClientAuth, NetOptions, NetworkExt, TlsOptions};
use ergo::prelude::*;
use ergo::{Atom, NetError};
use ergo_tests::{eventually, guard, NetCounter};

const HOST: &str = "127.0.0.1";

/// Node certificates for 127.0.0.1 issued by `ca`, trusted by a node trusting `trust`.
fn tls_for(ca: &DevCa, trust: &DevCa, auth: ClientAuth) -> (TlsOptions, Arc<CertManager>) {
    let (chain, key) = ca.issue(&[HOST]).unwrap();
    let certs = Arc::new(CertManager::new(chain, key).unwrap());
    let options = TlsOptions::new(certs.clone())
        .trust(trust.certificate())
        .unwrap()
        .client_auth(auth);
    (options, certs)
}

async fn node(name: &str, tls: TlsOptions, routes: &[(&str, SocketAddr)]) -> Node {
    // One connection per peer: once a call has been answered, both directions are
    // connected (the rotation test relies on it).
    let mut options = NetOptions::new().registrar(None).pool_size(1).tls(tls);
    for (pattern, addr) in routes {
        options = options.route(pattern, *addr);
    }
    Node::builder(&format!("{name}@{HOST}"))
        .cookie("tls-test")
        .network(options)
        .start()
        .await
        .unwrap()
}

/// A node `b` serving a counter, and `a` routed to it.
async fn pair(a: &str, a_tls: TlsOptions, b: &str, b_tls: TlsOptions) -> (Node, Node) {
    let nb = node(b, b_tls, &[]).await;
    nb.spawn_register("counter", NetCounter::default())
        .await
        .unwrap();
    let addr = nb.listen_addr().unwrap();
    let na = node(a, a_tls, &[(&format!("{b}@{HOST}"), addr)]).await;
    (na, nb)
}

async fn add(from: &Node, to: &str, n: u64) -> Result<u64, NetError> {
    let counter = from
        .lookup_remote::<NetCounter>("counter", &format!("{to}@{HOST}"))
        .await?;
    Ok(guard("a remote call", counter.add(n)).await.unwrap())
}

fn tls_reason(result: Result<u64, NetError>, node: &str) -> String {
    match result {
        Err(NetError::Tls { node: n, reason }) => {
            assert_eq!(n, Atom::new(&format!("{node}@{HOST}")));
            reason
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[tokio::test]
async fn mutual_tls_with_trusted_certificates_connects_both_ways() {
    let ca = DevCa::new("tls test CA").unwrap();
    let (ta, _) = tls_for(&ca, &ca, ClientAuth::Required);
    let (tb, _) = tls_for(&ca, &ca, ClientAuth::Required);
    let (a, b) = pair("tls_a1", ta, "tls_b1", tb).await;
    assert_eq!(add(&a, "tls_b1", 2).await, Ok(2));
    assert_eq!(add(&a, "tls_b1", 3).await, Ok(5));
    // The reply came back over b's own (mutually authenticated) connection to a.
    assert!(b.connected_nodes().contains(&Atom::new("tls_a1@127.0.0.1")));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn an_untrusted_server_certificate_is_refused() {
    let (ca, other) = (DevCa::new("ours").unwrap(), DevCa::new("theirs").unwrap());
    let (ta, _) = tls_for(&ca, &ca, ClientAuth::None);
    let (tb, _) = tls_for(&other, &other, ClientAuth::None);
    let (a, b) = pair("tls_a2", ta, "tls_b2", tb).await;
    let reason = tls_reason(add(&a, "tls_b2", 1).await, "tls_b2");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    eventually("b counts the refused handshake", || {
        b.network_stats().unwrap().handshakes_refused == 1
    })
    .await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let ca = DevCa::new("names").unwrap();
    let (ta, _) = tls_for(&ca, &ca, ClientAuth::None);
    let (chain, key) = ca.issue(&["other.example"]).unwrap();
    let tb = TlsOptions::new(Arc::new(CertManager::new(chain, key).unwrap()))
        .trust(ca.certificate())
        .unwrap();
    let (a, b) = pair("tls_a3", ta.clone(), "tls_b3", tb).await;
    let reason = tls_reason(add(&a, "tls_b3", 1).await, "tls_b3");
    assert!(reason.contains("not valid for name"), "{reason}");
    // Told to expect that name, a dialer accepts the same certificate.
    let c = node(
        "tls_c3",
        ta.server_name("other.example"),
        &[("tls_b3@127.0.0.1", b.listen_addr().unwrap())],
    )
    .await;
    assert_eq!(add(&c, "tls_b3", 1).await, Ok(1));
    for n in [a, b, c] {
        n.stop().await.unwrap();
    }
}

#[tokio::test]
async fn mutual_tls_refuses_a_dialer_without_a_client_certificate() {
    let ca = DevCa::new("mtls").unwrap();
    let (ta, _) = tls_for(&ca, &ca, ClientAuth::Required);
    let (tb, _) = tls_for(&ca, &ca, ClientAuth::Required);
    let (a, b) = pair("tls_a4", ta.clone().no_client_certificate(), "tls_b4", tb).await;
    let reason = tls_reason(add(&a, "tls_b4", 1).await, "tls_b4");
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    // A client certificate from a CA the acceptor does not trust is refused as well.
    let stranger = DevCa::new("stranger").unwrap();
    let (tc, _) = tls_for(&stranger, &ca, ClientAuth::Required);
    let c = node(
        "tls_c4",
        tc,
        &[("tls_b4@127.0.0.1", b.listen_addr().unwrap())],
    )
    .await;
    tls_reason(add(&c, "tls_b4", 1).await, "tls_b4");
    // Under optional client authentication the certificate-less dialer gets in.
    let (td, _) = tls_for(&ca, &ca, ClientAuth::Optional);
    let d = node("tls_d4", td, &[]).await;
    d.spawn_register("counter", NetCounter::default())
        .await
        .unwrap();
    let e = node(
        "tls_e4",
        ta.no_client_certificate(),
        &[("tls_d4@127.0.0.1", d.listen_addr().unwrap())],
    )
    .await;
    assert_eq!(add(&e, "tls_d4", 4).await, Ok(4));
    for n in [a, b, c, d, e] {
        n.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_replaced_certificate_serves_new_connections_and_open_ones_stay() {
    let (old_ca, new_ca) = (DevCa::new("old").unwrap(), DevCa::new("new").unwrap());
    let (ta, _) = tls_for(&old_ca, &old_ca, ClientAuth::Required);
    let (tb, b_certs) = tls_for(&old_ca, &old_ca, ClientAuth::Required);
    let (a, b) = pair("tls_a5", ta, "tls_b5", tb).await;
    assert_eq!(add(&a, "tls_b5", 1).await, Ok(1));
    let before = b_certs.fingerprint();

    let (chain, key) = new_ca.issue(&[HOST]).unwrap();
    b_certs.replace(chain, key).unwrap();
    assert_ne!(b_certs.fingerprint(), before);

    // a trusts only the old CA: a new connection either way would now fail, so these
    // calls and their replies went over the connections opened before the rotation.
    let counter = a
        .lookup_remote::<NetCounter>("counter", "tls_b5@127.0.0.1")
        .await
        .unwrap();
    for n in 2..=20 {
        let total = guard("a call after rotation", counter.add(1))
            .await
            .unwrap();
        assert_eq!(total, n);
    }
    // A node trusting only the new CA accepts b now (its client certificate, from the
    // old CA, is still trusted by b)...
    let (tc, _) = tls_for(&old_ca, &new_ca, ClientAuth::Required);
    let c = node(
        "tls_c5",
        tc,
        &[("tls_b5@127.0.0.1", b.listen_addr().unwrap())],
    )
    .await;
    assert_eq!(add(&c, "tls_b5", 100).await, Ok(120));
    // ...and one trusting only the old CA refuses it.
    let (td, _) = tls_for(&old_ca, &old_ca, ClientAuth::Required);
    let d = node(
        "tls_d5",
        td,
        &[("tls_b5@127.0.0.1", b.listen_addr().unwrap())],
    )
    .await;
    let reason = tls_reason(add(&d, "tls_b5", 1).await, "tls_b5");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    for n in [a, b, c, d] {
        n.stop().await.unwrap();
    }
}

#[tokio::test]
async fn skipping_verification_connects_self_signed_nodes() {
    let insecure = |name: &str| {
        let (cert, key) = tls::self_signed(&[name]).unwrap();
        TlsOptions::new(Arc::new(CertManager::new(vec![cert], key).unwrap())).insecure_skip_verify()
    };
    let (a, b) = pair("tls_a6", insecure(HOST), "tls_b6", insecure("b.local")).await;
    assert_eq!(add(&a, "tls_b6", 6).await, Ok(6));
    // Without the switch, the same self-signed certificate is refused.
    let (cert, key) = tls::self_signed(&[HOST]).unwrap();
    let strict = TlsOptions::new(Arc::new(CertManager::new(vec![cert], key).unwrap()));
    let c = node(
        "tls_c6",
        strict,
        &[("tls_b6@127.0.0.1", b.listen_addr().unwrap())],
    )
    .await;
    tls_reason(add(&c, "tls_b6", 1).await, "tls_b6");
    for n in [a, b, c] {
        n.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_clear_text_dialer_is_refused_by_a_tls_acceptor() {
    let ca = DevCa::new("mixed").unwrap();
    let (tb, _) = tls_for(&ca, &ca, ClientAuth::None);
    let b = node("tls_b7", tb, &[]).await;
    let a = Node::builder("tls_a7@127.0.0.1")
        .cookie("tls-test")
        .network(
            NetOptions::new()
                .registrar(None)
                .route("tls_b7@127.0.0.1", b.listen_addr().unwrap()),
        )
        .start()
        .await
        .unwrap();
    let found = a
        .lookup_remote::<NetCounter>("counter", "tls_b7@127.0.0.1")
        .await;
    assert!(matches!(found, Err(NetError::NoConnection(_))), "{found:?}");
    eventually("b counts the refused handshake", || {
        b.network_stats().unwrap().handshakes_refused >= 1
    })
    .await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
