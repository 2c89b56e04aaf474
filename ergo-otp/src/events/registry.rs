//! The node's events (a node extension): who produces each, who subscribes, what is
//! buffered; the task that ends an event with its producer. Each event has its own
//! lock, under which a publish fans out; subscribers that end are dropped by the node's
//! exit hook (no monitor per subscriber).

use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use ergo_runtime::{Atom, Node, Pid, Reason};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use super::fanout::{Fanout, Subscription};
use super::relay::{EventRelay, RelayMessage};
use super::{Event, EventDemand, EventDown, EventError, EventOptions};
use ergo_runtime::Handles;

struct Entry {
    /// Tells this registration from a later one under the same name.
    generation: u64,
    owner: Pid,
    type_id: TypeId,
    type_name: &'static str,
    open: bool,
    notify: bool,
    capacity: usize,
    /// The last values (of the event's type), oldest first.
    buffer: VecDeque<Box<dyn Any + Send>>,
    subscribers: Fanout,
    /// Other nodes subscribed through their relays: relay pid (its node is the key).
    remote: FxHashMap<Atom, Pid>,
    published: u64,
    delivered: u64,
    /// Set when it ends (a publisher holding it meanwhile finds it ended).
    ended: bool,
    /// Values sent to each subscribing node (once per publish, whatever its number of
    /// subscribers).
    sent: FxHashMap<Atom, u64>,
}

impl Entry {
    fn has_subscribers(&self) -> bool {
        !self.subscribers.is_empty() || !self.remote.is_empty()
    }
}

#[derive(Default)]
struct Registry {
    /// Each event behind its own lock; this one is held only to find or change the set.
    events: Mutex<FxHashMap<Atom, Arc<Mutex<Entry>>>>,
    next: AtomicU64,
}

fn registry(node: &Node) -> Arc<Registry> {
    node.extension_or_insert(Registry::default)
}

/// The event `name`, if registered.
fn find(node: &Node, name: Atom) -> Option<Arc<Mutex<Entry>>> {
    registry(node).events.lock().get(&name).cloned()
}

/// The event `name` of `generation`, if it is still registered.
fn find_generation(node: &Node, name: Atom, generation: u64) -> Option<Arc<Mutex<Entry>>> {
    find(node, name).filter(|e| e.lock().generation == generation)
}

/// Publishes to one event; cheap to clone. Only values of the event's type.
pub struct EventToken<M> {
    node: Node,
    name: Atom,
    generation: u64,
    _type: PhantomData<fn(M)>,
}

impl<M> Clone for EventToken<M> {
    fn clone(&self) -> Self {
        EventToken {
            node: self.node.clone(),
            name: self.name,
            generation: self.generation,
            _type: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for EventToken<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventToken({})", self.name)
    }
}

impl<M: Clone + Send + 'static> EventToken<M> {
    /// The event's name.
    pub fn name(&self) -> Atom {
        self.name
    }

    /// Which registration of the name this token publishes to.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Sends `message` to every subscriber (and keeps it, if the event buffers).
    pub fn publish(&self, message: M) -> Result<(), EventError> {
        publish(&self.node, self.name, Some(self.generation), message)
    }

    /// Ends the event: monitoring subscribers get an `EventDown`, linked ones an exit
    /// signal, with [`unregistered`] as the reason (Go Ergo's `ErrUnregistered`).
    pub fn unregister(self) -> Result<(), EventError> {
        end(&self.node, self.name, self.generation, unregistered())
            .then_some(())
            .ok_or(EventError::Ended(self.name))
    }
}

