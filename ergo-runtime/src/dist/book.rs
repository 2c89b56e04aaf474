//! Per-peer bookkeeping of links and monitors that cross to another node (erts' dist
//! entry): kept by the core for every transport, so a lost peer fires each of them
//! exactly once, wherever it came from.

use parking_lot::Mutex;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::pid::{Atom, Pid, Ref};
use crate::process::core::Watcher;

/// The local monitors of one remote process: one monitor on the wire stands for all.
pub(crate) struct Shared {
    /// The reference of the monitor on the wire.
    pub(crate) wire: Ref,
    /// Local reference → who is told.
    pub(crate) watchers: Watchers,
}

/// Who watches one remote process: most often one watcher, so no map for it.
pub(crate) enum Watchers {
    One(Ref, Watcher),
    Many(FxHashMap<Ref, Watcher>),
    None,
}

impl Watchers {
    fn insert(&mut self, reference: Ref, watcher: Watcher) {
        match std::mem::replace(self, Watchers::None) {
            Watchers::None => *self = Watchers::One(reference, watcher),
            Watchers::One(r, w) => {
                let mut map = FxHashMap::default();
                map.insert(r, w);
                map.insert(reference, watcher);
                *self = Watchers::Many(map);
            }
            Watchers::Many(mut map) => {
                map.insert(reference, watcher);
                *self = Watchers::Many(map);
            }
        }
    }

    fn remove(&mut self, reference: &Ref) {
        match self {
            Watchers::One(r, _) if r == reference => *self = Watchers::None,
            Watchers::Many(map) => {
                map.remove(reference);
                if map.is_empty() {
                    *self = Watchers::None;
                }
            }
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Watchers::None)
    }

    fn references(&self) -> Vec<Ref> {
        match self {
            Watchers::One(r, _) => vec![*r],
            Watchers::Many(map) => map.keys().copied().collect(),
            Watchers::None => Vec::new(),
        }
    }

    /// Every (reference, watcher).
    pub(crate) fn into_vec(self) -> Vec<(Ref, Watcher)> {
        match self {
            Watchers::One(r, w) => vec![(r, w)],
            Watchers::Many(map) => map.into_iter().collect(),
            Watchers::None => Vec::new(),
        }
    }
}

/// What one peer holds through its connection.
#[derive(Default)]
pub(crate) struct Book {
    /// Links between a local and a remote process: (local, remote).
    pub(crate) links: FxHashSet<(Pid, Pid)>,
    /// Links to the peer's processes through a transport that shares them: one link on
    /// the wire, held by this node (pid 0), for all the local processes linked to that
    /// target. Remote → its local linkers (empty once the last one ended: the wire link
    /// stays until the target ends, so a later local link costs nothing on the wire).
    pub(crate) shared_links: FxHashMap<Pid, Vec<Pid>>,
    /// Monitors local watchers hold on the peer's processes, by target: however many
    /// watch one process, one monitor crosses the network and one `Down` comes back.
    pub(crate) targets: FxHashMap<Pid, Shared>,
    /// Wire reference → target; local reference → target.
    wire_refs: FxHashMap<Ref, Pid>,
    local_refs: FxHashMap<Ref, Pid>,
    /// Monitors of names on the peer (each its own): ref → (watcher, target).
    pub(crate) named: FxHashMap<Ref, (Watcher, Pid)>,
    /// Monitors the peer's processes hold on local ones: ref → local target.
    pub(crate) watched: FxHashMap<Ref, Pid>,
}

impl Book {
    fn watching(&self) -> usize {
        self.named.len() + self.local_refs.len()
    }

    pub(crate) fn linked(&self) -> usize {
        self.links.len() + self.shared_links.values().map(Vec::len).sum::<usize>()
    }
}

/// A local process left a shared link.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LeftShared {
    /// It was not linked through the shared link.
    NotLinked,
    /// Others (or the kept wire link) remain.
    Stays,
    /// It was the last one and the wire link goes (an unlink): unlink on the wire.
    Last,
}

/// A monitor dropped locally, and the wire monitor to cancel if it was the last.
pub(crate) struct Dropped {
    /// The wire reference to demonitor, when no local watcher is left.
    pub(crate) cancel: Option<Ref>,
}

#[derive(Default)]
struct Peers {
    books: FxHashMap<Atom, Book>,
    /// How many times each peer has been lost (remote handles compare it to see
    /// whether their node went away since they were made).
    losses: FxHashMap<Atom, u64>,
}

/// Every peer's book, behind one lock (taken by link and monitor operations across
/// nodes, never by sends).
#[derive(Default)]
pub(crate) struct Books(Mutex<Peers>);

impl Books {
    fn with<R>(&self, peer: Atom, f: impl FnOnce(&mut Book) -> R) -> R {
        f(self.0.lock().books.entry(peer).or_default())
    }

    fn with_existing<R>(&self, peer: Atom, f: impl FnOnce(&mut Book) -> Option<R>) -> Option<R> {
        self.0.lock().books.get_mut(&peer).and_then(f)
    }

    pub(crate) fn add_link(&self, local: Pid, remote: Pid) {
        self.with(remote.node(), |b| b.links.insert((local, remote)));
    }

