//! What every meta process shares: its errors, the I/O tasks it owns (aborted, and
//! their sockets or children released, whenever the process ends), and how it learns
//! that its owner died.

use std::io;

use tokio::task::AbortHandle;

use ergo_runtime::{Actor, Context, Pid, Reason, SpawnError};

/// Why a meta process could not be created or used.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// Binding, connecting or starting the program failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// A protocol handshake failed (a WebSocket upgrade, an HTTP status).
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// The options are inconsistent (a header length outside the header, ...).
    #[error("bad options: {0}")]
    BadOptions(String),
    /// The meta process could not be spawned (its resources are already released).
    #[error("spawn failed: {0}")]
    Spawn(#[from] SpawnError),
    /// The meta process is gone (its socket is closed).
    #[error("the meta process is gone")]
    Closed,
    /// The meta process's mailbox is full.
    #[error("the meta process's mailbox is full")]
    Busy,
}

/// The I/O tasks of one meta process: aborted when it is dropped, so a meta's socket,
/// listener or child process is released on every path its process can end by
/// (owner death, an I/O error, a kill, the node stopping).
#[derive(Default)]
pub(crate) struct Tasks(Vec<AbortHandle>);

impl Tasks {
    /// Runs `fut` on tokio, owned by this set.
    pub(crate) fn spawn<F>(&mut self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.0.push(tokio::spawn(fut).abort_handle());
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Monitors each of `owners`: the meta process stops when one of them does.
pub(crate) fn watch<A: Actor>(ctx: &mut Context<A>, owners: &[Pid]) -> Result<(), Reason> {
    for owner in owners {
        ctx.monitor(*owner).map_err(Reason::error)?;
    }
    Ok(())
}
