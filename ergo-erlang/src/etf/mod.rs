//! The External Term Format: tags, typed errors, and the decoder and encoder of
//! [`Term`](crate::Term).

mod decode;
mod encode;

pub use decode::{
    decode, decode_bare, decode_bare_prefix, decode_prefix, MAX_DEPTH, MAX_UNCOMPRESSED,
};
pub use encode::{encode, encode_bare_into, encode_into, MAX_ATOM_CHARS};
pub(crate) use encode::{encode_bare_lifted, encode_lifted, Lifted};

use thiserror::Error;

/// The version byte that starts every top-level term.
pub const VERSION: u8 = 131;

/// The tags of the format.
#[allow(missing_docs)]
pub mod tag {
    pub const NEW_FLOAT: u8 = 70;
    pub const BIT_BINARY: u8 = 77;
    pub const COMPRESSED: u8 = 80;
    pub const NEW_PID: u8 = 88;
    pub const NEW_PORT: u8 = 89;
    pub const NEWER_REFERENCE: u8 = 90;
    pub const SMALL_INTEGER: u8 = 97;
    pub const INTEGER: u8 = 98;
    pub const FLOAT: u8 = 99;
    pub const ATOM: u8 = 100;
    pub const REFERENCE: u8 = 101;
    pub const PORT: u8 = 102;
    pub const PID: u8 = 103;
    pub const SMALL_TUPLE: u8 = 104;
    pub const LARGE_TUPLE: u8 = 105;
    pub const NIL: u8 = 106;
    pub const STRING: u8 = 107;
    pub const LIST: u8 = 108;
    pub const BINARY: u8 = 109;
    pub const SMALL_BIG: u8 = 110;
    pub const LARGE_BIG: u8 = 111;
    pub const NEW_FUN: u8 = 112;
    pub const EXPORT: u8 = 113;
    pub const NEW_REFERENCE: u8 = 114;
    pub const SMALL_ATOM: u8 = 115;
    pub const MAP: u8 = 116;
    pub const ATOM_UTF8: u8 = 118;
    pub const SMALL_ATOM_UTF8: u8 = 119;
    pub const V4_PORT: u8 = 120;
}

/// Why bytes could not be decoded into a term.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a term.
    #[error("unexpected end of input at byte {0}")]
    Eof(usize),
    /// The term did not start with the version byte 131.
    #[error("expected version byte 131, got {0}")]
    BadVersion(u8),
    /// An unknown or unsupported tag.
    #[error("unsupported tag {tag} at byte {at}")]
    BadTag {
        /// The tag.
        tag: u8,
        /// Where it was.
        at: usize,
    },
    /// A count (elements, bytes) larger than the remaining input could hold.
    #[error("length {len} at byte {at} exceeds the remaining input")]
    BadLength {
        /// The declared count.
        len: u64,
        /// Where it was.
        at: usize,
    },
    /// An atom that is not valid UTF-8.
    #[error("atom at byte {0} is not valid UTF-8")]
    BadAtom(usize),
    /// Terms nested deeper than [`MAX_DEPTH`].
    #[error("terms nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// A malformed value (bit count, reference length, float text, compressed data).
    #[error("malformed term at byte {at}: {what}")]
    Malformed {
        /// What was wrong.
        what: &'static str,
        /// Where.
        at: usize,
    },
    /// Bytes left over after the term.
    #[error("{0} trailing bytes after the term")]
    Trailing(usize),
}

/// Why a term could not be encoded.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// An atom longer than OTP allows (255 characters).
    #[error("atom of {0} characters is too long (OTP allows 255)")]
    AtomTooLong(usize),
    /// A map with the same key twice (OTP refuses it).
    #[error("a map with a duplicate key")]
    DuplicateMapKey,
    /// A collection or binary longer than 2^32 - 1.
    #[error("{0} is too long for the format")]
    TooLong(&'static str),
    /// A bitstring with a bit count outside 1..=7 or no bytes.
    #[error("bitstring with {0} bits in its last byte")]
    BadBits(u8),
    /// A reference with no id words or more than 5.
    #[error("reference with {0} id words (1 to 5 allowed)")]
    BadReference(usize),
    /// An improper list without elements.
    #[error("an improper list needs at least one element")]
    EmptyImproperList,
    /// A fun whose opaque bytes are too short to be one.
    #[error("malformed opaque fun")]
    BadFun,
}
