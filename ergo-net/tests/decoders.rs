//! Property tests of the decoders a stranger or a broken peer can reach: frames, the
//! handshake messages and the registrar's request lines. Any input is refused with an
//! error, never a panic, and what is encoded decodes to itself. (The same decoders have
//! cargo-fuzz targets in `fuzz/`.)

use ergo_net::frame::{self, FrameError, Header, WireName, WireTarget};
use ergo_net::handshake::{self, Challenge, Closing, HandshakeError, Hello};
use ergo_net::registrar::{self, Request};
use ergo_runtime::dist::RemoteError;
use proptest::prelude::*;

fn target() -> impl Strategy<Value = WireTarget> {
    prop_oneof![
        (any::<u64>(), any::<u32>()).prop_map(|(id, creation)| WireTarget::Pid { id, creation }),
        "[a-z_]{1,20}".prop_map(|n| WireTarget::Name(WireName(n))),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    prop_oneof![
        Just(Header::Ping),
        Just(Header::Pong),
        (any::<u64>(), target(), 0u8..4, any::<u64>()).prop_map(|(from, to, priority, ack)| {
            Header::Send {
                from,
                to,
                priority,
                ack,
            }
        }),
        (any::<u64>(), target(), 0u8..4, any::<u64>()).prop_map(|(from, to, priority, tag)| {
            Header::Call {
                from,
                to,
                priority,
                tag,
            }
        }),
        (any::<u64>(), any::<bool>()).prop_map(|(tag, ok)| Header::Reply {
            tag,
            status: if ok {
                Ok(())
            } else {
                Err(RemoteError::NoProcess)
            },
        }),
        (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(|(from, to, to_creation)| {
            Header::Link {
                from,
                to,
                to_creation,
            }
        }),
        (any::<u64>(), "[a-z]{1,12}").prop_map(|(tag, n)| Header::Lookup {
            tag,
            name: WireName(n),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frames_round_trip(header in header(), payload in proptest::collection::vec(any::<u8>(), 0..2048), compress in prop_oneof![Just(0usize), Just(64usize)]) {
        let mut buf = Vec::new();
        frame::encode(&mut buf, &header, compress, |b| { b.extend_from_slice(&payload); Ok(()) }).unwrap();
        let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        prop_assert_eq!(len, buf.len() - 4);
        prop_assert!(frame::check_len(len, 1 << 20).is_ok());
        let (h, p) = frame::decode(&buf[4..], 1 << 20).unwrap();
        prop_assert_eq!(h, header);
        prop_assert_eq!(&*p, &payload[..]);
    }

    #[test]
    fn any_frame_body_is_decoded_or_refused(body in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..4096) {
        match frame::decode(&body, max) {
            Ok(_) | Err(FrameError::Malformed(_) | FrameError::DecompressedTooLarge(..)) => {}
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    #[test]
    fn a_mutated_frame_is_decoded_or_refused(header in header(), at in any::<prop::sample::Index>(), xor in 1u8..) {
        let mut buf = Vec::new();
        frame::encode(&mut buf, &header, 0, |_| Ok(())).unwrap();
        let body = &mut buf[4..];
        let i = at.index(body.len());
        body[i] ^= xor;
        let _ = frame::decode(body, 1 << 16);
        // Truncated anywhere: refused, never a panic.
        for cut in 0..body.len() {
            let _ = frame::decode(&body[..cut], 1 << 16);
        }
    }

    #[test]
    fn lengths_beyond_the_limit_are_refused_before_reading(len in any::<u32>(), max in 1usize..(1 << 24)) {
        let checked = frame::check_len(len as usize, max);
        prop_assert_eq!(checked.is_ok(), len != 0 && len as usize <= max);
    }

    #[test]
    fn handshake_messages_parse_or_are_refused(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let errors = [
            handshake::parse::<Hello>(&body).err(),
            handshake::parse::<Challenge>(&body).err(),
            handshake::parse::<Closing>(&body).err(),
        ];
        for e in errors.into_iter().flatten() {
            prop_assert!(matches!(e, HandshakeError::Malformed(_)), "{e:?}");
        }
    }

    #[test]
    fn hellos_round_trip(name in "[a-z]{1,10}@[a-z0-9.]{1,15}", creation in any::<u32>(), port in any::<u16>(), challenge in any::<[u8; 32]>()) {
        let hello = Hello { version: handshake::VERSION, name: name.clone(), creation, capabilities: 1, listen_port: port, max_message: 1 << 20, advertised: None, challenge };
        let body = postcard::to_allocvec(&hello).unwrap();
        prop_assert_eq!(handshake::parse::<Hello>(&body).unwrap(), hello);
        prop_assert!(handshake::valid_node_name(&name));
    }

    #[test]
    fn handshakes_succeed_exactly_when_the_cookies_match(a in "[a-z]{0,8}", b in "[a-z]{0,8}") {
        let same = a == b;
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (client, server) = rt.block_on(async {
            let (x, y) = tokio::io::duplex(4096);
            tokio::join!(
                async move { let mut x = x; handshake::client(&mut x, "c@h", 1, &a, 9).await },
                async move { let mut y = y; handshake::server(&mut y, "s@h", 2, &b).await },
            )
        });
        prop_assert_eq!(client.is_ok(), same);
        prop_assert_eq!(server.is_ok(), same);
        if !same {
            prop_assert!(matches!(client, Err(HandshakeError::WrongCookie(_))));
            prop_assert!(matches!(server, Err(HandshakeError::WrongCookie(_))));
        }
    }

    #[test]
    fn any_handshake_input_ends_the_server_side_cleanly(input in proptest::collection::vec(any::<u8>(), 0..600)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let result = rt.block_on(async {
            let mut stream = tokio::io::join(&input[..], tokio::io::sink());
            handshake::server(&mut stream, "s@h", 1, "cookie").await
        });
        // Random bytes never pass for a proof.
        prop_assert!(result.is_err());
    }

    #[test]
    fn registrar_lines_parse_or_are_unknown(line in ".{0,600}") {
        let _ = registrar::parse_request(&line);
        let _ = registrar::parse_hex(&line);
        let _ = registrar::parse_news(&line);
    }

    #[test]
    fn registrar_news_round_trips(name in "[a-z]{1,10}@[a-z0-9.]{1,15}", junk in "[A-Z]{1,8}") {
        use ergo_otp::events::ClusterEvent;
        let atom = ergo_runtime::Atom::new(&name);
        prop_assert_eq!(
            registrar::parse_news(&format!("JOINED {name}")),
            Some(ClusterEvent::NodeJoined(atom))
        );
        prop_assert_eq!(
            registrar::parse_news(&format!("LEFT {name}")),
            Some(ClusterEvent::NodeLeft(atom))
        );
        prop_assert_eq!(registrar::parse_news(&format!("LEFT {name} {junk}")), None);
        prop_assert_eq!(registrar::parse_news(&format!("JOINED {junk}")), None);
        if junk != "JOINED" && junk != "LEFT" {
            prop_assert_eq!(registrar::parse_news(&format!("{junk} {name}")), None);
        }
    }

    #[test]
    fn registrar_requests_round_trip(name in "[a-z]{1,10}@[a-z0-9.]{1,15}", port in 1u16..) {
        let (register, resolve, zero) = (
            format!("REGISTER {name} {port}"),
            format!("RESOLVE {name}"),
            format!("REGISTER {name} 0"),
        );
        prop_assert_eq!(
            registrar::parse_request(&register),
            Request::Register { name: &name, port: Some(port) }
        );
        prop_assert_eq!(registrar::parse_request(&resolve), Request::Resolve(&name));
        prop_assert_eq!(
            registrar::parse_request(&zero),
            Request::Register { name: &name, port: None }
        );
    }

    #[test]
    fn hex_round_trips(bytes in any::<[u8; 32]>()) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        prop_assert_eq!(registrar::parse_hex(&hex), Some(bytes));
    }
}

proptest! {
    /// The hand-written codec of the common headers writes exactly postcard's bytes.
    #[test]
    fn fast_header_encoding_is_postcards(header in header()) {
        let mut fast = Vec::new();
        if frame::fast::encode(&mut fast, &header) {
            prop_assert_eq!(fast, postcard::to_allocvec(&header).unwrap());
        }
    }

    /// Whatever the hand-written decoder accepts, postcard reads alike (same header,
    /// same length), valid frames or not.
    #[test]
    fn fast_header_decoding_agrees_with_postcard(
        header in header(),
        noise in proptest::collection::vec(any::<u8>(), 0..24),
        cut in 0usize..24,
        flip in any::<(usize, u8)>(),
    ) {
        let mut bytes = postcard::to_allocvec(&header).unwrap();
        bytes.extend_from_slice(&noise);
        let variants = [bytes.clone(), {
            let mut b = bytes.clone();
            let i = flip.0 % b.len();
            b[i] ^= flip.1;
            b
        }, bytes[..bytes.len().saturating_sub(cut)].to_vec(), noise.clone()];
        for bytes in variants {
            if let Some((fast, used)) = frame::fast::decode(&bytes) {
                let (slow, tail) = postcard::take_from_bytes::<Header>(&bytes).unwrap();
                prop_assert_eq!(fast, slow);
                prop_assert_eq!(used, bytes.len() - tail.len());
            }
        }
    }
}
