//! ergo ⇄ Erlang/Elixir: the External Term Format ([`Term`], [`etf`]), the conversions
//! between terms and Rust values ([`FromTerm`], [`IntoTerm`]), EPMD ([`epmd`]), and the
//! distribution protocol ([`Distribution`]) that lets a node of ours join an Erlang
//! cluster: `gen_server:call({example, 'demo@127.0.0.1'}, hi)` reaches a Rust actor,
//! and a Rust actor can call, monitor and link Erlang processes.
//!
//! With [`Options::tls`](Options#structfield.tls) the distribution runs over TLS from
//! the first byte, as OTP's `inet_tls_dist` (`erl -proto_dist inet_tls
//! -ssl_dist_optfile <file>`): the acceptor takes the server side, the dialer the
//! client side (verifying the host part of the node name), then the usual handshake
//! runs inside, its messages framed with 4-byte lengths as `inet_tls_dist` does. The
//! settings are [`tls::TlsOptions`] (shared with the native network: a certificate
//! manager replaceable at run time, a CA pool, [`tls::ClientAuth`] for mutual TLS).
//! epmd stays clear text, as in OTP. Refused connections (bad TLS, wrong cookie,
//! garbage) are logged at a bounded rate.
//!
//! ```no_run
//! # async fn demo(node: &ergo_runtime::Node) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ergo_erlang::tls::{CertManager, ClientAuth, DevCa, TlsOptions};
//! use ergo_erlang::{Distribution, Options};
//!
//! let ca = DevCa::new("cluster CA")?;
//! let (chain, key) = ca.issue(&["127.0.0.1"])?;
//! let tls = TlsOptions::new(Arc::new(CertManager::new(chain, key)?))
//!     .trust(ca.certificate())?
//!     .client_auth(ClientAuth::Required);
//! let dist = Distribution::start(node, Options::default().tls(tls)).await?;
//! # let _ = dist;
//! # Ok(())
//! # }
//! ```

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
