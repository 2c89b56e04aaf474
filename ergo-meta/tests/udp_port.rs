//! UDP and Port meta processes: a datagram round trip with a plain tokio socket, and
//! real programs (`cat`, `sh -c`) with their output, input and exit status.

mod support;

use ergo_meta::port::{Port, PortEvent, PortOptions};
use ergo_meta::udp::{Udp, UdpDatagram};
use support::{eventually, guard, next, node, sink};
use tokio::net::UdpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_round_trip() {
    let node = node("udp").await;
    let (owner, mut got) = sink::<UdpDatagram>(&node).await;
    let udp = Udp::bind(&node, "127.0.0.1:0", &owner).await.unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    peer.send_to(b"marco", udp.local_addr()).await.unwrap();
    let d = next(&mut got).await;
    assert_eq!(&d.data[..], b"marco");
    assert_eq!(d.from, peer.local_addr().unwrap());
    d.socket.send_to(d.from, &b"polo"[..]).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = guard("the answer", peer.recv_from(&mut buf)).await.unwrap();
    assert_eq!(&buf[..n], b"polo");
    assert_eq!(from, udp.local_addr());
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cat_echoes_lines_and_exits_when_its_input_closes() {
    let node = node("port_cat").await;
    let (owner, mut events) = sink::<PortEvent>(&node).await;
    let port = Port::open(
        &node,
        PortOptions::new("cat", Vec::<String>::new()).tag("c"),
        &owner,
    )
    .await
    .unwrap();
    assert!(matches!(
        next(&mut events).await,
        PortEvent::Start {
            os_pid: Some(_),
            ..
        }
    ));
    port.write(&b"first\nsecond\n"[..]).unwrap();
    for want in [&b"first"[..], b"second"] {
        match next(&mut events).await {
            PortEvent::Stdout { data, .. } => assert_eq!(&data[..], want),
            other => panic!("unexpected {other:?}"),
        }
    }
    port.close_stdin().unwrap();
    match next(&mut events).await {
        PortEvent::Exit { code, tag, .. } => {
            assert_eq!(code, Some(0));
            assert_eq!(tag, "c");
        }
        other => panic!("unexpected {other:?}"),
    }
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sh_output_stderr_and_exit_code_in_order() {
    let node = node("port_sh").await;
    let (owner, mut events) = sink::<PortEvent>(&node).await;
    let script = "printf 'abcdef'; echo oops >&2; exit 3";
    let options = PortOptions::new("sh", ["-c", script]).binary(4);
    let _port = Port::open(&node, options, &owner).await.unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = loop {
        match next(&mut events).await {
            PortEvent::Start { .. } => {}
            PortEvent::Stdout { data, .. } => {
                assert!(data.len() <= 4);
                out.extend_from_slice(&data);
            }
            PortEvent::Stderr { line, .. } => err.push(line),
            PortEvent::Exit { code, .. } => break code,
        }
    };
    assert_eq!(out, b"abcdef");
    assert_eq!(err, vec!["oops".to_string()]);
    assert_eq!(code, Some(3));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_program_is_killed_when_its_owner_dies() {
    let node = node("port_kill").await;
    let (owner, mut events) = sink::<PortEvent>(&node).await;
    let port = Port::open(&node, PortOptions::new("sleep", ["1000"]), &owner)
        .await
        .unwrap();
    let PortEvent::Start {
        os_pid: Some(os_pid),
        ..
    } = next(&mut events).await
    else {
        panic!("start first")
    };
    let alive = move || {
        std::fs::read_to_string(format!("/proc/{os_pid}/stat"))
            .map(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
            .unwrap_or(false)
    };
    assert!(alive());
    assert_eq!(port.os_pid().await, Some(os_pid));
    owner.exit(ergo_runtime::Reason::Kill);
    eventually("the program is killed", || !alive()).await;
    assert_eq!(port.os_pid().await, None);
    node.stop().await.unwrap();
}
