//! Distribution as the core sees it: one [`Transport`] trait that every network (the
//! native one, Erlang distribution) implements, the per-peer bookkeeping of remote
//! links and monitors (erts' "dist entry"), and the entry points a transport calls when
//! something arrives for a local process ([`Dist`]).
//!
//! The core never names a wire format or a socket: a remote [`crate::ActorRef`] holds a
//! transport handle and gives it encoded envelopes; the transport reports back through
//! [`Dist`], and calls [`Dist::connection_lost`] once per lost peer.

mod book;
mod entry;
mod error;
mod stats;
mod transport;

pub use entry::{AfterTurn, Dist, LocalProcess};
pub use error::{NetError, RemoteError};
pub use stats::{PeerStats, TransportStats};
pub use transport::{Answer, BoxFuture, Payload, Reach, RemoteTarget, Transport, WireReply};

pub(crate) use book::{Books, LeftShared};
