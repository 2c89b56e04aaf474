//! Events: typed publish/subscribe, as Go Ergo's events. A process registers a named
//! event carrying one message type and gets a token; whoever holds the token publishes
//! (or anyone, for an `open` event). Processes subscribe by name — `monitor_event` (they
//! get an [`EventDown`] when it ends) or `link_event` (they exit with the producer's
//! reason) — and receive each published value as an [`Event<M>`]. An event may keep
//! its last N values for late subscribers (`buffer`) and tell its producer when the
//! first subscriber arrives and the last one leaves (`notify`: [`EventDemand`]).
//!
//! The types are checked at compile time: a subscriber must handle `Event<M>` and
//! `EventDown` (`#[handle_info]`), and a token publishes only `M`.
//!
//! Each node produces the event [`CLUSTER_EVENT`] ([`ClusterEvent`]: a node joined or
//! left the cluster, as its registrar saw it).
//!
//! Events of other nodes: `monitor_remote_event` / `link_remote_event` (the value type
//! registered with `ergo::register_message` on the producer's node). Each node's relay
//! process (`ergo_event_relay`) subscribes once for all its local subscribers.

mod cluster;
mod fanout;
mod registry;
mod relay;
mod remote;

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use serde::de::DeserializeOwned;

use ergo_runtime::dist::Dist;
use ergo_runtime::{Actor, ActorRef, Atom, Context, Handles, Node, Reason};
use thiserror::Error;

pub use cluster::{raise_cluster_event, ClusterEvent, CLUSTER_EVENT};
pub use registry::{unregistered, EventInfo, EventToken};

use fanout::Subscription;

fn subscription<A: Actor>(me: ActorRef<A>, linked: bool) -> Subscription<A> {
    Subscription { actor: me, linked }
}

/// Installs, once per node, the exit hook that drops subscribers that end (one hook for
/// every subscriber: no monitor, no task per subscriber).
fn watch_exits(node: &Node) {
    struct Installed;
    node.extension_or_insert(|| {
        node.add_exit_hook(Arc::new(|node: &Node, pid, _reason: &Reason| {
            registry::exited(node, pid);
            remote::exited(node, pid);
        }));
        Installed
    });
}

/// A published value, as a subscriber receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event<M> {
    /// The event's name.
    pub name: Atom,
    /// When it was published.
    pub timestamp: SystemTime,
    /// The value.
    pub message: M,
}

/// The end of an event a process monitored (or was linked to, while trapping exits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventDown {
    /// The event's name.
    pub name: Atom,
    /// Why it ended: the producer's exit reason, or [`unregistered()`] when the
    /// producer unregistered it.
    pub reason: Reason,
}

/// Told to an event's producer (registered with `register_demand_event`) when its first subscriber arrives
/// (`subscribers: true`) and its last one leaves (`false`), for demand-driven
/// production.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventDemand {
    /// The event's name.
    pub name: Atom,
    /// True when it went from no subscriber to one; false when back to none.
    pub subscribers: bool,
}

/// How an event behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventOptions {
    pub(crate) open: bool,
    pub(crate) buffer: usize,
}

impl EventOptions {
    /// Defaults: only the token publishes, nothing kept.
    pub fn new() -> Self {
        Self::default()
    }

    /// Anyone may publish by name ([`EventsExt::publish_event`]), without the token.
    pub fn open(mut self) -> Self {
        self.open = true;
        self
    }

    /// Keeps the last `n` values; a new subscriber gets them when it subscribes.
    pub fn buffer(mut self, n: usize) -> Self {
        self.buffer = n;
        self
    }
}

/// Why an event operation failed.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// An event of this name is registered on this node already.
    #[error("event '{0}' is taken")]
    Taken(Atom),
    /// No event of this name.
    #[error("no event '{0}'")]
    Unknown(Atom),
    /// The event carries another message type.
    #[error("event '{name}' carries `{actual}`, not `{expected}`")]
    WrongType {
        /// The event's name.
        name: Atom,
        /// The type asked for.
        expected: &'static str,
        /// The type it carries.
        actual: &'static str,
    },
    /// Publishing by name to an event that is not open.
    #[error("event '{0}' is not open: publish with its token")]
    NotOpen(Atom),
    /// The token's event has ended.
    #[error("event '{0}' has ended")]
    Ended(Atom),
    /// The event's type cannot cross to other nodes: register it with
    /// `ergo::register_message::<T>()` on the producer's node.
    #[error("event '{name}' carries `{kind}`, which is not registered for other nodes")]
    NotRemote {
        /// The event's name.
        name: Atom,
        /// Its message type.
        kind: &'static str,
    },
    /// The event's node could not be asked.
    #[error("cannot reach the events of {0}")]
    NoConnection(Atom),
}

/// Registers an event produced by the node itself, from outside any process (`main`,
/// a web handler): it ends only when its token unregisters it.
pub fn register_node_event<M: Clone + Send + 'static>(
    node: &Node,
    name: impl Into<Atom>,
    options: EventOptions,
) -> Result<EventToken<M>, EventError> {
    let owner = Dist::new(node).pid(0);
    registry::register::<M>(node, name.into(), owner, options, false)
}

/// Subscribes the process `subscriber` points to, from outside it (a test harness's
/// stand-in, code bridging another system): as [`EventsExt::monitor_event`] does for
/// the calling process. Returns the buffered values, oldest first.
pub fn monitor_event_for<A, M>(
    node: &Node,
    name: impl Into<Atom>,
    subscriber: ActorRef<A>,
) -> Result<Vec<M>, EventError>
where
    A: Handles<Event<M>> + Handles<EventDown>,
    M: Clone + Send + 'static,
{
    registry::subscribe::<A, M>(node, name.into(), subscription(subscriber, false))
}

