//! ergo ⇄ Erlang/Elixir: the External Term Format ([`Term`], [`etf`]), the conversions
//! between terms and Rust values ([`FromTerm`], [`IntoTerm`]), EPMD ([`epmd`]), and the
//! distribution protocol ([`Distribution`]) that lets a node of ours join an Erlang
//! cluster: `gen_server:call({example, 'demo@127.0.0.1'}, hi)` reaches a Rust actor,
//! and a Rust actor can call, monitor and link Erlang processes.

mod convert;
mod dist;
pub mod epmd;
pub mod etf;
pub mod pg;
mod serde_impl;
mod term;

#[doc(hidden)]
pub mod macro_support;

pub use convert::{Charlist, FromTerm, IntoTerm, StateTerm, TermError};
#[doc(hidden)] // for tests that play a hostile Erlang peer
pub use dist::{flags, handshake, reason};
pub use dist::{DistError, Distribution, ErlCallError, ErlTarget, GenCast, NodeUp, Options};
/// TLS settings for [`Options::tls`] (the `ergo-tls` crate, shared with the native
/// network).
pub use ergo_tls as tls;
pub use term::{BigInt, ErlPid, ErlPort, ErlRef, OpaqueFun, Term};

impl Term {
    /// Decodes a complete term (starting with the version byte 131).
    pub fn decode(bytes: &[u8]) -> Result<Term, etf::DecodeError> {
        etf::decode(bytes)
    }

    /// Encodes the term with its version byte.
    pub fn encode(&self) -> Result<Vec<u8>, etf::EncodeError> {
        etf::encode(self)
    }
}
