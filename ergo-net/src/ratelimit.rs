//! The network's rate-limited warnings go through the node's own limiter
//! ([`ergo_runtime::Node::log_limiter`]): of each kind, a burst of lines, then one now
//! and then; what was suppressed is reported when the kind logs again and when the
//! node stops. A peer or a stranger repeating the same mistake costs a bounded number
//! of log lines, however fast it repeats it, and leaves every other kind alone.

use ergo_runtime::Node;

/// The network's handle on its node's log limiter.
pub(crate) struct LogLimiter {
    node: Node,
}

impl LogLimiter {
    pub(crate) fn new(node: Node) -> LogLimiter {
        LogLimiter { node }
    }

    /// Runs `log` if this `kind` has a line left; otherwise counts it. (`_node` names
    /// the node in the lines `log` writes.)
    pub(crate) fn warn(&self, _node: &str, kind: &'static str, log: impl FnOnce()) {
        self.node.log_limiter().log(kind, log);
    }

    /// Reports what is still suppressed (when the network stops).
    pub(crate) fn flush(&self, _node: &str) {
        self.node.log_limiter().flush();
    }
}
