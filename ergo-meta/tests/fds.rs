//! Meta processes release their sockets when their owners die: the number of open file
//! descriptors returns to where it was. (Alone in its binary: no other test opens
//! descriptors meanwhile.)

mod support;

use ergo_meta::port::{Port, PortEvent, PortOptions};
use ergo_meta::tcp::{TcpEvent, TcpOptions, TcpServer};
use ergo_meta::udp::{Udp, UdpDatagram};
use support::{eventually, next, node, open_fds, sink};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_are_released_when_owners_die() {
    let node = node("fds").await;
    // Warm up what allocates descriptors once (the runtime's own).
    let (warm, _) = sink::<TcpEvent>(&node).await;
    drop(warm);
    let before = open_fds();

    let (owner, mut events) = sink::<TcpEvent>(&node).await;
    let listening = TcpServer::listen(&node, "127.0.0.1:0", &owner, vec![], TcpOptions::default())
        .await
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(TcpStream::connect(listening.addr).await.unwrap());
        assert!(matches!(next(&mut events).await, TcpEvent::Connect { .. }));
    }
    let (udp_owner, _udp_events) = sink::<UdpDatagram>(&node).await;
    let _udp = Udp::bind(&node, "127.0.0.1:0", &udp_owner).await.unwrap();
    let (port_owner, mut port_events) = sink::<PortEvent>(&node).await;
    let _port = Port::open(&node, PortOptions::new("sleep", ["1000"]), &port_owner)
        .await
        .unwrap();
    assert!(matches!(
        next(&mut port_events).await,
        PortEvent::Start { .. }
    ));
    // listener + 5 accepted + 5 client sides + udp + 3 pipes
    assert!(open_fds() >= before + 15, "{} vs {before}", open_fds());

    drop(clients);
    owner.exit(ergo_runtime::Reason::Kill);
    udp_owner.exit(ergo_runtime::Reason::Kill);
    port_owner.exit(ergo_runtime::Reason::Kill);
    eventually("every descriptor is released", || open_fds() <= before).await;
    node.stop().await.unwrap();
}