pub(super) fn register<M: Clone + Send + 'static>(
    node: &Node,
    name: Atom,
    owner: Pid,
    options: EventOptions,
    notify: bool,
) -> Result<EventToken<M>, EventError> {
    // The node itself (pid 0) produces node-level events: they end only when
    // unregistered.
    let by_process = owner.id() != 0;
    let registry = registry(node);
    let generation = registry.next.fetch_add(1, Ordering::Relaxed);
    {
        let mut events = registry.events.lock();
        if events.contains_key(&name) {
            return Err(EventError::Taken(name));
        }
        events.insert(
            name,
            Arc::new(Mutex::new(Entry {
                generation,
                owner,
                type_id: TypeId::of::<M>(),
                type_name: std::any::type_name::<M>(),
                open: options.open,
                notify,
                capacity: options.buffer,
                buffer: VecDeque::new(),
                subscribers: Fanout::default(),
                remote: FxHashMap::default(),
                published: 0,
                delivered: 0,
                ended: false,
                sent: FxHashMap::default(),
            })),
        );
    }
    // A detached node (a unit-test harness's) runs no relay and no monitor task: its
    // events end when unregistered.
    let token = EventToken {
        node: node.clone(),
        name,
        generation,
        _type: PhantomData,
    };
    if node.is_detached() {
        return Ok(token);
    }
    // Other nodes subscribe through this node's relay, which must be registered by the
    // time this returns (a subscriber on another node may ask for it at once): its
    // spawn is polled here once (the relay's init does not wait), and finished by a
    // task only if it has to wait.
    let relay_node = node.clone();
    let mut start = Box::pin(async move {
        super::relay::local_relay(&relay_node).await;
    });
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    if start.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(start);
    }
    // The event ends with its producer.
    match node.monitor(owner) {
        _ if !by_process => {}
        Ok(monitor) => {
            let node = node.clone();
            tokio::spawn(async move {
                let down = monitor.down().await;
                end(&node, name, generation, down.reason);
            });
        }
        Err(_) => {
            end(node, name, generation, Reason::NoProcess);
        }
    }
    Ok(token)
}

fn check_type<M: 'static>(name: Atom, entry: &Entry) -> Result<(), EventError> {
    if entry.type_id == TypeId::of::<M>() {
        Ok(())
    } else {
        Err(EventError::WrongType {
            name,
            expected: std::any::type_name::<M>(),
            actual: entry.type_name,
        })
    }
}

pub(super) fn subscribe<A, M>(
    node: &Node,
    name: Atom,
    subscription: Subscription<A>,
) -> Result<Vec<M>, EventError>
where
    A: Handles<Event<M>>,
    M: Clone + Send + 'static,
{
    super::watch_exits(node);
    if name == Atom::new(super::CLUSTER_EVENT) {
        super::cluster::ensure(node);
    }
    let subscriber = subscription.actor.pid();
    // A handle to no process of this node's table (a test harness's stand-in) cannot
    // be watched for its end: it stays until it unsubscribes.
    let watchable = subscription.actor.is_local();
    let entry = find(node, name).ok_or(EventError::Unknown(name))?;
    let (buffered, demand, generation) = {
        let mut entry = entry.lock();
        if entry.ended {
            return Err(EventError::Unknown(name));
        }
        check_type::<M>(name, &entry)?;
        let first = !entry.has_subscribers();
        let new = entry.subscribers.insert::<A, M>(subscription);
        let buffered: Vec<M> = entry
            .buffer
            .iter()
            .filter_map(|b| b.downcast_ref::<M>().cloned())
            .collect();
        let demand = (first && new && entry.notify).then_some(entry.owner);
        (buffered, demand, entry.generation)
    };
    if let Some(owner) = demand {
        tell_demand(node, owner, name, true);
    }
    // A subscriber that ends is dropped by the exit hook (and may end the demand).
    if watchable && !node.watch_exit(subscriber) {
        drop_subscriber(node, name, generation, subscriber);
    }
    Ok(buffered)
}

pub(super) fn unsubscribe(node: &Node, name: Atom, subscriber: Pid) -> bool {
    let generation = match find(node, name) {
        Some(entry) => entry.lock().generation,
        None => return false,
    };
    drop_subscriber(node, name, generation, subscriber)
}

/// A process that may have subscribed has ended: dropped from every event.
pub(super) fn exited(node: &Node, subscriber: Pid) {
    let Some(registry) = node.extension::<Registry>() else {
        return;
    };
    let events: Vec<(Atom, Arc<Mutex<Entry>>)> = registry
        .events
        .lock()
        .iter()
        .map(|(n, e)| (*n, e.clone()))
        .collect();
    for (name, entry) in events {
        let demand = remove_subscriber(&mut entry.lock(), subscriber);
        if let Some(owner) = demand {
            tell_demand(node, owner, name, false);
        }
    }
}

/// Removes a subscriber: whether it was there, and the producer to tell that demand
/// stopped.
fn remove_subscriber(entry: &mut Entry, subscriber: Pid) -> Option<Pid> {
    let removed = entry.subscribers.remove(subscriber).is_some();
    (removed && !entry.has_subscribers() && entry.notify).then_some(entry.owner)
}

