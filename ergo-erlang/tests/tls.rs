//! Erlang distribution over TLS against a real `erl -proto_dist inet_tls` node:
//! certificates from a development CA, calls both ways with each side dialing, mutual
//! TLS refusing peers without a trusted client certificate, a clear-text node refused by
//! a TLS acceptor, and garbage on the TLS acceptor refused without harm.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ergo::erlang::tls::{CertManager, ClientAuth, DevCa, TlsOptions};
use ergo::erlang::{Distribution, Options, Term};
use ergo::prelude::*;
use support::{unique, Erl, GUARD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const COOKIE: &str = "tlscookie";
const NAMES: &[&str] = &["127.0.0.1", "localhost"];

/// A Rust actor Erlang calls: `{add, N}` → N + 1.
#[derive(Default)]
struct Adder;

#[actor]
impl Adder {
    #[handle_call]
    fn add(&mut self, n: i64) -> i64 {
        n + 1
    }
}

/// TLS options presenting a certificate of `ca` and trusting `ca`.
fn tls(ca: &DevCa, auth: ClientAuth) -> TlsOptions {
    let (chain, key) = ca.issue(NAMES).unwrap();
    TlsOptions::new(Arc::new(CertManager::new(chain, key).unwrap()))
        .trust(ca.certificate())
        .unwrap()
        .client_auth(auth)
}

struct Rust {
    node: Node,
    dist: Distribution,
}

async fn rust_node(tls: Option<TlsOptions>) -> Rust {
    support::ensure_ready();
    let name = format!("{}@127.0.0.1", unique("rs"));
    let node = Node::builder(&name).cookie(COOKIE).start().await.unwrap();
    let options = match tls {
        Some(tls) => Options::default().tls(tls),
        None => Options::default(),
    };
    let dist = Distribution::start(&node, options).await.unwrap();
    node.spawn_register("adder", Adder).await.unwrap();
    Rust { node, dist }
}

impl Rust {
    async fn stop(self) {
        self.dist.stop();
        self.node.stop().await.unwrap();
    }
}

/// A temporary directory holding an `erl` node's certificates and its
/// `-ssl_dist_optfile` (both sides verify the peer against `trusted`).
fn erl_tls_files(issuer: &DevCa, trusted: &DevCa) -> (PathBuf, Vec<String>) {
    let dir = std::env::temp_dir().join(unique("ergo-erl-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let (chain, key) = issuer.issue_pem(NAMES).unwrap();
    let write = |file: &str, text: &str| {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cert = write("cert.pem", &chain);
    let key = write("key.pem", &key);
    let ca = write("ca.pem", &trusted.certificate_pem());
    let side = |extra: &str| {
        format!(
            "[{{certfile, \"{cert}\"}}, {{keyfile, \"{key}\"}}, {{cacertfile, \"{ca}\"}}, \
             {{verify, verify_peer}}, {{secure_renegotiate, true}}{extra}]"
        )
    };
    let optfile = write(
        "dist.conf",
        &format!(
            "[{{server, {}}}, {{client, {}}}].\n",
            side(", {fail_if_no_peer_cert, true}"),
            side("")
        ),
    );
    let args = vec![
        "-proto_dist".into(),
        "inet_tls".into(),
        "-ssl_dist_optfile".into(),
        optfile,
    ];
    (dir, args)
}

fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inet_tls_erlang_node_and_a_tls_node_call_each_other_whoever_dials() {
    let ca = DevCa::new("cluster CA").unwrap();
    let rust = rust_node(Some(tls(&ca, ClientAuth::Required))).await;
    let n = rust.node.name();
    let (dir, args) = erl_tls_files(&ca, &ca);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // First we dial (the Erlang node waits to see us), then it dials us after a
    // disconnect; each time it calls our actor over the connection.
    let eval = format!(
        "N = '{n}',
         ergo_test:start(),
         ergo_test:say(\"READY\", []),
         W = fun W(0) -> timeout; W(K) -> case lists:member(N, nodes()) of
               true -> ok; false -> timer:sleep(50), W(K - 1) end end,
         ergo_test:say(\"DIALED ~w\", [W(400)]),
         ergo_test:say(\"ADD ~w\", [gen_server:call({{adder, N}}, {{add, 5}})]),
         erlang:disconnect_node(N),
         ergo_test:say(\"PING ~w\", [net_adm:ping(N)]),
         ergo_test:say(\"ADD2 ~w\", [gen_server:call({{adder, N}}, {{add, 41}})]),
         ergo_test:wait_forever()."
    );
    let mut erl = Erl::start_with(&unique("e"), COOKIE, &args, &eval);
    erl.line("READY").await;
    let server = ("erl_server", erl.name.as_str());
    let sum: i64 = rust
        .dist
        .call(
            server,
            Term::tuple([Term::atom("add"), Term::Integer(2), Term::Integer(3)]),
            GUARD,
        )
        .await
        .expect("a call over TLS to the Erlang node");
    assert_eq!(sum, 5);
    rust.dist
        .cast(server, Term::atom("over_tls"))
        .await
        .expect("a cast over TLS");
    // The Erlang node sees us connected (and says so) whenever it looks, before or
    // after the cast arrives.
    assert_eq!(
        erl.lines_any_order(&["CAST", "DIALED"]).await,
        ["CAST over_tls", "DIALED ok"]
    );
    assert_eq!(erl.line("ADD").await, "ADD 6");
    // The Erlang node dials our TLS acceptor now.
    assert_eq!(erl.line("PING").await, "PING pong");
    assert_eq!(erl.line("ADD2").await, "ADD2 42");
    rust.stop().await;
    remove(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_refuses_untrusted_or_missing_client_certificates_and_clear_text() {
    let ca = DevCa::new("cluster CA").unwrap();
    let rogue = DevCa::new("rogue CA").unwrap();
    let rust = rust_node(Some(tls(&ca, ClientAuth::Required))).await;
    let n = rust.node.name().to_string();
    // A real inet_tls node whose certificate comes from a CA we do not trust (it
    // trusts ours), and a clear-text node: neither gets in.
    let (dir, args) = erl_tls_files(&rogue, &ca);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ping = format!(
        "ergo_test:say(\"PING ~w\", [net_adm:ping('{n}')]), \
         ergo_test:say(\"NODES ~w\", [nodes()]), halt()."
    );
    let mut untrusted = Erl::start_with(&unique("e"), COOKIE, &args, &ping);
    let mut plain = Erl::start(&unique("e"), COOKIE, &ping);
    assert_eq!(untrusted.line("PING").await, "PING pang");
    assert_eq!(untrusted.line("NODES").await, "NODES []");
    assert_eq!(plain.line("PING").await, "PING pang");
    assert_eq!(plain.line("NODES").await, "NODES []");
    untrusted.exited().await;
    plain.exited().await;
    // Our own dialers: without a client certificate, and with one from the rogue CA.
    let bare = rust_node(Some(tls(&ca, ClientAuth::None).no_client_certificate())).await;
    let (chain, key) = rogue.issue(NAMES).unwrap();
    let forged = TlsOptions::new(Arc::new(CertManager::new(chain, key).unwrap()))
        .trust(ca.certificate())
        .unwrap();
    let forger = rust_node(Some(forged)).await;
    for peer in [&bare, &forger] {
        let called: Result<i64, _> = peer
            .dist
            .call(("adder", n.as_str()), Term::atom("x"), GUARD)
            .await;
        assert!(called.is_err(), "{called:?}");
        assert!(peer.dist.nodes().is_empty(), "{:?}", peer.dist.nodes());
    }
    assert!(rust.dist.nodes().is_empty(), "{:?}", rust.dist.nodes());
    // A trusted peer still gets in.
    let friend = rust_node(Some(tls(&ca, ClientAuth::Required))).await;
    let six: i64 = friend
        .dist
        .call(
            ("adder", n.as_str()),
            Term::tuple([Term::atom("add"), Term::Integer(5)]),
            GUARD,
        )
        .await
        .expect("a trusted peer is accepted");
    assert_eq!(six, 6);
    for node in [bare, forger, friend, rust] {
        node.stop().await;
    }
    remove(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_the_tls_acceptor_is_refused_and_the_node_carries_on() {
    let ca = DevCa::new("cluster CA").unwrap();
    let rust = rust_node(Some(tls(&ca, ClientAuth::Required))).await;
    let n = rust.node.name().to_string();
    let port = rust.dist.port();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    // A clear-text distribution handshake, a fake TLS record, then noise.
    let mut fake_record = vec![0x16, 0x03, 0x01, 0x00, 0x40];
    fake_record.extend_from_slice(&garbage[..64]);
    let inputs: [&[u8]; 3] = [
        b"\x00\x15N\x00\x00\x00\x00\x00\x00\x00\x01",
        &fake_record,
        &garbage,
    ];
    for round in 0..60 {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let _ = s.write_all(inputs[round % inputs.len()]).await;
        // The acceptor closes the connection (an alert at most, then EOF or a reset).
        let closed = tokio::time::timeout(GUARD, async {
            let mut buf = [0u8; 1024];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "round {round}: the acceptor kept a garbage connection"
        );
    }
    assert!(rust.dist.nodes().is_empty());
    let friend = rust_node(Some(tls(&ca, ClientAuth::Required))).await;
    let six: i64 = friend
        .dist
        .call(
            ("adder", n.as_str()),
            Term::tuple([Term::atom("add"), Term::Integer(5)]),
            GUARD,
        )
        .await
        .expect("the acceptor still works");
    assert_eq!(six, 6);
    friend.stop().await;
    rust.stop().await;
}
