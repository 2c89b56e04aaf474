//! Fuzz target: a frame body (what follows the length) decodes or is refused, never
//! panics nor allocates beyond the limit; what decodes re-encodes to a frame that
//! decodes to the same header and payload.
#![no_main]

use ergo_net::frame;
use libfuzzer_sys::fuzz_target;

const MAX: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let _ = frame::check_len(data.len(), MAX);
    if let Ok((header, payload)) = frame::decode(data, MAX) {
        let mut buf = Vec::new();
        frame::encode(&mut buf, &header, 0, |b| {
            b.extend_from_slice(&payload);
            Ok(())
        })
        .expect("a decoded header encodes");
        let (again, again_payload) = frame::decode(&buf[4..], MAX).expect("re-encoded frame decodes");
        assert_eq!(again, header);
        assert_eq!(&*again_payload, &*payload);
    }
});