    /// Removes a link; true if it was there.
    pub(crate) fn remove_link(&self, local: Pid, remote: Pid) -> bool {
        self.with_existing(remote.node(), |b| {
            b.links.remove(&(local, remote)).then_some(())
        })
        .is_some()
    }

    /// Books a shared link from `local` to the remote `remote`; true if the link must
    /// cross the network (no wire link to `remote` yet).
    pub(crate) fn add_shared_link(&self, local: Pid, remote: Pid) -> bool {
        self.with(remote.node(), |b| match b.shared_links.get_mut(&remote) {
            Some(locals) => {
                if !locals.contains(&local) {
                    locals.push(local);
                }
                false
            }
            None => {
                b.shared_links.insert(remote, vec![local]);
                true
            }
        })
    }

    /// Drops `local` from the shared link to `remote`. With `unlinking`, the wire link
    /// goes with the last local one (`Last`); otherwise (its link fired) it stays.
    pub(crate) fn leave_shared_link(&self, local: Pid, remote: Pid, unlinking: bool) -> LeftShared {
        self.with_existing(remote.node(), |b| {
            let locals = b.shared_links.get_mut(&remote)?;
            let at = locals.iter().position(|l| *l == local)?;
            locals.swap_remove(at);
            if unlinking && locals.is_empty() {
                b.shared_links.remove(&remote);
                return Some(LeftShared::Last);
            }
            Some(LeftShared::Stays)
        })
        .unwrap_or(LeftShared::NotLinked)
    }

    /// The remote `remote` ended (its wire link fired): its local linkers.
    pub(crate) fn take_shared_link(&self, remote: Pid) -> Vec<Pid> {
        self.with_existing(remote.node(), |b| b.shared_links.remove(&remote))
            .unwrap_or_default()
    }

    /// Books a monitor of `target` (a pid, or a name's placeholder when `by_name`);
    /// the wire reference to monitor with if a monitor must cross the network (the
    /// first of a pid, every one of a name).
    pub(crate) fn add_watching(
        &self,
        reference: Ref,
        watcher: Watcher,
        target: Pid,
        by_name: bool,
    ) -> Option<Ref> {
        self.with(target.node(), |b| {
            if by_name {
                b.named.insert(reference, (watcher, target));
                return Some(reference);
            }
            b.local_refs.insert(reference, target);
            match b.targets.get_mut(&target) {
                Some(shared) => {
                    shared.watchers.insert(reference, watcher);
                    None
                }
                None => {
                    b.targets.insert(
                        target,
                        Shared {
                            wire: reference,
                            watchers: Watchers::One(reference, watcher),
                        },
                    );
                    b.wire_refs.insert(reference, target);
                    Some(reference)
                }
            }
        })
    }

    /// Drops the local monitor `reference` (a demonitor).
    pub(crate) fn take_watching(&self, peer: Atom, reference: Ref) -> Option<Dropped> {
        self.with_existing(peer, |b| {
            if b.named.remove(&reference).is_some() {
                return Some(Dropped {
                    cancel: Some(reference),
                });
            }
            let target = b.local_refs.remove(&reference)?;
            let shared = b.targets.get_mut(&target)?;
            shared.watchers.remove(&reference);
            let cancel = if shared.watchers.is_empty() {
                let wire = shared.wire;
                b.targets.remove(&target);
                b.wire_refs.remove(&wire);
                Some(wire)
            } else {
                None
            };
            Some(Dropped { cancel })
        })
    }

    /// The watchers a `Down` for the wire monitor `wire` is for, each with its own
    /// reference; empty if none is left (demonitored meanwhile).
    pub(crate) fn take_down(&self, peer: Atom, wire: Ref) -> Vec<(Ref, Watcher)> {
        self.with_existing(peer, |b| {
            if let Some((watcher, _)) = b.named.remove(&wire) {
                return Some(vec![(wire, watcher)]);
            }
            let target = b.wire_refs.remove(&wire)?;
            let shared = b.targets.remove(&target)?;
            for reference in shared.watchers.references() {
                b.local_refs.remove(&reference);
            }
            Some(shared.watchers.into_vec())
        })
        .unwrap_or_default()
    }

    pub(crate) fn add_watched(&self, peer: Atom, reference: Ref, local: Pid) {
        self.with(peer, |b| b.watched.insert(reference, local));
    }

    pub(crate) fn take_watched(&self, peer: Atom, reference: Ref) -> Option<Pid> {
        self.with_existing(peer, |b| b.watched.remove(&reference))
    }

    /// Takes a lost peer's whole book and counts the loss.
    pub(crate) fn take(&self, peer: Atom) -> Book {
        let mut peers = self.0.lock();
        *peers.losses.entry(peer).or_default() += 1;
        peers.books.remove(&peer).unwrap_or_default()
    }

    /// How many times `peer` has been lost.
    pub(crate) fn losses(&self, peer: Atom) -> u64 {
        self.0.lock().losses.get(&peer).copied().unwrap_or(0)
    }

    /// Links, outgoing and incoming monitors through `peer` (for inspection and tests).
    pub(crate) fn counts(&self, peer: Atom) -> (usize, usize, usize) {
        self.0
            .lock()
            .books
            .get(&peer)
            .map_or((0, 0, 0), |b| (b.linked(), b.watching(), b.watched.len()))
    }
}
