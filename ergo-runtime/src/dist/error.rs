//! The errors of distribution as callers see them, whatever the transport.

use thiserror::Error;

use crate::pid::Atom;
use crate::wire::WireError;

/// What a remote node answers when it refuses a message, a request or a lookup.
#[derive(Error, Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum RemoteError {
    /// No such process.
    #[error("no such process")]
    NoProcess,
    /// Its mailbox is full.
    #[error("mailbox full")]
    MailboxFull,
    /// The payload did not decode as the target's type.
    #[error("rejected by the target: {0}")]
    Rejected(String),
    /// The handler dropped the reply token without answering.
    #[error("no reply")]
    NoReply,
    /// Not allowed (remote spawn not enabled for this node or factory).
    #[error("not allowed: {0}")]
    NotAllowed(String),
}

/// Errors of sends, calls and lookups that cross to another node.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetError {
    /// No transport is started on this node (see the `ergo-net` and `ergo-erlang`
    /// crates).
    #[error("the node's network is not started")]
    NotStarted,
    /// The peer could not be reached (no route, refused, handshake failed, lost).
    #[error("no connection to {0}")]
    NoConnection(Atom),
    /// The remote node answered with an error.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A remote process runs another actor type than the one asked for.
    #[error("the remote process runs `{found}`, not `{expected}`")]
    WrongType {
        /// What the caller asked for.
        expected: &'static str,
        /// What the remote node reports.
        found: String,
    },
    /// The transport cannot carry this (e.g. typed messages over a transport without a
    /// wire format for them).
    #[error("the transport to {node} cannot carry this: {what}")]
    Unsupported {
        /// The peer.
        node: Atom,
        /// What was refused.
        what: &'static str,
    },
    /// No answer from the remote node within this time (an important send, a lookup).
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The peer refused our cookie, or proved a different one (the handshake failed on
    /// authentication, not on the network).
    #[error("cookie mismatch with {0}")]
    WrongCookie(Atom),
    /// The connection to the peer is full (its bounded write buffer is at its limit,
    /// the peer reads slower than we send): the message was not queued; retry later.
    #[error("the connection to {0} is busy (write buffer full)")]
    Busy(Atom),
    /// Binding the listener failed.
    #[error("cannot listen: {0}")]
    Listen(String),
    /// TLS with the peer failed: its certificate is not trusted or not valid for its
    /// name, it refused ours (or our lack of one), or it does not speak TLS.
    #[error("TLS with {node} failed: {reason}")]
    Tls {
        /// The peer.
        node: Atom,
        /// What rustls reported.
        reason: String,
    },
    /// The message is larger than the peer accepts (the limit it told in its
    /// handshake): it was not sent.
    #[error("a message of {size} bytes exceeds the {max} bytes {node} accepts")]
    TooLarge {
        /// The peer.
        node: Atom,
        /// The message's size, before compression.
        size: usize,
        /// The peer's limit.
        max: usize,
    },
}
