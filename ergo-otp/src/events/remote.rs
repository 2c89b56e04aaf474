//! Subscriptions to events of other nodes: one proxy per (event, node) on this node,
//! holding the local subscribers; the first one subscribes this node's relay there
//! (one round trip), the others are local, and the last one leaving (unsubscribing or
//! ending: the node's exit hook tells) unsubscribes it.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use ergo_runtime::{Atom, Node, Pid, Reason};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;

use super::fanout::{Fanout, Subscription};
use super::relay::{local_relay, EventRelay, RelayCall, RelayMessage, RelayReply, RELAY};
use super::{Event, EventDown, EventError};
use ergo_runtime::Handles;

/// An event of another node, as this node's subscribers see it.
type Key = (Atom, Atom);

/// Decodes one published value into an `Event<M>`.
type Decode = fn(Atom, SystemTime, &[u8]) -> Option<Box<dyn Any + Send>>;

struct Proxy {
    type_name: &'static str,
    decode: Decode,
    /// The relay on the event's node.
    relay: Pid,
    subscribers: Fanout,
    /// The last values seen (encoded), for later local subscribers.
    buffer: VecDeque<Vec<u8>>,
    capacity: usize,
}

/// Each proxy behind its own lock, under which a value fans out.
#[derive(Default)]
struct Proxies(Mutex<FxHashMap<Key, Arc<Mutex<Proxy>>>>);

fn find(node: &Node, key: Key) -> Option<Arc<Mutex<Proxy>>> {
    proxies(node).0.lock().get(&key).cloned()
}

fn proxies(node: &Node) -> Arc<Proxies> {
    node.extension_or_insert(Proxies::default)
}

fn decode<M: Send + DeserializeOwned + 'static>(
    name: Atom,
    timestamp: SystemTime,
    bytes: &[u8],
) -> Option<Box<dyn Any + Send>> {
    match ergo_runtime::wire::decode_as::<M>(bytes) {
        Ok(message) => Some(Box::new(Event {
            name,
            timestamp,
            message,
        })),
        Err(e) => {
            tracing::warn!(event = %name, error = %e, "an event value from another node did not decode");
            None
        }
    }
}

fn decode_all<M: DeserializeOwned>(values: &[Vec<u8>]) -> Vec<M> {
    values
        .iter()
        .filter_map(|b| ergo_runtime::wire::decode_as(b).ok())
        .collect()
}

/// Subscribes to the event `name` of node `at`; the buffered values.
pub(super) async fn subscribe<A, M>(
    node: &Node,
    name: Atom,
    at: Atom,
    subscription: Subscription<A>,
) -> Result<Vec<M>, EventError>
where
    A: Handles<Event<M>>,
    M: Clone + Send + DeserializeOwned + 'static,
{
    super::watch_exits(node);
    let key = (name, at);
    let expected = std::any::type_name::<M>();
    // Another local subscriber already pays for the subscription.
    let subscription = match join_local::<A, M>(node, key, subscription)? {
        Ok(buffered) => return Ok(buffered),
        Err(subscription) => subscription,
    };
    let mine = local_relay(node)
        .await
        .ok_or(EventError::NoConnection(at))?;
    let theirs = remote_relay(node, at).await?;
    let answer = theirs
        .request(RelayCall::Subscribe {
            name: name.as_str().to_string(),
            relay: mine.pid(),
        })
        .await
        .map_err(|_| EventError::NoConnection(at))?;
    let (buffered, capacity) = match answer {
        RelayReply::Subscribed {
            kind,
            buffered,
            capacity,
        } if kind == expected => (buffered, capacity as usize),
        RelayReply::Subscribed { kind, .. } => {
            unsubscribe_there(node, name, theirs.pid(), mine.pid());
            return Err(EventError::WrongType {
                name,
                expected,
                actual: Box::leak(kind.into_boxed_str()),
            });
        }
        RelayReply::Refused(why) if why.starts_with("no event") => {
            return Err(EventError::Unknown(name))
        }
        RelayReply::Refused(_) => {
            return Err(EventError::NotRemote {
                name,
                kind: expected,
            })
        }
    };
    let values = decode_all::<M>(&buffered);
    let subscriber = subscription.actor.pid();
    let mut created = false;
    let proxies = proxies(node);
    let mut map = proxies.0.lock();
    let proxy = map.entry(key).or_insert_with(|| {
        created = true;
        Arc::new(Mutex::new(Proxy {
            type_name: expected,
            decode: decode::<M>,
            relay: theirs.pid(),
            subscribers: Fanout::default(),
            capacity,
            buffer: buffered.into(),
        }))
    });
    proxy.lock().subscribers.insert::<A, M>(subscription);
    drop(map);
    if !node.watch_exit(subscriber) {
        unsubscribe(node, key, subscriber);
    }
    if created {
        // The event's node lost (or its relay gone): the event ends here with why.
        if let Ok(monitor) = node.monitor(theirs.pid()) {
            let (node, relay) = (node.clone(), theirs.pid());
            tokio::spawn(async move {
                let down = monitor.down().await;
                if find(&node, key).is_some_and(|p| p.lock().relay == relay) {
                    ended(&node, key, down.reason);
                }
            });
        }
    }
    Ok(values)
}

