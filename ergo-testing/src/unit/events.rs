//! Events in unit mode: the harness's node keeps a real event registry, so an actor
//! registers, publishes and subscribes as on a running node. The test watches an event
//! through a stand-in subscriber ([`Unit::watch_event`]: every value published becomes
//! a recorded send to it) and delivers values to a subscribed actor with
//! [`Unit::publish`]. An event's end (`EventDown`) goes to subscribers by pid through
//! the node's process table, which holds no harness: deliver it with [`Unit::send`].

use std::marker::PhantomData;

use ergo_otp::events::{self, Event, EventDown, EventError, EventToken};
use ergo_runtime::{Actor, ActorRef, Atom, Context, Handles, ReplyTo, Step};

use super::record::Effect;
use super::Unit;

/// The stand-in subscriber of a watched event (never run: its handle records).
pub struct EventSink<M>(PhantomData<fn() -> M>);

/// What an [`EventSink`] receives.
pub enum SinkMessage<M> {
    /// A published value.
    Event(Event<M>),
    /// The event ended.
    Down(EventDown),
}

impl<M: Send + 'static> Actor for EventSink<M> {
    type Message = SinkMessage<M>;
    type Call = ();
    type Reply = ();
    type Args = ();

    fn handle_message(&mut self, _: &mut Context<Self>, _: SinkMessage<M>) -> Step<Self> {
        Step::Continue
    }

    fn handle_call(&mut self, _: &mut Context<Self>, _: (), _: ReplyTo<()>) -> Step<Self> {
        Step::Continue
    }
}

impl<M: Send + 'static> Handles<Event<M>> for EventSink<M> {
    fn into_message(event: Event<M>) -> SinkMessage<M> {
        SinkMessage::Event(event)
    }
}

impl<M: Send + 'static> Handles<EventDown> for EventSink<M> {
    fn into_message(down: EventDown) -> SinkMessage<M> {
        SinkMessage::Down(down)
    }
}

/// A watched event: what the actor publishes to it is recorded (see
/// [`Unit::should_publish`], [`Unit::published`]).
pub struct EventWatch<M: Send + 'static> {
    pub(crate) sink: ActorRef<EventSink<M>>,
    pub(crate) name: Atom,
}

impl<M: Send + 'static> EventWatch<M> {
    /// The event's name.
    pub fn name(&self) -> Atom {
        self.name
    }
}

/// The value of a recorded publish to `watch`, if `effect` is one.
pub(crate) fn published_value<'e, M: Clone + Send + 'static>(
    watch: &EventWatch<M>,
    effect: &'e Effect,
) -> Option<&'e M> {
    let Effect::Send(sent) = effect else {
        return None;
    };
    if sent.to != ergo_runtime::Target::Pid(watch.sink.pid()) {
        return None;
    }
    match sent.message.downcast_ref::<SinkMessage<M>>()? {
        SinkMessage::Event(event) => Some(&event.message),
        SinkMessage::Down(_) => None,
    }
}

impl<A: Actor> Unit<A> {
    /// Subscribes a stand-in to the event `name` of the actor's node (registered by
    /// the actor, or by the test with `ergo::events::register_node_event` on
    /// [`Unit::node`]). Values published afterwards are recorded as sends to it.
    pub fn watch_event<M: Clone + Send + 'static>(
        &self,
        name: &str,
    ) -> Result<EventWatch<M>, EventError> {
        let sink = self.stub::<EventSink<M>>();
        events::monitor_event_for::<EventSink<M>, M>(self.node(), name, sink.clone())?;
        Ok(EventWatch {
            sink,
            name: Atom::new(name),
        })
    }

    /// The values published to a watched event so far, in order.
    pub fn published<M: Clone + Send + 'static>(&self, watch: &EventWatch<M>) -> Vec<M> {
        self.effects()
            .iter()
            .filter_map(|e| published_value(watch, e).cloned())
            .collect()
    }

    /// Publishes `value` with `token` (an event the test registered on [`Unit::node`]):
    /// an actor that subscribed handles it now, as its `Event<M>` message.
    pub fn publish<M: Clone + Send + 'static>(
        &mut self,
        token: &EventToken<M>,
        value: M,
    ) -> Result<&mut Self, EventError> {
        self.outside(|| token.publish(value))?;
        Ok(self)
    }
}
