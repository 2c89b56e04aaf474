//! Subscriptions to events of other nodes: one proxy per (event, node) on this node,
//! holding the local subscribers; the first one subscribes this node's relay there
//! (one round trip), the others are local, and the last one leaving unsubscribes it.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use ergo_runtime::{Atom, Node, Pid, Reason};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;

use super::relay::{local_relay, EventRelay, RelayCall, RelayMessage, RelayReply, RELAY};
use super::{Deliver, Event, EventDown, EventError, Subscription};

/// An event of another node, as this node's subscribers see it.
type Key = (Atom, Atom);

/// Decodes one published value into an `Event<M>`.
type Decode = fn(Atom, SystemTime, &[u8]) -> Option<Box<dyn Any + Send>>;

struct Proxy {
    type_name: &'static str,
    decode: Decode,
    /// The relay on the event's node.
    relay: Pid,
    subscribers: FxHashMap<Pid, Subscription>,
    /// The last values seen (encoded), for later local subscribers.
    buffer: VecDeque<Vec<u8>>,
    capacity: usize,
}

#[derive(Default)]
struct Proxies(Mutex<FxHashMap<Key, Proxy>>);

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

/// Subscribes `subscriber` to the event `name` of node `at`; the buffered values.
pub(super) async fn subscribe<M: Clone + Send + DeserializeOwned + 'static>(
    node: &Node,
    name: Atom,
    at: Atom,
    subscriber: Pid,
    subscription: Subscription,
) -> Result<Vec<M>, EventError> {
    let key = (name, at);
    let expected = std::any::type_name::<M>();
    // Another local subscriber already pays for the subscription.
    if let Some(buffered) = join_local::<M>(node, key, subscriber, &subscription)? {
        return Ok(buffered);
    }
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
    let mut created = false;
    {
        let proxies = proxies(node);
        let mut map = proxies.0.lock();
        let proxy = map.entry(key).or_insert_with(|| {
            created = true;
            Proxy {
                type_name: expected,
                decode: decode::<M>,
                relay: theirs.pid(),
                subscribers: FxHashMap::default(),
                capacity,
                buffer: buffered.into(),
            }
        });
        proxy.subscribers.insert(subscriber, subscription);
    }
    watch_subscriber(node, key, subscriber);
    if created {
        // The event's node lost (or its relay gone): the event ends here with why.
        if let Ok(monitor) = node.monitor(theirs.pid()) {
            let (node, relay) = (node.clone(), theirs.pid());
            tokio::spawn(async move {
                let down = monitor.down().await;
                let ours = proxies(&node)
                    .0
                    .lock()
                    .get(&key)
                    .is_some_and(|p| p.relay == relay);
                if ours {
                    ended(&node, key, down.reason);
                }
            });
        }
    }
    Ok(values)
}

/// Adds a subscriber to an existing proxy; `None` if there is none yet.
fn join_local<M: DeserializeOwned>(
    node: &Node,
    key: Key,
    subscriber: Pid,
    subscription: &Subscription,
) -> Result<Option<Vec<M>>, EventError> {
    let buffered = {
        let proxies = proxies(node);
        let mut map = proxies.0.lock();
        let Some(proxy) = map.get_mut(&key) else {
            return Ok(None);
        };
        if proxy.type_name != std::any::type_name::<M>() {
            return Err(EventError::WrongType {
                name: key.0,
                expected: std::any::type_name::<M>(),
                actual: proxy.type_name,
            });
        }
        proxy.subscribers.insert(subscriber, subscription.clone());
        proxy.buffer.iter().cloned().collect::<Vec<_>>()
    };
    watch_subscriber(node, key, subscriber);
    Ok(Some(decode_all(&buffered)))
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

fn watch_subscriber(node: &Node, key: Key, subscriber: Pid) {
    if let Ok(monitor) = node.monitor(subscriber) {
        let node = node.clone();
        tokio::spawn(async move {
            monitor.down().await;
            unsubscribe(&node, key, subscriber);
        });
    }
}

/// Drops a local subscriber; the last one unsubscribes this node there.
pub(super) fn unsubscribe(node: &Node, key: Key, subscriber: Pid) -> bool {
    let gone = {
        let proxies = proxies(node);
        let mut map = proxies.0.lock();
        let Some(proxy) = map.get_mut(&key) else {
            return false;
        };
        if proxy.subscribers.remove(&subscriber).is_none() {
            return false;
        }
        if proxy.subscribers.is_empty() {
            map.remove(&key).map(|p| p.relay)
        } else {
            None
        }
    };
    if let Some(relay) = gone {
        if let Ok(mine) = node.lookup::<EventRelay>(RELAY) {
            unsubscribe_there(node, key.0, relay, mine.pid());
        }
    }
    true
}

fn unsubscribe_there(node: &Node, name: Atom, theirs: Pid, mine: Pid) {
    if let Some(theirs) = node.actor_ref::<EventRelay>(theirs) {
        let _ = theirs.send(RelayMessage::Unsubscribe {
            name: name.as_str().to_string(),
            relay: mine,
        });
    }
}

/// A value published on another node: to every local subscriber, decoded once.
pub(super) fn published(node: &Node, key: Key, at: SystemTime, bytes: &[u8]) {
    let (decode, to) = {
        let proxies = proxies(node);
        let mut map = proxies.0.lock();
        let Some(proxy) = map.get_mut(&key) else {
            return;
        };
        if proxy.capacity > 0 {
            if proxy.buffer.len() >= proxy.capacity {
                proxy.buffer.pop_front();
            }
            proxy.buffer.push_back(bytes.to_vec());
        }
        (
            proxy.decode,
            proxy
                .subscribers
                .values()
                .map(|s| s.deliver.clone())
                .collect::<Vec<Deliver>>(),
        )
    };
    // Decoded once for every subscriber on this node.
    if let Some(event) = decode(key.0, at, bytes) {
        for deliver in to {
            deliver(&*event);
        }
    }
}

/// An event of another node ended (or its node was lost): every local subscriber
/// learns it, as for a local event.
pub(super) fn ended(node: &Node, key: Key, reason: Reason) {
    let Some(proxy) = proxies(node).0.lock().remove(&key) else {
        return;
    };
    for (pid, subscription) in proxy.subscribers {
        if subscription.linked {
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
