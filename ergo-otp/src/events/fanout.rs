//! The subscribers of one event on this node, kept by actor type in contiguous vectors
//! of typed handles: a publish is a tight loop of typed sends (no allocation, no
//! indirection per subscriber, the next mailboxes prefetched), and an index by pid
//! finds a subscriber to remove.

use std::any::{Any, TypeId};
use std::marker::PhantomData;

use ergo_runtime::{Actor, ActorRef, Handles, Pid};
use rustc_hash::FxHashMap;

use super::Event;

/// How many handles ahead of its send a fan-out prefetches a mailbox.
const AHEAD: usize = 8;

/// One subscriber as it was added: its handle and whether it is linked.
pub(crate) struct Subscription<A: Actor> {
    pub(crate) actor: ActorRef<A>,
    pub(crate) linked: bool,
}

/// The subscribers of one actor type `A` to an event carrying `M`.
struct Typed<A: Actor, M> {
    members: Vec<Subscription<A>>,
    _type: PhantomData<fn(M)>,
}

/// A [`Typed`] with its types erased.
trait Group: Send + Sync {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn len(&self) -> usize;
    /// Sends `event` (an `Event<M>`) to every member; how many took it.
    fn deliver(&self, event: &dyn Any) -> u64;
    /// Removes the member at `slot` (the last one moves there): whether it was linked,
    /// and the pid of the one that moved.
    fn swap_remove(&mut self, slot: usize) -> (bool, Option<Pid>);
    /// Every member: (pid, linked).
    fn members(&self) -> Vec<(Pid, bool)>;
}

impl<A, M> Group for Typed<A, M>
where
    A: Handles<Event<M>>,
    M: Clone + Send + 'static,
{
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn len(&self) -> usize {
        self.members.len()
    }

    fn deliver(&self, event: &dyn Any) -> u64 {
        let Some(event) = event.downcast_ref::<Event<M>>() else {
            return 0;
        };
        let mut delivered = 0;
        for (i, member) in self.members.iter().enumerate() {
            if let Some(ahead) = self.members.get(i + AHEAD) {
                ergo_runtime::prefetch(&ahead.actor);
            }
            // A subscriber that ended meanwhile is dropped by the exit hook.
            delivered += u64::from(member.actor.send(event.clone()).is_ok());
        }
        delivered
    }

    fn swap_remove(&mut self, slot: usize) -> (bool, Option<Pid>) {
        let removed = self.members.swap_remove(slot);
        let moved = self.members.get(slot).map(|m| m.actor.pid());
        (removed.linked, moved)
    }

    fn members(&self) -> Vec<(Pid, bool)> {
        self.members
            .iter()
            .map(|m| (m.actor.pid(), m.linked))
            .collect()
    }
}

/// The subscribers of one event.
#[derive(Default)]
pub(crate) struct Fanout {
    /// One group per subscribing actor type, with that type's id.
    groups: Vec<(TypeId, Box<dyn Group>)>,
    /// Subscriber → (group, slot).
    index: FxHashMap<Pid, (u32, u32)>,
}

impl Fanout {
    /// How many subscribe.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Adds a subscriber (or changes how it is subscribed); true if it is new.
    pub(crate) fn insert<A, M>(&mut self, subscription: Subscription<A>) -> bool
    where
        A: Handles<Event<M>>,
        M: Clone + Send + 'static,
    {
        let pid = subscription.actor.pid();
        let new = self.remove(pid).is_none();
        let type_id = TypeId::of::<Typed<A, M>>();
        let group = match self.groups.iter().position(|(t, _)| *t == type_id) {
            Some(g) => g,
            None => {
                let typed: Typed<A, M> = Typed {
                    members: Vec::new(),
                    _type: PhantomData,
                };
                self.groups.push((type_id, Box::new(typed)));
                self.groups.len() - 1
            }
        };
        let typed = self.groups[group]
            .1
            .as_any_mut()
            .downcast_mut::<Typed<A, M>>()
            .expect("the group of its own type");
        typed.members.push(subscription);
        let slot = typed.members.len() - 1;
        self.index.insert(pid, (group as u32, slot as u32));
        new
    }

    /// Removes a subscriber; whether it was linked, if it was there.
    pub(crate) fn remove(&mut self, pid: Pid) -> Option<bool> {
        let (group, slot) = self.index.remove(&pid)?;
        let (linked, moved) = self.groups[group as usize].1.swap_remove(slot as usize);
        if let Some(moved) = moved {
            self.index.insert(moved, (group, slot));
        }
        Some(linked)
    }

    /// Sends `event` (an `Event<M>`) to every subscriber; how many took it.
    pub(crate) fn deliver(&self, event: &dyn Any) -> u64 {
        self.groups.iter().map(|(_, g)| g.deliver(event)).sum()
    }

    /// Every subscriber: (pid, linked).
    pub(crate) fn members(&self) -> Vec<(Pid, bool)> {
        let mut all = Vec::with_capacity(self.len());
        for (_, group) in &self.groups {
            if group.len() > 0 {
                all.extend(group.members());
            }
        }
        all
    }
}
