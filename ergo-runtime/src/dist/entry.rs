//! [`Dist`]: the entry points a transport calls — what arrives from a peer for a local
//! process, and a lost peer.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::mailbox::Priority;
use crate::node::Node;
use crate::pid::{Atom, Pid, Ref, Target};
use crate::process::core::{AnyProcess, Signal, Watcher};
use crate::reason::{Down, Exit, Reason};

use super::{RemoteError, Transport, WireReply};
pub use crate::sched::AfterTurn;

/// A local process held by a transport (see [`Dist::local_process`]).
pub struct LocalProcess(Arc<dyn AnyProcess>);

impl LocalProcess {
    /// Delivers an encoded message from another node, decoded with the process's own
    /// wire table (as [`Dist::deliver_wire`]).
    pub fn deliver_wire(&self, payload: &[u8], priority: Priority) -> Result<(), RemoteError> {
        self.0.clone().deliver_wire(payload, priority)
    }
}

/// A transport's view of its node. Cheap to clone.
#[derive(Clone)]
pub struct Dist {
    node: Node,
}

impl Dist {
    /// The entry points of `node`.
    pub fn new(node: &Node) -> Dist {
        Dist { node: node.clone() }
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Registers a transport: sends, calls, links and monitors to the nodes it
    /// [reaches](Transport::reaches) go through it.
    pub fn add_transport(&self, transport: Arc<dyn Transport>) {
        self.node.inner().transports.write().push(transport);
    }

    /// The pid `id` of this node's current incarnation.
    pub fn pid(&self, id: u64) -> Pid {
        self.node.pid_of(id)
    }

    /// True if `pid` is a process of this node's current incarnation.
    pub fn is_local(&self, pid: Pid) -> bool {
        self.node.is_local(pid)
    }

    /// A reference of this node with the number `id`.
    pub fn local_ref(&self, id: u64) -> Ref {
        Ref::new(self.node.name(), self.node.creation(), id)
    }

    /// A reference made by another node (`node`, incarnation `creation`), as it
    /// travels in frames.
    pub fn remote_ref(&self, node: Atom, creation: u32, id: u64) -> Ref {
        Ref::new(node, creation, id)
    }

    /// The live local process `target` names (a pid of this incarnation, a registered
    /// name or an alias).
    pub fn resolve(&self, target: Target) -> Option<Pid> {
        let pid = self.node.resolve(target)?;
        self.node.process(pid).map(|_| pid)
    }

    /// The process registered as `name`: its pid and actor type name.
    pub fn lookup(&self, name: Atom) -> Option<(Pid, &'static str)> {
        let pid = self.node.whereis(name)?;
        self.node.process(pid).map(|p| (pid, p.kind()))
    }

    /// Runs `work` once the current process turn ends, or once the current
    /// [`Dist::batch`] ends; false (nothing queued) outside both, where the caller must
    /// do the work itself. A transport uses it to write what a turn appended to a
    /// connection's buffer in one system call, from the thread that appended it.
    pub fn after_turn(work: Arc<dyn AfterTurn>) -> bool {
        crate::sched::after_turn(work)
    }

    /// Runs `f` as one batch of deliveries (a transport's reader decoding what one read
    /// returned), and work deferred with [`Dist::after_turn`] at its end.
    ///
    /// Hand-off: on a worker of a multi-threaded tokio runtime, in a batch that
    /// carries a request or an answer ([`Dist::exchange`]), up to a few processes the
    /// batch wins from idle are kept, and their turns run in a task of their own
    /// on the same worker once the batch ends (next in the worker's queue, as soon as
    /// the reader waits for its socket), instead of waking a scheduler thread: a
    /// request and its reply cost no thread hand-off. A handler that runs long there
    /// holds that worker for one turn (never the reader, which goes on on another
    /// worker), and its process then runs on the scheduler threads for a while. Other
    /// processes are queued on the schedulers at once, a sleeping scheduler thread
    /// woken for the first and at the end only. Call it from a tokio task, holding no
    /// lock.
    pub fn batch<R>(f: impl FnOnce() -> R) -> R {
        crate::sched::batch(f)
    }

    /// At the end of a [`Dist::batch`]'s work: the reader reads the socket `fd` and
    /// handled `frames` frames in the batch. A batch of more than 16 frames is taken
    /// for part of a stream: the processes it wakes go to the scheduler threads (the
    /// reader goes on reading meanwhile). Otherwise, if the batch hands processes off
    /// and their turns write to a connection ([`Dist::sent`]), the thread that runs
    /// them watches `fd` for up to about a round trip
    /// (50 µs, yielding its core between looks) before it lets its worker sleep, so
    /// that the reply to what the turns sent finds it awake.
    pub fn reading_from(fd: Option<i32>, frames: u64) {
        crate::sched::reading_from(fd, frames)
    }

    /// Inside a [`Dist::batch`]: the batch carries a request, or the answer to one
    /// (a transport's reader calls it as it decodes them). Only such a batch hands
    /// processes off (see [`Dist::batch`]); a batch of plain messages leaves them to
    /// the scheduler threads, so that reading and handling overlap.
    #[inline]
    pub fn exchange() {
        crate::sched::exchange()
    }

    /// The current thread wrote to a connection's socket itself (a transport's write
    /// path calls it; not when it leaves the bytes to a writer task, which has yet to
    /// run):
    /// handed-off turns that sent something make their thread wait briefly for the
    /// answer (see [`Dist::reading_from`]); turns that only took messages do not.
    #[inline]
    pub fn sent() {
        crate::sched::sent()
    }

    /// The local process `pid` (of this incarnation), held for a run of deliveries to it
    /// (a transport's reader keeps the last one of a batch instead of looking it up per
    /// message). A process that ends meanwhile refuses them with `NoProcess`.
    pub fn local_process(&self, pid: Pid) -> Option<LocalProcess> {
        self.node.process(pid).map(LocalProcess)
    }

    /// Resolves `target` and delivers an encoded message to it (one process-table
    /// lookup); `NoProcess` if it names no live process.
    pub fn deliver_wire_to(
        &self,
        target: Target,
        payload: &[u8],
        priority: Priority,
    ) -> Result<(), RemoteError> {
        let pid = self.node.resolve(target).ok_or(RemoteError::NoProcess)?;
        self.deliver_wire(pid, payload, priority)
    }

    /// Delivers an encoded message from another node, decoded with the target
    /// process's own wire table.
    pub fn deliver_wire(
        &self,
        to: Pid,
        payload: &[u8],
        priority: Priority,
    ) -> Result<(), RemoteError> {
        match self.node.process(to) {
            Some(process) => process.deliver_wire(payload, priority),
            None => Err(RemoteError::NoProcess),
        }
    }

    /// Delivers an untyped message of the registered type named `kind` (see
    /// `ergo::register_message`) from another node.
    pub fn deliver_wire_any(
        &self,
        to: Pid,
        kind: &str,
        payload: &[u8],
        priority: Priority,
    ) -> Result<(), RemoteError> {
        match self.node.process(to) {
            Some(process) => process.deliver_wire_any(kind, payload, priority),
            None => Err(RemoteError::NoProcess),
        }
    }

    /// Delivers an encoded request from another node; the encoded reply (or why there
    /// is none) goes to `reply`.
    pub fn call_wire(
        &self,
        to: Pid,
        payload: &[u8],
        priority: Priority,
        reply: WireReply,
    ) -> Result<(), RemoteError> {
        match self.node.process(to) {
            Some(process) => process.call_wire(payload, priority, reply),
            None => Err(RemoteError::NoProcess),
        }
    }

    /// An exit signal (not a link firing) from the remote `from` to the local `to`.
    /// `Reason::Kill` cannot be trapped. A link between them stays.
    pub fn deliver_exit(&self, from: Pid, to: Pid, reason: Reason) -> bool {
        let Some(process) = self.node.process(to) else {
            return false;
        };
        let signal = if reason == Reason::Kill {
            Signal::Kill
        } else {
            Signal::Exit(Exit { from, reason })
        };
        process.signal(signal)
    }

    /// The remote `from`, linked to the local `to`, ended with `reason`: drops the link
    /// and delivers the exit (always trappable: a linked process killed elsewhere
    /// arrives as `Kill`, Erlang's `killed`). Ignored if they are not linked.
    ///
    /// Through a transport that [shares links](super::Transport::shares_links): an exit
    /// for this node's pid 0 is the end of a remote process that local ones are linked
    /// to, and fans out to each of them; an exit from a remote process to a local one
    /// that is linked to it through its node's shared link is delivered as a link exit
    /// (the local one stays linked to the shared link of that node).
    pub fn deliver_link_exit(&self, from: Pid, to: Pid, reason: Reason) -> bool {
        let books = &self.node.inner().books;
        if to.id() == 0 && self.node.is_local(to) {
            let linked = books.take_shared_link(from);
            let mut delivered = false;
            for local in linked {
                delivered |= self.link_fired(local, &[from], reason.clone());
            }
            return delivered;
        }
        if books.remove_link(to, from) {
            return self.link_fired(to, &[from], reason);
        }
        let shared = self
            .node
            .transport_for(from.node())
            .is_some_and(|t| t.shares_links());
        shared && self.signal_link_exit(to, from, reason)
    }

    /// A link exit from a process linked through its node's shared link: delivered
    /// (trappable), the link to that node's pid 0 kept.
    fn signal_link_exit(&self, local: Pid, from: Pid, reason: Reason) -> bool {
        self.node
            .process(local)
            .is_some_and(|p| p.signal(Signal::Exit(Exit { from, reason })))
    }

    fn link_fired(&self, local: Pid, remotes: &[Pid], reason: Reason) -> bool {
        let Some(process) = self.node.process(local) else {
            return false;
        };
        let remotes_set: FxHashSet<Pid> = remotes.iter().copied().collect();
        process.core().with_live_side(|side| {
            side.links.retain(|l| !remotes_set.contains(l));
        });
        let mut delivered = false;
        for &from in remotes {
            let exit = Exit {
                from,
                reason: reason.clone(),
            };
            delivered |= process.clone().signal(Signal::Exit(exit));
        }
        delivered
    }

    /// The remote `remote` links to the local `local`: adds the local half. False if
    /// `local` is not alive (the transport then answers with a `NoProcess` exit).
    pub fn accept_link(&self, local: Pid, remote: Pid) -> bool {
        let added = self.node.process(local).and_then(|p| {
            p.core().with_live_side(|side| {
                if !side.links.contains(&remote) {
                    side.links.push(remote);
                }
            })
        });
        if added.is_some() {
            self.node.inner().books.add_link(local, remote);
        }
        added.is_some()
    }

    /// The remote `remote` dropped its link to `local`.
    pub fn accept_unlink(&self, local: Pid, remote: Pid) {
        self.node.inner().books.remove_link(local, remote);
        if let Some(p) = self.node.process(local) {
            p.core()
                .with_live_side(|side| side.links.retain(|l| *l != remote));
        }
    }

    /// The remote `watcher` monitors a local process (by pid or registered name) under
    /// `reference`. Returns the monitored pid, or `None` if there is no such live
    /// process (the transport then answers with a `Down` carrying `NoProcess`).
    pub fn accept_monitor(&self, target: Target, watcher: Pid, reference: Ref) -> Option<Pid> {
        let name = match target {
            Target::Name(name) => Some(name),
            _ => None,
        };
        let pid = self.node.resolve(target)?;
        let books = &self.node.inner().books;
        // Booked first, so a Down racing with us finds it.
        books.add_watched(watcher.node(), reference, pid);
        let added = self.node.process(pid).and_then(|p| {
            p.core().with_live_side(|side| {
                side.monitors.insert(
                    reference,
                    crate::process::core::Monitor {
                        watcher: Watcher::Process(watcher),
                        name,
                    },
                );
            })
        });
        if added.is_none() {
            books.take_watched(watcher.node(), reference);
            return None;
        }
        Some(pid)
    }

    /// The remote `watcher` dropped its monitor `reference` of a local process.
    pub fn accept_demonitor(&self, watcher: Pid, reference: Ref) {
        if let Some(target) = self
            .node
            .inner()
            .books
            .take_watched(watcher.node(), reference)
        {
            if let Some(p) = self.node.process(target) {
                p.core()
                    .with_live_side(|side| side.monitors.remove(&reference));
            }
        }
    }

    /// A `Down` for a monitor a local watcher holds on a remote process (the remote
    /// process's node is `down.pid.node()`). Dropped if the watcher demonitored
    /// meanwhile: each monitor fires exactly once.
    pub fn deliver_down(&self, down: Down) -> bool {
        let peer = down.pid.node();
        let watchers = self.node.inner().books.take_down(peer, down.monitor);
        let delivered = !watchers.is_empty();
        for (reference, watcher) in watchers {
            let down = Down {
                monitor: reference,
                ..down.clone()
            };
            crate::process::links::deliver_down(&self.node, watcher, down);
        }
        delivered
    }

    /// The connection to `peer` is gone: every link through it fires with
    /// `NoConnection`, every monitor of its processes delivers a `Down` with
    /// `NoConnection`, every monitor its processes held on ours is dropped — each
    /// exactly once, in time linear in their number.
    pub fn connection_lost(&self, peer: Atom) {
        let book = self.node.inner().books.take(peer);
        let watched = book.watched.len();
        let links = book.linked();
        let mut links_by_local: FxHashMap<Pid, Vec<Pid>> = FxHashMap::default();
        for (local, remote) in book.links {
            links_by_local.entry(local).or_default().push(remote);
        }
        for (remote, locals) in book.shared_links {
            for local in locals {
                links_by_local.entry(local).or_default().push(remote);
            }
        }
        for (local, remotes) in links_by_local {
            self.link_fired(local, &remotes, Reason::NoConnection);
        }
        let mut watching = 0;
        let named = book.named.into_iter().map(|(r, (w, t))| (r, w, t));
        let shared = book.targets.into_iter().flat_map(|(target, shared)| {
            shared
                .watchers
                .into_vec()
                .into_iter()
                .map(move |(r, w)| (r, w, target))
        });
        for (reference, watcher, target) in named.chain(shared) {
            watching += 1;
            let down = Down {
                monitor: reference,
                pid: target,
                name: None,
                reason: Reason::NoConnection,
            };
            crate::process::links::deliver_down(&self.node, watcher, down);
        }
        let mut watched_by_local: FxHashMap<Pid, FxHashSet<Ref>> = FxHashMap::default();
        for (reference, local) in book.watched {
            watched_by_local.entry(local).or_default().insert(reference);
        }
        for (local, references) in watched_by_local {
            if let Some(p) = self.node.process(local) {
                p.core().with_live_side(|side| {
                    side.monitors.retain(|r, _| !references.contains(r));
                });
            }
        }
        if links + watching + watched > 0 {
            tracing::debug!(node = %self.node.name(), %peer, links, watching, watched, "peer lost: links and monitors fired");
        }
    }

    /// Links, outgoing monitors and incoming monitors booked through `peer` now.
    pub fn booked(&self, peer: Atom) -> (usize, usize, usize) {
        self.node.inner().books.counts(peer)
    }

    /// The compression threshold the current process set for its remote sends, if any.
    pub fn sender_compression_threshold() -> Option<usize> {
        crate::process::current::with(|c| c.compress_above()).flatten()
    }
}
