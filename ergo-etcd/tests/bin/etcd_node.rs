//! A node registered in etcd, for the tests that kill it: `ergo-etcd-node <etcd
//! endpoint> <cluster> <node name> <lease ttl seconds>`. It registers itself and the
//! application `worker` (weight 5), prints `READY`, and runs until killed.

use std::time::Duration;

use ergo_etcd::{EtcdOptions, EtcdRegistrar};
use ergo_net::{NetBuilderExt, NetOptions};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, endpoint, cluster, name, ttl] = args.as_slice() else {
        eprintln!("usage: ergo-etcd-node <endpoint> <cluster> <node> <ttl seconds>");
        std::process::exit(2);
    };
    let ttl = Duration::from_secs(ttl.parse().expect("ttl in seconds"));
    let etcd = EtcdRegistrar::connect(EtcdOptions::new([endpoint], cluster).lease_ttl(ttl))
        .await
        .expect("etcd reachable");
    let node = ergo_runtime::Node::builder(name)
        .cookie("etcd-test")
        .network(
            NetOptions::new()
                .registrar(None)
                .external_registrar(etcd.clone()),
        )
        .start()
        .await
        .expect("node starts");
    etcd.register_application("worker", 5)
        .await
        .expect("application registered");
    println!("READY");
    let _ = node.wait().await;
}
