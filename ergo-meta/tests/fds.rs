//! Meta processes release their sockets when their owners die: the number of open file
//! descriptors returns to where it was. (Alone in its binary: no other test opens
//! descriptors meanwhile.)

mod support;

use ergo_meta::port::{Port, PortEvent, PortOptions};
use ergo_meta::tcp::{TcpEvent, TcpOptions, TcpServer};
use ergo_meta::udp::{Udp, UdpDatagram};
use ergo_meta::web::sse::{sse, SseEvent};
use ergo_meta::web::ws::{websocket, WsEvent};
use ergo_meta::web::{Router, WebServer};
use futures_util::StreamExt;
use std::time::Duration;
use support::{eventually, guard, next, node, open_fds, sink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

    // A web server with a keep-alive HTTP connection, a WebSocket connection and an
    // event stream: its owner dies (their workers live on), every socket closes.
    let (web_owner, _web_events) = sink::<WsEvent>(&node).await;
    let (ws_worker, mut ws_events) = sink::<WsEvent>(&node).await;
    let (sse_worker, mut sse_events) = sink::<SseEvent>(&node).await;
    let app = Router::new()
        .route("/ws", websocket(&node, vec![(&ws_worker).into()]))
        .route(
            "/events",
            sse(&node, vec![(&sse_worker).into()], Duration::from_secs(60)),
        )
        .route("/", axum::routing::get(|| async { "ok" }));
    let http = WebServer::start(&node, "127.0.0.1:0", web_owner.pid(), app)
        .await
        .unwrap();
    let mut keep_alive = TcpStream::connect(http.addr).await.unwrap();
    keep_alive
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = guard("the answer", keep_alive.read(&mut buf))
        .await
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let mut stream = TcpStream::connect(http.addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(matches!(
        next(&mut sse_events).await,
        SseEvent::Connect { .. }
    ));
    let url = format!("ws://{}/ws", http.addr);
    let (mut ws_client, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert!(matches!(
        next(&mut ws_events).await,
        WsEvent::Connect { .. }
    ));
    assert!(open_fds() >= before + 7);
    web_owner.exit(ergo_runtime::Reason::Kill);
    // The idle keep-alive connection is closed, the event stream ends, the WebSocket
    // connection is gone: each client reads its end.
    let n = guard("the close", keep_alive.read(&mut buf))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0);
    let mut rest = Vec::new();
    let _ = guard("the stream's end", stream.read_to_end(&mut rest)).await;
    while let Some(Ok(_)) = guard("the websocket's end", ws_client.next()).await {}
    assert!(matches!(
        next(&mut ws_events).await,
        WsEvent::Disconnect { .. }
    ));
    assert!(matches!(
        next(&mut sse_events).await,
        SseEvent::Disconnect { .. }
    ));
    drop((keep_alive, stream, ws_client));
    eventually("the web sockets are released", || open_fds() <= before).await;

    // The node stops: the meta processes it still runs release theirs too.
    let (owner, mut events) = sink::<TcpEvent>(&node).await;
    let listening = TcpServer::listen(&node, "127.0.0.1:0", &owner, vec![], TcpOptions::default())
        .await
        .unwrap();
    let client = TcpStream::connect(listening.addr).await.unwrap();
    assert!(matches!(next(&mut events).await, TcpEvent::Connect { .. }));
    let (port_owner, _port_events) = sink::<PortEvent>(&node).await;
    let _port = Port::open(&node, PortOptions::new("sleep", ["1000"]), &port_owner)
        .await
        .unwrap();
    node.stop().await.unwrap();
    drop(client);
    eventually("the node's sockets are released", || open_fds() <= before).await;
}