/// Adds a subscriber to an existing proxy: the buffered values, or the subscription
/// back if there is no proxy yet.
#[allow(clippy::type_complexity)]
fn join_local<A, M>(
    node: &Node,
    key: Key,
    subscription: Subscription<A>,
) -> Result<Result<Vec<M>, Subscription<A>>, EventError>
where
    A: Handles<Event<M>>,
    M: Clone + Send + DeserializeOwned + 'static,
{
    let subscriber = subscription.actor.pid();
    let buffered = {
        // Under the set's lock: the proxy cannot go between finding and joining it.
        let proxies = proxies(node);
        let map = proxies.0.lock();
        let Some(proxy) = map.get(&key) else {
            return Ok(Err(subscription));
        };
        let mut proxy = proxy.lock();
        if proxy.type_name != std::any::type_name::<M>() {
            return Err(EventError::WrongType {
                name: key.0,
                expected: std::any::type_name::<M>(),
                actual: proxy.type_name,
            });
        }
        proxy.subscribers.insert::<A, M>(subscription);
        proxy.buffer.iter().cloned().collect::<Vec<_>>()
    };
    if !node.watch_exit(subscriber) {
        unsubscribe(node, key, subscriber);
    }
    Ok(Ok(decode_all(&buffered)))
}

/// The relay of node `at` (it starts when that node registers its first event).
async fn remote_relay(
    node: &Node,
    at: Atom,
) -> Result<ergo_runtime::ActorRef<EventRelay>, EventError> {
    node.lookup_remote::<EventRelay>(RELAY, &at.as_str())
        .await
        .map_err(|_| EventError::NoConnection(at))
}

/// Drops a local subscriber; the last one unsubscribes this node there.
pub(super) fn unsubscribe(node: &Node, key: Key, subscriber: Pid) -> bool {
    let Some(proxy) = find(node, key) else {
        return false;
    };
    let relay = {
        let mut proxy = proxy.lock();
        if proxy.subscribers.remove(subscriber).is_none() {
            return false;
        }
        if !proxy.subscribers.is_empty() {
            return true;
        }
        proxy.relay
    };
    // The last one: the proxy goes (unless another subscriber came in meanwhile).
    let gone = {
        let proxies = proxies(node);
        let mut map = proxies.0.lock();
        let empty = map
            .get(&key)
            .is_some_and(|p| Arc::ptr_eq(p, &proxy) && p.lock().subscribers.is_empty());
        empty && map.remove(&key).is_some()
    };
    if gone {
        if let Ok(mine) = node.lookup::<EventRelay>(RELAY) {
            unsubscribe_there(node, key.0, relay, mine.pid());
        }
    }
    true
}

/// A process that may have subscribed has ended: dropped from every proxy.
pub(super) fn exited(node: &Node, subscriber: Pid) {
    let Some(proxies) = node.extension::<Proxies>() else {
        return;
    };
    let keys: Vec<Key> = proxies.0.lock().keys().copied().collect();
    for key in keys {
        unsubscribe(node, key, subscriber);
    }
}

fn unsubscribe_there(node: &Node, name: Atom, theirs: Pid, mine: Pid) {
    if let Some(theirs) = node.actor_ref::<EventRelay>(theirs) {
        let _ = theirs.send(RelayMessage::Unsubscribe {
            name: name.as_str().to_string(),
            relay: mine,
        });
    }
}

/// A value published on another node: to every local subscriber, decoded once, under
/// the proxy's lock (values reach subscribers in the order they were published).
pub(super) fn published(node: &Node, key: Key, at: SystemTime, bytes: &[u8]) {
    let Some(proxy) = find(node, key) else {
        return;
    };
    let mut proxy = proxy.lock();
    if proxy.capacity > 0 {
        if proxy.buffer.len() >= proxy.capacity {
            proxy.buffer.pop_front();
        }
        proxy.buffer.push_back(bytes.to_vec());
    }
    if let Some(event) = (proxy.decode)(key.0, at, bytes) {
        proxy.subscribers.deliver(&*event);
    }
}

/// An event of another node ended (or its node was lost): every local subscriber
/// learns it, as for a local event.
pub(super) fn ended(node: &Node, key: Key, reason: Reason) {
    let Some(proxy) = proxies(node).0.lock().remove(&key) else {
        return;
    };
    let members = std::mem::take(&mut proxy.lock().subscribers).members();
    for (pid, linked) in members {
        if linked {
            node.send_exit(pid, reason.clone());
        } else {
            let _ = node.send(
                pid,
                EventDown {
                    name: key.0,
                    reason: reason.clone(),
                },
            );
        }
    }
}
