//! The node's events (a node extension): who produces each, who subscribes, what is
//! buffered; and the tasks that end an event with its producer and drop a subscriber
//! that ended.

use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use ergo_runtime::{Atom, Node, Pid, Reason};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use super::relay::{EventRelay, RelayMessage};
use super::{Deliver, Event, EventDemand, EventDown, EventError, EventOptions, Subscription};

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
    subscribers: FxHashMap<Pid, Subscription>,
    /// Other nodes subscribed through their relays: relay pid (its node is the key).
    remote: FxHashMap<Atom, Pid>,
    published: u64,
    delivered: u64,
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
    events: Mutex<FxHashMap<Atom, Entry>>,
    next: AtomicU64,
}

fn registry(node: &Node) -> Arc<Registry> {
    node.extension_or_insert(Registry::default)
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
            Entry {
                generation,
                owner,
                type_id: TypeId::of::<M>(),
                type_name: std::any::type_name::<M>(),
                open: options.open,
                notify,
                capacity: options.buffer,
                buffer: VecDeque::new(),
                subscribers: FxHashMap::default(),
                remote: FxHashMap::default(),
                published: 0,
                delivered: 0,
                sent: FxHashMap::default(),
            },
        );
    }
    // Other nodes subscribe through this node's relay.
    let relay_node = node.clone();
    tokio::spawn(async move {
        super::relay::local_relay(&relay_node).await;
    });
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
    Ok(EventToken {
        node: node.clone(),
        name,
        generation,
        _type: PhantomData,
    })
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

pub(super) fn subscribe<M: Clone + Send + 'static>(
    node: &Node,
    name: Atom,
    subscriber: Pid,
    subscription: Subscription,
) -> Result<Vec<M>, EventError> {
    let registry = registry(node);
    let (buffered, demand, generation) = {
        let mut events = registry.events.lock();
        let entry = events.get_mut(&name).ok_or(EventError::Unknown(name))?;
        check_type::<M>(name, entry)?;
        let first = !entry.has_subscribers();
        let new = entry.subscribers.insert(subscriber, subscription).is_none();
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
    // A subscriber that ends is dropped (and may end the demand).
    if let Ok(monitor) = node.monitor(subscriber) {
        let node = node.clone();
        tokio::spawn(async move {
            monitor.down().await;
            drop_subscriber(&node, name, generation, subscriber);
        });
    }
    Ok(buffered)
}

pub(super) fn unsubscribe(node: &Node, name: Atom, subscriber: Pid) -> bool {
    let generation = match registry(node).events.lock().get(&name) {
        Some(entry) => entry.generation,
        None => return false,
    };
    drop_subscriber(node, name, generation, subscriber)
}

fn drop_subscriber(node: &Node, name: Atom, generation: u64, subscriber: Pid) -> bool {
    let (removed, demand) = {
        let registry = registry(node);
        let mut events = registry.events.lock();
        let Some(entry) = events.get_mut(&name).filter(|e| e.generation == generation) else {
            return false;
        };
        let removed = entry.subscribers.remove(&subscriber).is_some();
        let demand =
            (removed && entry.subscribers.is_empty() && entry.notify).then_some(entry.owner);
        (removed, demand)
    };
    if let Some(owner) = demand {
        tell_demand(node, owner, name, false);
    }
    removed
}

pub(super) fn publish_open<M: Clone + Send + 'static>(
    node: &Node,
    name: Atom,
    message: M,
) -> Result<(), EventError> {
    publish(node, name, None, message)
}

/// Publishes with the token of `generation`, or by name (`None`: the event must be
/// open).
fn publish<M: Clone + Send + 'static>(
    node: &Node,
    name: Atom,
    generation: Option<u64>,
    message: M,
) -> Result<(), EventError> {
    let registry = registry(node);
    let subscribers: (Vec<Deliver>, Vec<Pid>) = {
        let mut events = registry.events.lock();
        let entry = match events.get_mut(&name) {
            Some(entry) if generation.is_none_or(|g| g == entry.generation) => entry,
            _ if generation.is_some() => return Err(EventError::Ended(name)),
            _ => return Err(EventError::Unknown(name)),
        };
        if generation.is_none() && !entry.open {
            return Err(EventError::NotOpen(name));
        }
        check_type::<M>(name, entry)?;
        if entry.capacity > 0 {
            if entry.buffer.len() == entry.capacity {
                entry.buffer.pop_front();
            }
            entry.buffer.push_back(Box::new(message.clone()));
        }
        entry.published += 1;
        entry.delivered += entry.subscribers.len() as u64;
        for remote in entry.remote.keys() {
            *entry.sent.entry(*remote).or_default() += 1;
        }
        (
            entry
                .subscribers
                .values()
                .map(|s| s.deliver.clone())
                .collect(),
            entry.remote.values().copied().collect::<Vec<Pid>>(),
        )
    };
    let (subscribers, relays) = subscribers;
    let timestamp = SystemTime::now();
    if !relays.is_empty() {
        // Encoded once, sent once per subscribing node.
        send_remote(node, name, timestamp, &message, &relays);
    }
    let event = Event {
        name,
        timestamp,
        message,
    };
    for deliver in subscribers {
        deliver(&event);
    }
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
            Some(e) if e.generation == generation => events.remove(&name),
            _ => None,
        }
    };
    let Some(entry) = entry else { return false };
    for relay in entry.remote.into_values() {
        if let Some(relay) = node.actor_ref::<EventRelay>(relay) {
            let _ = relay.send(RelayMessage::Ended {
                origin: node.name().as_str().to_string(),
                name: name.as_str().to_string(),
                reason: reason.clone(),
            });
        }
    }
    for (pid, subscription) in entry.subscribers {
        if subscription.linked {
            node.send_exit_from(entry.owner, pid, reason.clone());
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
    let registry = registry(node);
    let (answer, demand, generation) = {
        let mut events = registry.events.lock();
        let entry = events.get_mut(&name).ok_or(EventError::Unknown(name))?;
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
            if super::registry::registry(&node)
                .events
                .lock()
                .get(&name)
                .is_some_and(|e| e.generation == generation)
            {
                drop_remote(&node, name, relay);
            }
        });
    }
    Ok(answer)
}

/// Another node's relay has no more subscribers to `name`.
pub(super) fn drop_remote(node: &Node, name: Atom, relay: Pid) {
    let demand = {
        let registry = registry(node);
        let mut events = registry.events.lock();
        let Some(entry) = events.get_mut(&name) else {
            return;
        };
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
    let registry = registry(node);
    let events = registry.events.lock();
    let e = events.get(&name)?;
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
