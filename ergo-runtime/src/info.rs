//! What inspection reports: [`ProcessInfo`] and [`NodeInfo`].

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
}

impl ProcessInfo {
    pub(crate) fn of(node: &Node, process: &dyn AnyProcess) -> ProcessInfo {
        let core = process.core();
        let (run, queue_lengths, messages_in) = process.mailbox_stats();
        let state = match run {
            state::INIT => ProcessState::Init,
            state::IDLE | state::SCHEDULED if core.has_flag(flag::AWAITING) => {
                ProcessState::Awaiting
            }
            state::IDLE => ProcessState::Idle,
            state::SCHEDULED => ProcessState::Scheduled,
            state::RUNNING => ProcessState::Running,
            _ => ProcessState::Terminated,
        };
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
        };
        if let Some(side) = core.side() {
            let side = side.lock();
            info.name = side.name;
            info.links = side.links.clone();
            info.monitored_by = side.monitors.keys().copied().collect();
            info.monitors = side.watching.iter().map(|(r, p)| (*r, *p)).collect();
            info.aliases = side.aliases.clone();
            info.parent = side.parent;
        }
        info
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
