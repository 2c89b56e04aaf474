//! What inspection reports: [`ProcessInfo`], [`ProcessSummary`] and [`NodeInfo`].

use std::time::Duration;

use crate::mailbox::state;
use crate::node::Node;
use crate::pid::{Alias, Atom, Pid, Ref};
use crate::process::core::{flag, AnyProcess};

/// What a process is doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProcessState {
    /// Its init is running.
    Init,
    /// Nothing to do.
    Idle,
    /// Waiting for a scheduler thread.
    Scheduled,
    /// Handling a message.
    Running,
    /// An async handler is waiting for something.
    Awaiting,
    /// Terminated.
    Terminated,
}

/// A snapshot of one process.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: Pid,
    /// Its registered name.
    pub name: Option<Atom>,
    /// The actor type.
    pub kind: &'static str,
    /// What it is doing.
    pub state: ProcessState,
    /// Messages waiting: urgent, system, main, log.
    pub queue_lengths: [u32; 4],
    /// Messages taken from its mailbox.
    pub messages_in: u64,
    /// Messages it sent.
    pub messages_out: u64,
    /// Linked processes.
    pub links: Vec<Pid>,
    /// Monitors others hold on it.
    pub monitored_by: Vec<Ref>,
    /// Monitors it holds on others: (reference, target).
    pub monitors: Vec<(Ref, Pid)>,
    /// Its aliases.
    pub aliases: Vec<Alias>,
    /// The process that spawned it.
    pub parent: Option<Pid>,
    /// Whether it traps exits.
    pub trap_exit: bool,
    /// Time since it was spawned.
    pub uptime: Duration,
    /// Messages handled plus messages sent: the scheduler's reductions.
    pub reductions: u64,
    /// Time spent running while run-time accounting was on
    /// ([`Node::set_run_time_accounting`]).
    pub run_time: Duration,
    /// Its process environment, sorted by key.
    pub env: Vec<(String, String)>,
    /// How long the oldest message in its mailbox has waited, while latency tracking
    /// is on ([`Node::set_latency_tracking`]); zero when nothing stamped waits.
    pub latency: Duration,
}

impl ProcessInfo {
    pub(crate) fn of(node: &Node, process: &dyn AnyProcess) -> ProcessInfo {
        let core = process.core();
        let (run, queue_lengths, messages_in) = process.mailbox_stats();
        let state = process_state(run, core.has_flag(flag::AWAITING));
        let mut info = ProcessInfo {
            pid: core.pid(),
            name: None,
            kind: process.kind(),
            state,
            queue_lengths,
            messages_in,
            messages_out: core.sent(),
            links: Vec::new(),
            monitored_by: Vec::new(),
            monitors: Vec::new(),
            aliases: Vec::new(),
            parent: None,
            trap_exit: core.has_flag(flag::TRAP_EXIT),
            uptime: node
                .inner()
                .started
                .elapsed()
                .saturating_sub(Duration::from_nanos(core.born)),
            reductions: messages_in + core.sent(),
            run_time: Duration::from_nanos(core.run_time()),
            env: Vec::new(),
            latency: latency(node, process),
        };
        if let Some(side) = core.side() {
            let side = side.lock();
            info.name = side.name;
            info.links = side.links.clone();
            info.monitored_by = side.monitors.keys().copied().collect();
            info.monitors = side.watching.iter().map(|(r, p)| (*r, *p)).collect();
            info.aliases = side.aliases.clone();
            info.parent = side.parent;
            info.env = side
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            info.env.sort();
        }
        info
    }
}

/// How long the oldest stamped message of `process` has waited (a clock read only if
/// one waits).
fn latency(node: &Node, process: &dyn AnyProcess) -> Duration {
    let since = process.oldest_stamps();
    if since == [0; 4] {
        return Duration::ZERO;
    }
    crate::mailbox::latency::oldest(node.inner().stamp_now(), since)
}

fn process_state(run: u8, awaiting: bool) -> ProcessState {
    match run {
        state::INIT => ProcessState::Init,
        state::IDLE | state::SCHEDULED if awaiting => ProcessState::Awaiting,
        state::IDLE => ProcessState::Idle,
        state::SCHEDULED => ProcessState::Scheduled,
        state::RUNNING => ProcessState::Running,
        _ => ProcessState::Terminated,
    }
}

/// The light snapshot of one process a process list shows
/// ([`Node::process_summaries`]): no links, monitors or aliases, nothing allocated.
#[derive(Clone, Copy, Debug)]
pub struct ProcessSummary {
    /// Its pid.
    pub pid: Pid,
    /// Its registered name.
    pub name: Option<Atom>,
    /// The actor type.
    pub kind: &'static str,
    /// What it is doing.
    pub state: ProcessState,
    /// Messages waiting: urgent, system, main, log.
    pub queue_lengths: [u32; 4],
    /// Messages taken from its mailbox.
    pub messages_in: u64,
    /// Messages it sent.
    pub messages_out: u64,
    /// Time spent running while run-time accounting was on.
    pub run_time: Duration,
    /// How long the oldest message in its mailbox has waited, while latency tracking
    /// is on ([`Node::set_latency_tracking`]).
    pub latency: Duration,
    /// The process that spawned it.
    pub parent: Option<Pid>,
}

impl ProcessSummary {
    pub(crate) fn of(node: &Node, process: &dyn AnyProcess) -> ProcessSummary {
        let core = process.core();
        let (run, queue_lengths, messages_in) = process.mailbox_stats();
        let (name, parent) = match core.side() {
            Some(side) => {
                let side = side.lock();
                (side.name, side.parent)
            }
            None => (None, None),
        };
        ProcessSummary {
            pid: core.pid(),
            name,
            kind: process.kind(),
            state: process_state(run, core.has_flag(flag::AWAITING)),
            queue_lengths,
            messages_in,
            messages_out: core.sent(),
            run_time: Duration::from_nanos(core.run_time()),
            latency: latency(node, process),
            parent,
        }
    }

    /// Messages waiting, over all queues.
    pub fn queue_length(&self) -> u64 {
        self.queue_lengths.iter().map(|&n| u64::from(n)).sum()
    }

    /// Messages handled plus messages sent: the scheduler's reductions.
    pub fn reductions(&self) -> u64 {
        self.messages_in + self.messages_out
    }
}

/// A snapshot of the node.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// `name@host`.
    pub name: Atom,
    /// Live processes.
    pub processes: usize,
    /// Registered names.
    pub registered_names: usize,
    /// Live aliases.
    pub aliases: usize,
    /// Time since start.
    pub uptime: Duration,
}
