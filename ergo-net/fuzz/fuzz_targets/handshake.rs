//! Fuzz target: the handshake messages parse or are refused, and the accepting side fed
//! arbitrary bytes ends with an error (random bytes are never a valid proof), without
//! panicking or waiting for more.
#![no_main]

use ergo_net::handshake::{self, Challenge, Closing, Hello};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = handshake::parse::<Hello>(data);
    let _ = handshake::parse::<Challenge>(data);
    let _ = handshake::parse::<Closing>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = handshake::valid_node_name(text);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        let mut stream = tokio::io::join(data, tokio::io::sink());
        handshake::server(&mut stream, "fuzz@127.0.0.1", 1, "cookie").await
    });
    assert!(result.is_err());
});
