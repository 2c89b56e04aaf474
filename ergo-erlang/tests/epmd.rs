//! The embedded epmd and the EPMD client: register, look up, list, unregister on close.

use std::net::SocketAddr;
use std::time::Duration;

use ergo_erlang::epmd::{self, EpmdServer};

#[tokio::test]
async fn the_embedded_epmd_registers_resolves_lists_and_forgets() {
    let server = EpmdServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = server.addr();
    let reg = epmd::register(addr, "alpha", 4242, false).await.unwrap();
    let entry = epmd::port_please(addr, "alpha").await.unwrap().unwrap();
    assert_eq!(
        (entry.port, entry.node_type, entry.high, entry.low),
        (4242, 77, 6, 6)
    );
    assert_eq!(entry.name, "alpha");
    assert_eq!(
        epmd::names(addr).await.unwrap(),
        vec![("alpha".to_string(), 4242)]
    );
    // A taken name is refused.
    assert!(epmd::register(addr, "alpha", 1, false).await.is_err());
    assert_eq!(epmd::port_please(addr, "nobody").await.unwrap(), None);
    // Closing the registration socket unregisters the name.
    drop(reg);
    tokio::time::timeout(Duration::from_secs(10), async {
        while epmd::port_please(addr, "alpha").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the name is forgotten");
}

#[test]
fn the_cookie_digest_is_md5_of_cookie_and_decimal_challenge() {
    use ergo_erlang::handshake::digest;
    use md5::{Digest, Md5};
    let expected: [u8; 16] = Md5::digest(b"cookienomnom123456").into();
    assert_eq!(digest("cookienomnom", 123_456), expected);
}
