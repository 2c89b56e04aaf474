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
//! This node's events only: subscribing to an event on another node is not built yet.

mod registry;

use std::time::SystemTime;

use ergo_runtime::{Actor, Atom, Context, Handles, Reason};
use thiserror::Error;

pub use registry::{unregistered, EventToken};

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
        registry::subscribe::<M>(self.node(), name.into(), self.pid(), false)
    }

    fn link_event<M: Clone + Send + 'static>(
        &mut self,
        name: impl Into<Atom>,
    ) -> Result<Vec<M>, EventError>
    where
        A: Handles<Event<M>>,
    {
        registry::subscribe::<M>(self.node(), name.into(), self.pid(), true)
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
