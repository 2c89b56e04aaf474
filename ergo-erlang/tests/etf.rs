//! The External Term Format codec: round trips of arbitrary terms, exact bytes of
//! known encodings, and arbitrary bytes never panic nor over-allocate.

use ergo_erlang::etf::{self, DecodeError};
use ergo_erlang::{BigInt, ErlPid, ErlPort, ErlRef, OpaqueFun, Term};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        "[a-z][a-z0-9_]{0,10}".prop_map(Term::Atom),
        "\\PC{0,8}".prop_map(Term::Atom),
        any::<i64>().prop_map(Term::Integer),
        (any::<bool>(), proptest::collection::vec(any::<u8>(), 9..20)).prop_map(|(n, mut m)| {
            if let Some(last) = m.last_mut() {
                *last |= 1;
            }
            BigInt::into_term(n, m)
        }),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Term::Float),
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(Term::Binary),
        (proptest::collection::vec(any::<u8>(), 1..8), 1u8..8)
            .prop_map(|(bytes, bits)| Term::BitBinary { bytes, bits }),
        (
            "[a-z]{1,8}@[a-z0-9.]{1,12}",
            any::<u32>(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(node, id, serial, creation)| Term::Pid(ErlPid {
                node,
                id,
                serial,
                creation
            })),
        ("[a-z]{1,8}@h", any::<u64>(), any::<u32>())
            .prop_map(|(node, id, creation)| Term::Port(ErlPort { node, id, creation })),
        (
            "[a-z]{1,8}@h",
            any::<u32>(),
            proptest::collection::vec(any::<u32>(), 1..=5)
        )
            .prop_map(|(node, creation, ids)| Term::Ref(ErlRef {
                node,
                creation,
                ids
            })),
        ("[a-z]{1,8}", "[a-z]{1,8}", any::<u8>()).prop_map(|(module, function, arity)| {
            Term::Export {
                module,
                function,
                arity,
            }
        }),
        Just(Term::nil()),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Term::Tuple),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Term::List),
            (proptest::collection::vec(inner.clone(), 1..4), leaf())
                .prop_filter("improper tail", |(_, t)| !matches!(t, Term::List(_)))
                .prop_map(|(items, tail)| Term::ImproperList(items, Box::new(tail))),
            // A map holds each key once (OTP refuses, and ergo will not encode, others).
            proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(|pairs| {
                let mut keys = Vec::new();
                Term::Map(
                    pairs
                        .into_iter()
                        .filter(|(k, _)| {
                            let key = k.encode().ok();
                            let fresh = !keys.contains(&key);
                            keys.push(key);
                            fresh
                        })
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #[test]
    fn every_term_round_trips(t in term()) {
        let bytes = t.encode().expect("encodable");
        prop_assert_eq!(Term::decode(&bytes), Ok(t));
    }

    /// The fuzz property, checked by `cargo test`: arbitrary bytes decode or fail with
    /// a typed error, without panicking.
    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Term::decode(&bytes);
        if !bytes.is_empty() {
            bytes[0] = 131;
        }
        let _ = Term::decode(&bytes);
    }

    /// Mutated valid encodings: the hardest inputs for a decoder.
    #[test]
    fn mutated_encodings_never_panic(t in term(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut bytes = t.encode().expect("encodable");
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        let _ = Term::decode(&bytes);
        bytes.truncate(bytes.len() / 2);
        let _ = Term::decode(&bytes);
    }
}

#[test]
fn known_encodings() {
    // term_to_binary({ok, [1,2,3], <<"hi">>, 300, -1, 1.5}) in OTP 25
    let t = Term::tuple([
        Term::atom("ok"),
        Term::list([Term::Integer(1), Term::Integer(2), Term::Integer(3)]),
        Term::binary("hi"),
        Term::Integer(300),
        Term::Integer(-1),
        Term::Float(1.5),
    ]);
    let expected: Vec<u8> = vec![
        131, 104, 6, 119, 2, b'o', b'k', 107, 0, 3, 1, 2, 3, 109, 0, 0, 0, 2, b'h', b'i', 98, 0, 0,
        1, 44, 98, 255, 255, 255, 255, 70, 63, 248, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(t.encode().unwrap(), expected);
    assert_eq!(Term::decode(&expected).unwrap(), t);
    // 2^64 as SMALL_BIG
    let big = Term::decode(&[131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap();
    assert_eq!(
        big,
        Term::BigInt(BigInt {
            negative: false,
            magnitude: vec![0, 0, 0, 0, 0, 0, 0, 0, 1]
        })
    );
    // i64::MIN fits: decoded as an Integer
    let min = Term::Integer(i64::MIN);
    assert_eq!(Term::decode(&min.encode().unwrap()).unwrap(), min);
    // latin-1 atoms (ATOM_EXT) still decode
    assert_eq!(
        Term::decode(&[131, 100, 0, 2, b'h', 0xe9]).unwrap(),
        Term::atom("hé")
    );
    // an improper list [1|2]
    assert_eq!(
        Term::decode(&[131, 108, 0, 0, 0, 1, 97, 1, 97, 2]).unwrap(),
        Term::ImproperList(vec![Term::Integer(1)], Box::new(Term::Integer(2)))
    );
    // an opaque fun survives a round trip byte for byte
    let mut fun = vec![0u8; 40];
    fun[..4].copy_from_slice(&40u32.to_be_bytes());
    let t = Term::Fun(OpaqueFun { bytes: fun });
    assert_eq!(Term::decode(&t.encode().unwrap()).unwrap(), t);
}

#[test]
fn counts_beyond_the_input_are_refused_before_allocating() {
    // A list claiming 2^32-1 elements in 10 bytes.
    let r = Term::decode(&[131, 108, 255, 255, 255, 255, 106]);
    assert!(matches!(r, Err(DecodeError::BadLength { .. })), "{r:?}");
    // A map claiming 2^31 pairs.
    let r = Term::decode(&[131, 116, 128, 0, 0, 0]);
    assert!(matches!(r, Err(DecodeError::BadLength { .. })), "{r:?}");
    // A binary longer than what follows.
    let r = Term::decode(&[131, 109, 0, 0, 1, 0, 1, 2]);
    assert!(matches!(r, Err(DecodeError::BadLength { .. })), "{r:?}");
    // A compressed term declaring 4 GiB.
    let r = Term::decode(&[131, 80, 255, 255, 255, 255, 1, 2, 3]);
    assert!(matches!(r, Err(DecodeError::Malformed { .. })), "{r:?}");
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let mut bytes = vec![131];
    for _ in 0..100_000 {
        bytes.extend_from_slice(&[104, 1]);
    }
    bytes.push(106);
    assert_eq!(Term::decode(&bytes), Err(DecodeError::TooDeep));
}

#[test]
fn compressed_terms_decode() {
    use std::io::Write;
    let inner = Term::list((0..200).map(|i| Term::Integer(i * 1000)));
    let raw = inner.encode().unwrap();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw[1..]).unwrap();
    let mut bytes = vec![131, 80];
    bytes.extend_from_slice(&((raw.len() - 1) as u32).to_be_bytes());
    bytes.extend_from_slice(&z.finish().unwrap());
    assert_eq!(etf::decode(&bytes).unwrap(), inner);
}

/// What OTP refuses is refused at encode time: atoms over 255 characters, maps with a
/// key twice (nested ones too).
#[test]
fn terms_otp_refuses_are_not_encoded() {
    use ergo::erlang::etf::EncodeError;
    assert_eq!(
        Term::atom(&"a".repeat(256)).encode(),
        Err(EncodeError::AtomTooLong(256))
    );
    assert!(Term::atom(&"ü".repeat(255)).encode().is_ok());
    let dup = Term::Map(vec![
        (Term::Integer(1), Term::nil()),
        (Term::Integer(1), Term::atom("x")),
    ]);
    assert_eq!(
        Term::tuple([dup]).encode(),
        Err(EncodeError::DuplicateMapKey)
    );
    // 1 and 1.0 are different keys.
    let distinct = Term::Map(vec![
        (Term::Integer(1), Term::nil()),
        (Term::Float(1.0), Term::nil()),
    ]);
    assert!(distinct.encode().is_ok());
}