/// What the event `name` of this node has done so far: values published, delivered
/// here, sent per subscribing node; its subscribers.
pub fn info(node: &Node, name: impl Into<Atom>) -> Option<EventInfo> {
    registry::info(node, name.into())
}

/// The events registered on this node.
pub fn names(node: &Node) -> Vec<Atom> {
    registry::names(node)
}

/// Events on a process's [`Context`]: register, subscribe, unsubscribe, publish.
pub trait EventsExt<A: Actor> {
    /// Registers the event `name` carrying `M`, produced by this process; the token
    /// publishes. The event ends when this process does (or [`EventToken::unregister`]).
    fn register_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
        options: EventOptions,
    ) -> Result<EventToken<M>, EventError>;

    /// As [`EventsExt::register_event`], and this process is told when its first
    /// subscriber arrives and its last leaves ([`EventDemand`]).
    fn register_demand_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
        options: EventOptions,
    ) -> Result<EventToken<M>, EventError>
    where
        A: Handles<EventDemand>;

    /// Subscribes to `name`: each value comes as an `Event<M>`, the end as an
    /// `EventDown`. Returns the buffered values, oldest first.
    fn monitor_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
    ) -> Result<Vec<M>, EventError>
    where
        A: Handles<Event<M>> + Handles<EventDown>;

    /// As [`EventsExt::monitor_event`], but this process exits with the producer's
    /// reason when the event ends (an `Exit` if it traps exits).
    fn link_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
    ) -> Result<Vec<M>, EventError>
    where
        A: Handles<Event<M>>;

    /// Subscribes to the event `name` of another node (its type registered there with
    /// `ergo::register_message`): as [`EventsExt::monitor_event`]. The first subscriber
    /// on this node pays one round trip; the others join locally, and a published value
    /// crosses the network once per subscribing node.
    fn monitor_remote_event<M: Clone + Send + DeserializeOwned + 'static>(
        &mut self,
        name: impl Into<Atom>,
        node: impl Into<Atom>,
    ) -> impl Future<Output = Result<Vec<M>, EventError>> + Send
    where
        A: Handles<Event<M>> + Handles<EventDown>;

    /// As [`EventsExt::monitor_remote_event`], linked: this process exits with the
    /// producer's reason (or `NoConnection`) when the event ends.
    fn link_remote_event<M: Clone + Send + DeserializeOwned + 'static>(
        &mut self,
        name: impl Into<Atom>,
        node: impl Into<Atom>,
    ) -> impl Future<Output = Result<Vec<M>, EventError>> + Send
    where
        A: Handles<Event<M>>;

    /// Unsubscribes from an event of another node; the last subscriber on this node
    /// unsubscribes the node.
    fn unsubscribe_remote_event(&mut self, name: impl Into<Atom>, node: impl Into<Atom>) -> bool;

    /// Unsubscribes (either kind); false if it was not subscribed.
    fn unsubscribe_event(&mut self, name: impl Into<Atom>) -> bool;

    /// Publishes to an `open` event by name.
    fn publish_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
        message: M,
    ) -> Result<(), EventError>;
}

impl<A: Actor> EventsExt<A> for Context<A> {
    fn register_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
        options: EventOptions,
    ) -> Result<EventToken<M>, EventError> {
        registry::register::<M>(self.node(), name.into(), self.pid(), options, false)
    }

    fn register_demand_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
        options: EventOptions,
    ) -> Result<EventToken<M>, EventError>
    where
        A: Handles<EventDemand>,
    {
        registry::register::<M>(self.node(), name.into(), self.pid(), options, true)
    }

    fn monitor_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
    ) -> Result<Vec<M>, EventError>
    where
        A: Handles<Event<M>> + Handles<EventDown>,
    {
        let sub = subscription(self.myself(), false);
        registry::subscribe::<A, M>(self.node(), name.into(), sub)
    }

    fn link_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
    ) -> Result<Vec<M>, EventError>
    where
        A: Handles<Event<M>>,
    {
        let sub = subscription(self.myself(), true);
        registry::subscribe::<A, M>(self.node(), name.into(), sub)
    }

    fn monitor_remote_event<M: Clone + Send + DeserializeOwned + 'static>(
        &mut self,
        name: impl Into<Atom>,
        node: impl Into<Atom>,
    ) -> impl Future<Output = Result<Vec<M>, EventError>> + Send
    where
        A: Handles<Event<M>> + Handles<EventDown>,
    {
        let (here, name, at) = (self.node().clone(), name.into(), node.into());
        let sub = subscription(self.myself(), false);
        async move { remote::subscribe::<A, M>(&here, name, at, sub).await }
    }

    fn link_remote_event<M: Clone + Send + DeserializeOwned + 'static>(
        &mut self,
        name: impl Into<Atom>,
        node: impl Into<Atom>,
    ) -> impl Future<Output = Result<Vec<M>, EventError>> + Send
    where
        A: Handles<Event<M>>,
    {
        let (here, name, at) = (self.node().clone(), name.into(), node.into());
        let sub = subscription(self.myself(), true);
        async move { remote::subscribe::<A, M>(&here, name, at, sub).await }
    }

    fn unsubscribe_remote_event(&mut self, name: impl Into<Atom>, node: impl Into<Atom>) -> bool {
        remote::unsubscribe(self.node(), (name.into(), node.into()), self.pid())
    }

    fn unsubscribe_event(&mut self, name: impl Into<Atom>) -> bool {
        registry::unsubscribe(self.node(), name.into(), self.pid())
    }

    fn publish_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
        message: M,
    ) -> Result<(), EventError> {
        registry::publish_open(self.node(), name.into(), message)
    }
}
