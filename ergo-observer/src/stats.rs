//! Figures several pages share: totals over a process list, the resident memory.

use ergo_runtime::ProcessSummary;

/// Sums over a process list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages taken from mailboxes.
    pub messages_in: u64,
    /// Messages sent.
    pub messages_out: u64,
    /// Messages waiting.
    pub queued: u64,
}

impl Totals {
    /// The sums over `list`.
    pub fn of(list: &[ProcessSummary]) -> Totals {
        list.iter().fold(Totals::default(), |t, p| Totals {
            messages_in: t.messages_in + p.messages_in,
            messages_out: t.messages_out + p.messages_out,
            queued: t.queued + p.queue_length(),
        })
    }
}

/// The resident memory of this OS process in bytes (from `/proc/self/statm`; 0 where
/// there is no such file).
pub fn resident_memory() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
