//! Fuzz target: any registrar request line parses (to a request or `Unknown`), and
//! any text given as a proof parses as 32 bytes or is refused, and any pushed news line
//! parses to a cluster event or `None`, without panicking.
#![no_main]

use ergo_net::registrar::{self, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    match registrar::parse_request(&line) {
        Request::Register { name, .. } | Request::Resolve(name) => {
            assert!(!name.is_empty() && !name.contains(char::is_whitespace));
        }
        Request::Unknown => {}
    }
    let _ = registrar::parse_news(&line);
    if let Some(bytes) = registrar::parse_hex(&line) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, line.trim().to_ascii_lowercase());
    }
});
