//! EPMD, the Erlang port mapper: the client (register a node, look one up, list names)
//! and a minimal server for 127.0.0.1 when no epmd is running.

mod client;
mod server;

pub use client::{names, port_please, register, NodeEntry, Registration};
pub use server::EpmdServer;

use thiserror::Error;

/// The port epmd listens on.
pub const EPMD_PORT: u16 = 4369;

/// Request and reply tags.
#[allow(missing_docs)]
pub mod op {
    pub const ALIVE2_REQ: u8 = 120;
    pub const ALIVE2_RESP: u8 = 121;
    pub const ALIVE2_X_RESP: u8 = 118;
    pub const PORT_PLEASE2_REQ: u8 = 122;
    pub const PORT2_RESP: u8 = 119;
    pub const NAMES_REQ: u8 = 110;
}

/// Node type of a visible node.
pub const NODE_TYPE_NORMAL: u8 = 77;
/// Node type of a hidden node.
pub const NODE_TYPE_HIDDEN: u8 = 72;

/// EPMD errors.
#[derive(Error, Debug)]
#[non_exhaustive]
pub enum EpmdError {
    /// Could not reach epmd, or the connection failed.
    #[error("epmd i/o: {0}")]
    Io(#[from] std::io::Error),
    /// epmd refused the registration (the name is taken).
    #[error("epmd refused to register {name:?} (result {result})")]
    Refused {
        /// The name.
        name: String,
        /// epmd's result code.
        result: u8,
    },
    /// epmd answered something unexpected.
    #[error("unexpected reply from epmd: {0}")]
    Protocol(&'static str),
}