fn drop_subscriber(node: &Node, name: Atom, generation: u64, subscriber: Pid) -> bool {
    let Some(entry) = find_generation(node, name, generation) else {
        return false;
    };
    let (removed, demand) = {
        let mut entry = entry.lock();
        if entry.generation != generation {
            return false;
        }
        let was = entry.subscribers.len();
        let demand = remove_subscriber(&mut entry, subscriber);
        (entry.subscribers.len() < was, demand)
    };
    if let Some(owner) = demand {
        tell_demand(node, owner, name, false);
    }
    removed
}

/// Publishes to the registration `generation` of `name` (a node-level event whose token
/// the node does not keep).
pub(super) fn publish_generation<M: Clone + Send + 'static>(
    node: &Node,
    name: Atom,
    generation: u64,
    message: M,
) -> Result<(), EventError> {
    publish(node, name, Some(generation), message)
}

pub(super) fn publish_open<M: Clone + Send + 'static>(
    node: &Node,
    name: Atom,
    message: M,
) -> Result<(), EventError> {
    publish(node, name, None, message)
}

/// Publishes with the token of `generation`, or by name (`None`: the event must be
/// open). Fans out under the event's lock, so values reach subscribers in publish order.
fn publish<M: Clone + Send + 'static>(
    node: &Node,
    name: Atom,
    generation: Option<u64>,
    message: M,
) -> Result<(), EventError> {
    let ended = || match generation {
        Some(_) => EventError::Ended(name),
        None => EventError::Unknown(name),
    };
    let entry = find(node, name).ok_or_else(ended)?;
    let mut entry = entry.lock();
    if entry.ended || generation.is_some_and(|g| g != entry.generation) {
        return Err(ended());
    }
    if generation.is_none() && !entry.open {
        return Err(EventError::NotOpen(name));
    }
    check_type::<M>(name, &entry)?;
    if entry.capacity > 0 {
        if entry.buffer.len() == entry.capacity {
            entry.buffer.pop_front();
        }
        entry.buffer.push_back(Box::new(message.clone()));
    }
    entry.published += 1;
    let timestamp = SystemTime::now();
    if !entry.remote.is_empty() {
        let entry = &mut *entry;
        for remote in entry.remote.keys() {
            *entry.sent.entry(*remote).or_default() += 1;
        }
        // Encoded once, sent once per subscribing node.
        let relays: Vec<Pid> = entry.remote.values().copied().collect();
        send_remote(node, name, timestamp, &message, &relays);
    }
    let event = Event {
        name,
        timestamp,
        message,
    };
    let delivered = entry.subscribers.deliver(&event);
    entry.delivered += delivered;
    Ok(())
}

/// The reason an event ends with when its producer unregisters it.
pub fn unregistered() -> Reason {
    Reason::error("event unregistered")
}

/// Ends the event `name` of `generation` with `reason`; false if it had ended.
fn end(node: &Node, name: Atom, generation: u64, reason: Reason) -> bool {
    let entry = {
        let registry = registry(node);
        let mut events = registry.events.lock();
        match events.get(&name) {
            Some(e) if e.lock().generation == generation => events.remove(&name),
            _ => None,
        }
    };
    let Some(entry) = entry else { return false };
    let (owner, remote, subscribers) = {
        let mut entry = entry.lock();
        entry.ended = true;
        let remote = std::mem::take(&mut entry.remote);
        let subscribers = std::mem::take(&mut entry.subscribers);
        (entry.owner, remote, subscribers.members())
    };
    for relay in remote.into_values() {
        if let Some(relay) = node.actor_ref::<EventRelay>(relay) {
            let _ = relay.send(RelayMessage::Ended {
                origin: node.name().as_str().to_string(),
                name: name.as_str().to_string(),
                reason: reason.clone(),
            });
        }
    }
    for (pid, linked) in subscribers {
        if linked {
            node.send_exit_from(owner, pid, reason.clone());
        } else {
            let down = EventDown {
                name,
                reason: reason.clone(),
            };
            let _ = node.send(pid, down);
        }
    }
    true
}

fn send_remote<M: 'static>(node: &Node, name: Atom, at: SystemTime, message: &M, relays: &[Pid]) {
    let Some(encoder) = ergo_runtime::wire::message_encoder(TypeId::of::<M>()) else {
        return; // refused at subscription: nobody can be subscribed
    };
    let mut bytes = Vec::new();
    if let Err(e) = (encoder.encode)(message, &mut bytes) {
        tracing::warn!(event = %name, error = %e, "an event value could not be encoded");
        return;
    }
    for &relay in relays {
        if let Some(relay) = node.actor_ref::<EventRelay>(relay) {
            let _ = relay.send(RelayMessage::Published {
                origin: node.name().as_str().to_string(),
                name: name.as_str().to_string(),
                millis: super::relay::millis(at),
                bytes: bytes.clone(),
            });
        }
    }
}

