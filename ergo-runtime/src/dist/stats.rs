//! Figures a transport reports about its peers ([`super::Transport::peer_stats`]) and
//! what a node gathers from all its transports ([`crate::Node::transport_stats`]).

use crate::pid::Atom;

/// What one transport has carried to and from one peer since the connection to it
/// was made (a peer lost and found again starts from zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStats {
    /// The peer's node name.
    pub node: Atom,
    /// Bytes received from it (frames as read from the sockets).
    pub bytes_in: u64,
    /// Bytes queued to it (frames as appended to its connections' buffers).
    pub bytes_out: u64,
    /// Frames received from it: messages, calls, replies and control frames.
    pub messages_in: u64,
    /// Frames queued to it.
    pub messages_out: u64,
    /// Connections to it now open.
    pub connections: usize,
    /// Connections its pool holds when complete.
    pub pool_size: usize,
}

/// One transport's figures: its name, the registrar it uses, its peers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportStats {
    /// The transport ([`super::Transport::name`]).
    pub transport: &'static str,
    /// How it finds nodes ([`super::Transport::registrar`]).
    pub registrar: Option<String>,
    /// Its peers, by node name.
    pub peers: Vec<PeerStats>,
}
