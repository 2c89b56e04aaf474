//! Fuzz target: a sequence of frame bodies fed to the reassembler (split at 0xFF
//! bytes) is taken, skipped or refused, never panics, and never holds more partial
//! messages than its cap.
#![no_main]

use std::time::Duration;

use ergo_net::fragment::{Assembler, FRAGMENT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut assembler = Assembler::new(1 << 16, 4, Duration::from_secs(30));
    for part in data.split(|b| *b == 0xFF) {
        let mut body = part.to_vec();
        if let Some(first) = body.first_mut() {
            *first |= FRAGMENT;
        }
        let _ = assembler.take(&body);
        assert!(assembler.len() <= 4);
    }
});