/// Subscribes another node (through its relay) to `name`: the event's type name and
/// its buffered values, encoded.
pub(super) fn add_remote(
    node: &Node,
    name: Atom,
    relay: Pid,
) -> Result<(&'static str, Vec<Vec<u8>>, usize), EventError> {
    if name == Atom::new(super::CLUSTER_EVENT) {
        super::cluster::ensure(node);
    }
    let entry = find(node, name).ok_or(EventError::Unknown(name))?;
    let (answer, demand, generation) = {
        let mut entry = entry.lock();
        if entry.ended {
            return Err(EventError::Unknown(name));
        }
        let encoder =
            ergo_runtime::wire::message_encoder(entry.type_id).ok_or(EventError::NotRemote {
                name,
                kind: entry.type_name,
            })?;
        let mut buffered = Vec::with_capacity(entry.buffer.len());
        for value in &entry.buffer {
            let mut bytes = Vec::new();
            if (encoder.encode)(&**value, &mut bytes).is_ok() {
                buffered.push(bytes);
            }
        }
        let first = !entry.has_subscribers();
        entry.remote.insert(relay.node(), relay);
        let demand = (first && entry.notify).then_some(entry.owner);
        (
            (encoder.kind, buffered, entry.capacity),
            demand,
            entry.generation,
        )
    };
    if let Some(owner) = demand {
        tell_demand(node, owner, name, true);
    }
    // A lost node (its relay unreachable) unsubscribes.
    if let Ok(monitor) = node.monitor(relay) {
        let node = node.clone();
        tokio::spawn(async move {
            monitor.down().await;
            if find_generation(&node, name, generation).is_some() {
                drop_remote(&node, name, relay);
            }
        });
    }
    Ok(answer)
}

/// Another node's relay has no more subscribers to `name`.
pub(super) fn drop_remote(node: &Node, name: Atom, relay: Pid) {
    let Some(entry) = find(node, name) else {
        return;
    };
    let demand = {
        let mut entry = entry.lock();
        let removed = entry.remote.get(&relay.node()).is_some_and(|r| *r == relay)
            && entry.remote.remove(&relay.node()).is_some();
        (removed && !entry.has_subscribers() && entry.notify).then_some(entry.owner)
    };
    if let Some(owner) = demand {
        tell_demand(node, owner, name, false);
    }
}

/// What an event has done so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInfo {
    /// The event's name.
    pub name: Atom,
    /// Its producer (the node's pid 0 for a node-level event).
    pub owner: Pid,
    /// Its message type.
    pub kind: &'static str,
    /// Values published.
    pub published: u64,
    /// Values sent to subscribers on this node.
    pub delivered: u64,
    /// Values sent to each subscribing node (once per value, whatever its number of
    /// subscribers).
    pub sent: Vec<(Atom, u64)>,
    /// Subscribers on this node.
    pub subscribers: usize,
    /// Nodes subscribed.
    pub nodes: Vec<Atom>,
}

pub(super) fn info(node: &Node, name: Atom) -> Option<EventInfo> {
    let e = find(node, name)?;
    let e = e.lock();
    let mut sent: Vec<(Atom, u64)> = e.sent.iter().map(|(n, c)| (*n, *c)).collect();
    sent.sort_by_key(|(n, _)| n.as_str().to_string());
    let mut nodes: Vec<Atom> = e.remote.keys().copied().collect();
    nodes.sort_by_key(|n| n.as_str().to_string());
    Some(EventInfo {
        name,
        owner: e.owner,
        kind: e.type_name,
        published: e.published,
        delivered: e.delivered,
        sent,
        subscribers: e.subscribers.len(),
        nodes,
    })
}

pub(super) fn names(node: &Node) -> Vec<Atom> {
    let mut names: Vec<Atom> = registry(node).events.lock().keys().copied().collect();
    names.sort_by_key(|n| n.as_str().to_string());
    names
}

/// Tells a demand-driven producer that it has subscribers now, or none any more.
fn tell_demand(node: &Node, owner: Pid, name: Atom, subscribers: bool) {
    let _ = node.send(owner, EventDemand { name, subscribers });
}
