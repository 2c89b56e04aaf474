//! Large messages between nodes on 127.0.0.1: 10 MB requests, replies and casts cross
//! as fragments (with and without compression, and over TLS) although every frame is
//! limited to 1 MiB; a message above the largest one the peer accepts (told in its
//! handshake) is refused at the sender with `NetError::TooLarge`, and the connection
//! goes on.

use std::sync::Arc;

use ergo::net::tls::DevCa;
use ergo::net::{CertManager, NetOptions, NetworkExt, TlsOptions};
use ergo::prelude::*;
use ergo::{Atom, NetError};
use ergo_tests::guard;

/// Takes large payloads and tells what it got.
#[derive(Default)]
pub struct Sink {
    kept: Vec<(usize, u64)>,
}

#[actor]
impl Sink {
    #[handle_call]
    fn digest(&mut self, data: Vec<u8>) -> (usize, u64) {
        digest(&data)
    }

    #[handle_call]
    fn echo(&mut self, data: Vec<u8>) -> Vec<u8> {
        data
    }

    #[handle_cast]
    fn keep(&mut self, data: Vec<u8>) {
        self.kept.push(digest(&data));
    }

    #[handle_call]
    fn kept(&mut self) -> Vec<(usize, u64)> {
        std::mem::take(&mut self.kept)
    }
}

/// Length and FNV-1a hash.
fn digest(data: &[u8]) -> (usize, u64) {
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    (data.len(), hash)
}

/// `n` bytes, half of them compressible.
fn payload(n: usize) -> Vec<u8> {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|i| {
            if (i / 4096) % 2 == 0 {
                (i % 251) as u8
            } else {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            }
        })
        .collect()
}

async fn pair(a: &str, b: &str, options: impl Fn() -> NetOptions) -> (Node, Node) {
    let nb = Node::builder(&format!("{b}@127.0.0.1"))
        .cookie("large")
        .network(options().registrar(None))
        .start()
        .await
        .unwrap();
    nb.spawn_register("sink", Sink::default()).await.unwrap();
    let route = nb.listen_addr().unwrap();
    let na = Node::builder(&format!("{a}@127.0.0.1"))
        .cookie("large")
        .network(
            options()
                .registrar(None)
                .route(&format!("{b}@127.0.0.1"), route),
        )
        .start()
        .await
        .unwrap();
    (na, nb)
}

async fn ten_megabytes_both_ways(a: &Node, b: &str) {
    let sink = a
        .lookup_remote::<Sink>("sink", &format!("{b}@127.0.0.1"))
        .await
        .unwrap();
    let data = payload(10 << 20);
    let expected = digest(&data);
    let got = guard("a 10 MB request", sink.digest(data.clone()))
        .await
        .unwrap();
    assert_eq!(got, expected);
    let back = guard("a 10 MB reply", sink.echo(data.clone()))
        .await
        .unwrap();
    assert!(back == data, "the echoed 10 MB differ");
    // An acknowledged cast: once it is in the mailbox, the write buffer is free
    // again (a plain cast right behind 10 MB could find it busy).
    sink.send_important(SinkMessage::Keep(data)).await.unwrap();
    sink.keep(vec![1, 2, 3]).unwrap();
    let kept = guard("the casts", sink.kept()).await.unwrap();
    assert_eq!(kept, vec![expected, digest(&[1, 2, 3])]);
}

#[tokio::test]
async fn ten_megabytes_cross_in_fragments_with_and_without_compression() {
    for (i, compress) in [0usize, 1024].into_iter().enumerate() {
        let (a, b) = pair(&format!("lg_a{i}"), &format!("lg_b{i}"), || {
            // Frames of at most 1 MiB: a 10 MB message can only cross in fragments.
            NetOptions::new()
                .max_frame(1 << 20)
                .compress_above(compress)
        })
        .await;
        ten_megabytes_both_ways(&a, &format!("lg_b{i}")).await;
        a.stop().await.unwrap();
        b.stop().await.unwrap();
    }
}

#[tokio::test]
async fn ten_megabytes_cross_over_tls() {
    let ca = DevCa::new("large").unwrap();
    let tls = move || {
        let (chain, key) = ca.issue(&["127.0.0.1"]).unwrap();
        TlsOptions::new(Arc::new(CertManager::new(chain, key).unwrap()))
            .trust(ca.certificate())
            .unwrap()
    };
    let (a, b) = pair("lg_a_tls", "lg_b_tls", || {
        NetOptions::new()
            .max_frame(1 << 20)
            .compress_above(1024)
            .tls(tls())
    })
    .await;
    ten_megabytes_both_ways(&a, "lg_b_tls").await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_message_over_the_peers_limit_is_refused_at_the_sender() {
    let (a, b) = pair("lg_a_max", "lg_b_max", || {
        NetOptions::new().max_message(1 << 20)
    })
    .await;
    let sink = a
        .lookup_remote::<Sink>("sink", "lg_b_max@127.0.0.1")
        .await
        .unwrap();
    // Compression does not matter: the limit is on the message before it.
    let refused = sink
        .send_important(SinkMessage::Keep(vec![0; 2 << 20]))
        .await;
    match refused {
        Err(NetError::TooLarge { node, size, max }) => {
            assert_eq!(node, Atom::new("lg_b_max@127.0.0.1"));
            assert!(size > 2 << 20, "{size}");
            assert_eq!(max, 1 << 20);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // A call says so too, and the connection goes on.
    let call = sink.digest(vec![0; 2 << 20]).await;
    assert!(
        matches!(&call, Err(CallError::Network(NetError::TooLarge { max, .. })) if *max == 1 << 20),
        "{call:?}"
    );
    let fits = vec![7u8; (1 << 20) - 64];
    assert_eq!(
        guard("a message within the limit", sink.digest(fits.clone()))
            .await
            .unwrap(),
        digest(&fits)
    );
    sink.send_important(SinkMessage::Keep(vec![1]))
        .await
        .unwrap();
    assert_eq!(sink.kept().await.unwrap(), vec![digest(&[1])]);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
