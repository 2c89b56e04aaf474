//! A node for the multi-host test (`tests/netns.rs`), run inside a network namespace:
//!
//! `netns-node <serve|call> <name> <listen> <advertise> <etcd endpoint> <tls dir>`
//!
//! It listens on `listen` and advertises `advertise`, forwarding that port to the
//! listening one itself (as NAT or a NodePort would); it speaks mutual TLS with the
//! certificates of `<tls dir>` (`ca.pem`, `<name>.pem`, `<name>.key`) and finds peers
//! through etcd. `serve` registers a counter, prints `READY` and runs until killed;
//! `call <...> <peer>` adds 5 to the peer's counter, prints `RESULT <total>` and exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ergo::net::{CertManager, ClientAuth, NetOptions, NetworkExt, TlsOptions};
use ergo::prelude::*;
use ergo_etcd::{EtcdOptions, EtcdRegistrar};
use ergo_tests::NetCounter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("info")
        .init();
    let args: Vec<String> = std::env::args().collect();
    let (role, name, listen, advertise, etcd, dir) = match args.as_slice() {
        [_, role, name, listen, advertise, etcd, dir, ..] => (
            role.as_str(),
            name.as_str(),
            listen.parse::<SocketAddr>().expect("listen address"),
            advertise.parse::<SocketAddr>().expect("advertised address"),
            etcd.as_str(),
            PathBuf::from(dir),
        ),
        _ => {
            eprintln!("usage: netns-node <serve|call> <name> <listen> <advertise> <etcd> <tls dir> [peer]");
            std::process::exit(2);
        }
    };
    let read = |file: String| std::fs::read(dir.join(file)).expect("certificate files");
    let certs = CertManager::from_pem(&read(format!("{name}.pem")), &read(format!("{name}.key")))
        .expect("node certificate");
    let tls = TlsOptions::new(Arc::new(certs))
        .trust_pem(&read("ca.pem".into()))
        .expect("CA")
        .client_auth(ClientAuth::Required);
    // etcd may still be starting: bounded retries.
    let mut registrar = None;
    for _ in 0..200 {
        let options = EtcdOptions::new([etcd], "netns").lease_ttl(Duration::from_secs(5));
        if let Ok(r) = EtcdRegistrar::connect(options).await {
            if r.nodes().await.is_ok() {
                registrar = Some(r);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let registrar = registrar.expect("etcd reachable");
    forward(advertise, listen).await;
    let node = Node::builder(name)
        .cookie("netns")
        .network(
            NetOptions::new()
                .listen(listen)
                .advertise(advertise)
                .registrar(None)
                .external_registrar(registrar)
                .tls(tls),
        )
        .start()
        .await
        .expect("node starts");
    match role {
        "serve" => {
            node.spawn_register("counter", NetCounter::default())
                .await
                .expect("counter");
            println!("READY {}", node.advertised_addr().expect("network"));
            let _ = node.wait().await;
        }
        "call" => {
            let peer = args.get(7).expect("the peer to call");
            // The peer may not be registered yet: bounded retries.
            let mut last = None;
            for _ in 0..200 {
                match node.lookup_remote::<NetCounter>("counter", peer).await {
                    Ok(counter) => {
                        let total = counter.add(5).await.expect("the call");
                        println!("RESULT {total}");
                        return;
                    }
                    Err(e) => last = Some(e),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            eprintln!("{peer} not reachable: {last:?}");
            std::process::exit(1);
        }
        other => panic!("unknown role {other}"),
    }
}

/// Forwards connections on `public` to `private` (a NodePort of its own).
async fn forward(public: SocketAddr, private: SocketAddr) {
    let listener = tokio::net::TcpListener::bind(public)
        .await
        .expect("public port");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(private).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
}
