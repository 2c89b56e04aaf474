//! Fuzz target: decoding arbitrary bytes never panics, and what decodes re-encodes
//! and decodes to the same term.
#![no_main]

use ergo_erlang::Term;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(term) = Term::decode(data) {
        if let Ok(bytes) = term.encode() {
            // NaN floats are the one value that is not equal to itself.
            let again = Term::decode(&bytes).expect("re-encoded term decodes");
            if !format!("{term:?}").contains("NaN") {
                assert_eq!(again, term);
            }
        }
    }
});
