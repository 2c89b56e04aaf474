//! TCP meta processes against plain tokio sockets: echo with each framing mode, a frame
//! over the maximum closes the connection, a dialled connection, and a connection
//! ending with its worker.

mod support;

use bytes::Bytes;
use ergo_meta::tcp::{rustls, Framing, TcpConnection, TcpEvent, TcpOptions, TcpServer};
use ergo_meta::Recipient;
use support::{guard, next, node, sink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Echoes every frame the server's worker gets until all of `sent` came through, and
/// returns the frames and what a plain client reads back after writing `sent` (cut
/// into two writes).
async fn echo(framing: Framing, sent: &[u8]) -> (Vec<Bytes>, Vec<u8>) {
    let node = node("tcp_echo").await;
    let (worker, mut events) = sink::<TcpEvent>(&node).await;
    let listening = TcpServer::listen(
        &node,
        "127.0.0.1:0",
        &worker,
        vec![],
        TcpOptions::default().framing(framing).max_len(64),
    )
    .await
    .unwrap();
    let mut client = TcpStream::connect(listening.addr).await.unwrap();
    let TcpEvent::Connect { peer, .. } = next(&mut events).await else {
        panic!("connect first")
    };
    assert_eq!(peer, client.local_addr().unwrap());
    let (a, b) = sent.split_at(sent.len() / 2);
    client.write_all(a).await.unwrap();
    client.flush().await.unwrap();
    tokio::task::yield_now().await;
    client.write_all(b).await.unwrap();
    let mut frames: Vec<Bytes> = Vec::new();
    while frames.iter().map(Bytes::len).sum::<usize>() < sent.len() {
        match next(&mut events).await {
            TcpEvent::Data { conn, data } => {
                conn.write(data.clone()).unwrap();
                frames.push(data);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let total: usize = frames.iter().map(|f| f.len()).sum();
    let mut back = vec![0u8; total];
    guard("the echo", client.read_exact(&mut back))
        .await
        .unwrap();
    node.stop().await.unwrap();
    (frames, back)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_echo() {
    let (frames, back) = echo(Framing::Raw, b"hello").await;
    // Raw chunks: however the stream was cut, the bytes come through in order.
    assert_eq!(frames.concat(), b"hello");
    assert_eq!(back, b"hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_length_echo() {
    let (frames, back) = echo(Framing::Fixed(3), b"abcdefghi").await;
    assert_eq!(frames, vec![&b"abc"[..], b"def", b"ghi"]);
    assert_eq!(back, b"abcdefghi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn length_prefixed_echo_each_header_size() {
    for size in [1usize, 2, 4] {
        let mut sent = Vec::new();
        for payload in [&b"one"[..], b"", b"three"] {
            let len = (payload.len() as u32).to_be_bytes();
            sent.extend_from_slice(&len[4 - size..]);
            sent.extend_from_slice(payload);
        }
        let (frames, back) = echo(Framing::length_prefixed(size), &sent).await;
        assert_eq!(frames.len(), 3);
        assert_eq!(&frames[0][size..], b"one");
        assert_eq!(&frames[1][size..], b"");
        assert_eq!(&frames[2][size..], b"three");
        assert_eq!(back, sent, "header of {size} bytes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_with_offset_that_includes_itself() {
    // A 4-byte header: a 1-byte type, a 2-byte length of the whole frame, a flag.
    let framing = Framing::Header {
        size: 4,
        offset: 1,
        length_size: 2,
        includes_header: true,
    };
    let sent = [7u8, 0, 6, 0, b'h', b'i', 9, 0, 4, 1];
    let (frames, back) = echo(framing, &sent).await;
    assert_eq!(frames, vec![&sent[..6], &sent[6..]]);
    assert_eq!(back, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_maximum_closes_the_connection() {
    let node = node("tcp_max").await;
    let (worker, mut events) = sink::<TcpEvent>(&node).await;
    let options = TcpOptions::default()
        .framing(Framing::length_prefixed(2))
        .max_len(16);
    let listening = TcpServer::listen(&node, "127.0.0.1:0", &worker, vec![], options)
        .await
        .unwrap();
    let mut client = TcpStream::connect(listening.addr).await.unwrap();
    let TcpEvent::Connect { conn, .. } = next(&mut events).await else {
        panic!("connect first")
    };
    // Announces 100 bytes: over the maximum of 16.
    client.write_all(&[0, 100, 1, 2, 3]).await.unwrap();
    match next(&mut events).await {
        TcpEvent::Disconnect { reason, .. } => {
            assert!(reason.unwrap().contains("exceeds the maximum"))
        }
        other => panic!("unexpected {other:?}"),
    }
    let mut buf = [0u8; 8];
    assert_eq!(
        guard("the close", client.read(&mut buf)).await.unwrap_or(0),
        0
    );
    support::eventually("the connection process ends", || {
        !conn.actor_ref().is_alive()
    })
    .await;
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_go_round_robin_to_workers() {
    let node = node("tcp_rr").await;
    let (owner, _owner_events) = sink::<TcpEvent>(&node).await;
    let (w1, mut e1) = sink::<TcpEvent>(&node).await;
    let (w2, mut e2) = sink::<TcpEvent>(&node).await;
    let workers: Vec<Recipient<TcpEvent>> = vec![(&w1).into(), (&w2).into()];
    let listening = TcpServer::listen(&node, "127.0.0.1:0", &owner, workers, TcpOptions::default())
        .await
        .unwrap();
    let _a = TcpStream::connect(listening.addr).await.unwrap();
    assert!(matches!(next(&mut e1).await, TcpEvent::Connect { .. }));
    let _b = TcpStream::connect(listening.addr).await.unwrap();
    assert!(matches!(next(&mut e2).await, TcpEvent::Connect { .. }));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialled_connection_talks_and_dies_with_its_worker() {
    let node = node("tcp_client").await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (worker, mut events) = sink::<TcpEvent>(&node).await;
    let conn = TcpConnection::connect(&node, addr, &worker, TcpOptions::default())
        .await
        .unwrap();
    let (mut server_side, _) = listener.accept().await.unwrap();
    assert!(matches!(next(&mut events).await, TcpEvent::Connect { .. }));
    conn.write(&b"ping"[..]).unwrap();
    let mut buf = [0u8; 4];
    guard("the write", server_side.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, b"ping");
    server_side.write_all(b"pong").await.unwrap();
    match next(&mut events).await {
        TcpEvent::Data { data, .. } => assert_eq!(&data[..], b"pong"),
        other => panic!("unexpected {other:?}"),
    }
    // Its state, as `sys:get_state` (or an observer) reads it.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let answer = Box::new(move |reply| {
        let _ = tx.send(reply);
    });
    node.system_request(
        conn.pid(),
        ergo_runtime::system::SystemRequest::GetState,
        answer,
    );
    let state = format!("{:?}", guard("the state", rx).await.unwrap());
    assert!(state.contains(&format!("peer: {addr}")), "{state}");
    // The worker dies: the connection closes, the server side reads end of stream.
    worker.exit(ergo_runtime::Reason::Kill);
    let n = guard("the close", server_side.read(&mut buf))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0);
    support::eventually("the connection process ends", || {
        !conn.actor_ref().is_alive()
    })
    .await;
    node.stop().await.unwrap();
}

/// A self-signed certificate for `localhost`: the server's config and a client config
/// that trusts it.
fn tls_configs() -> (
    std::sync::Arc<rustls::ServerConfig>,
    std::sync::Arc<rustls::ClientConfig>,
) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::sync::Arc;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_server_and_client() {
    let node = node("tcp_tls").await;
    let (server_config, client_config) = tls_configs();
    let (worker, mut events) = sink::<TcpEvent>(&node).await;
    let options = TcpOptions::default()
        .framing(Framing::length_prefixed(2))
        .tls(server_config);
    let listening = TcpServer::listen(&node, "127.0.0.1:0", &worker, vec![], options)
        .await
        .unwrap();

    // ergo's TLS client against ergo's TLS server.
    let (client_worker, mut client_events) = sink::<TcpEvent>(&node).await;
    let conn = TcpConnection::connect_tls(
        &node,
        listening.addr,
        "localhost",
        client_config.clone(),
        &client_worker,
        TcpOptions::default().framing(Framing::length_prefixed(2)),
    )
    .await
    .unwrap();
    assert!(matches!(
        next(&mut client_events).await,
        TcpEvent::Connect { .. }
    ));
    assert!(matches!(next(&mut events).await, TcpEvent::Connect { .. }));
    conn.write(&[0u8, 5, b's', b'e', b'c', b'r', b't'][..])
        .unwrap();
    match next(&mut events).await {
        TcpEvent::Data { conn, data } => {
            assert_eq!(&data[2..], b"secrt");
            conn.write(data).unwrap();
        }
        other => panic!("unexpected {other:?}"),
    }
    match next(&mut client_events).await {
        TcpEvent::Data { data, .. } => assert_eq!(&data[2..], b"secrt"),
        other => panic!("unexpected {other:?}"),
    }

    // A client that does not trust the certificate fails its handshake; a plain-text
    // client gets no answer, and neither stops the server.
    let (_, untrusting) = tls_configs();
    let refused = TcpConnection::connect_tls(
        &node,
        listening.addr,
        "localhost",
        untrusting,
        &client_worker,
        TcpOptions::default(),
    )
    .await;
    assert!(refused.is_err());
    let mut plain = TcpStream::connect(listening.addr).await.unwrap();
    plain.write_all(b"\0\x03abc").await.unwrap();
    let mut buf = [0u8; 16];
    let _ = guard("the refusal", plain.read(&mut buf)).await;
    let again = TcpConnection::connect_tls(
        &node,
        listening.addr,
        "localhost",
        client_config,
        &client_worker,
        TcpOptions::default(),
    )
    .await;
    assert!(again.is_ok());
    node.stop().await.unwrap();
}
