//! The last 60 seconds of the node, sampled once a second, for the overview's charts.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ergo_runtime::Node;
use parking_lot::Mutex;
use serde::Serialize;

use crate::stats::{resident_memory, Totals};

/// Samples kept.
pub const SAMPLES: usize = 60;

/// One sample of the node.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Sample {
    /// Seconds since the node started.
    pub uptime: f64,
    /// Live processes.
    pub processes: usize,
    /// Resident memory in bytes.
    pub memory: u64,
    /// Messages taken from mailboxes, over the live processes.
    pub messages_in: u64,
    /// Messages sent, over the live processes.
    pub messages_out: u64,
    /// Messages waiting.
    pub queued: u64,
}

impl Sample {
    /// A sample taken now.
    pub fn take(node: &Node) -> Sample {
        let list = node.process_summaries();
        let totals = Totals::of(&list);
        Sample {
            uptime: node.info().uptime.as_secs_f64(),
            processes: list.len(),
            memory: resident_memory(),
            messages_in: totals.messages_in,
            messages_out: totals.messages_out,
            queued: totals.queued,
        }
    }
}

/// The samples of the last minute.
#[derive(Default)]
pub(super) struct History {
    samples: Mutex<VecDeque<Sample>>,
}

impl History {
    /// Starts sampling `node` once a second until the node stops or the history is
    /// dropped.
    pub(super) fn start(node: &Node) -> Arc<History> {
        let history = Arc::new(History::default());
        tokio::spawn(sample(node.clone(), Arc::downgrade(&history)));
        history
    }

    pub(super) fn samples(&self) -> Vec<Sample> {
        self.samples.lock().iter().copied().collect()
    }
}

async fn sample(node: Node, history: Weak<History>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if node.is_stopping() {
            return;
        }
        let Some(history) = history.upgrade() else {
            return;
        };
        let s = Sample::take(&node);
        let mut samples = history.samples.lock();
        if samples.len() == SAMPLES {
            samples.pop_front();
        }
        samples.push_back(s);
    }
}
