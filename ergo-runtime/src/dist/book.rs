//! Per-peer bookkeeping of links and monitors that cross to another node (erts' dist
//! entry): kept by the core for every transport, so a lost peer fires each of them
//! exactly once, wherever it came from.

use parking_lot::Mutex;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::pid::{Atom, Pid, Ref};
use crate::process::core::Watcher;

/// What one peer holds through its connection.
#[derive(Default)]
pub(crate) struct Book {
    /// Links between a local and a remote process: (local, remote).
    pub(crate) links: FxHashSet<(Pid, Pid)>,
    /// Monitors local watchers hold on the peer's processes: ref → (watcher, target).
    pub(crate) watching: FxHashMap<Ref, (Watcher, Pid)>,
    /// Monitors the peer's processes hold on local ones: ref → local target.
    pub(crate) watched: FxHashMap<Ref, Pid>,
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

    pub(crate) fn add_watching(&self, reference: Ref, watcher: Watcher, target: Pid) {
        self.with(target.node(), |b| {
            b.watching.insert(reference, (watcher, target))
        });
    }

    pub(crate) fn take_watching(&self, peer: Atom, reference: Ref) -> Option<(Watcher, Pid)> {
        self.with_existing(peer, |b| b.watching.remove(&reference))
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
        self.0.lock().books.get(&peer).map_or((0, 0, 0), |b| {
            (b.links.len(), b.watching.len(), b.watched.len())
        })
    }
}
