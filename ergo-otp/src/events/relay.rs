//! The event relay: one process per node (registered as `ergo_event_relay`) through
//! which events cross nodes. A node's relay subscribes on behalf of all of its
//! processes, so a published value crosses the network once per subscribing node and
//! fans out there.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ergo_runtime::{
    Actor, ActorRef, Atom, Context, Handles, Node, Pid, Reason, ReplyTo, Step, Wire,
};
use serde::{Deserialize, Serialize};

/// The name every node's relay is registered under.
pub(crate) const RELAY: &str = "ergo_event_relay";

/// What relays send each other.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum RelayMessage {
    /// A value published on the sender's node, encoded once.
    Published {
        /// The event's node.
        origin: String,
        /// The event.
        name: String,
        /// Milliseconds since the Unix epoch.
        millis: u64,
        /// The value, in its registered wire form.
        bytes: Vec<u8>,
    },
    /// The event ended.
    Ended {
        /// The event's node.
        origin: String,
        /// The event.
        name: String,
        /// Why.
        reason: Reason,
    },
    /// The sender's node has no more subscribers to the event.
    Unsubscribe {
        /// The event.
        name: String,
        /// The unsubscribing node's relay.
        relay: Pid,
    },
}

/// What a relay asks another.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum RelayCall {
    /// Subscribe `relay` (on another node) to the event `name` of this node.
    Subscribe {
        /// The event.
        name: String,
        /// The subscribing node's relay.
        relay: Pid,
    },
}

/// A relay's answer.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum RelayReply {
    /// Subscribed: the event's message type and its buffered values, encoded.
    Subscribed {
        /// The event's message type name.
        kind: String,
        /// The buffered values, oldest first.
        buffered: Vec<Vec<u8>>,
        /// How many values the event keeps.
        capacity: u64,
    },
    /// Refused, and why.
    Refused(String),
}

/// The relay process.
pub(crate) struct EventRelay;

impl Actor for EventRelay {
    type Message = RelayMessage;
    type Call = RelayCall;
    type Reply = RelayReply;
    type Args = ();

    fn handle_message(&mut self, ctx: &mut Context<Self>, msg: RelayMessage) -> Step<Self> {
        let node = ctx.node();
        match msg {
            RelayMessage::Published {
                origin,
                name,
                millis,
                bytes,
            } => {
                let at = UNIX_EPOCH + Duration::from_millis(millis);
                let key = (Atom::new(&name), Atom::new(&origin));
                super::remote::published(node, key, at, &bytes);
            }
            RelayMessage::Ended {
                origin,
                name,
                reason,
            } => {
                super::remote::ended(node, (Atom::new(&name), Atom::new(&origin)), reason);
            }
            RelayMessage::Unsubscribe { name, relay } => {
                super::registry::drop_remote(node, Atom::new(&name), relay);
            }
        }
        Step::Continue
    }

    fn handle_call(
        &mut self,
        ctx: &mut Context<Self>,
        call: RelayCall,
        reply: ReplyTo<RelayReply>,
    ) -> Step<Self> {
        let RelayCall::Subscribe { name, relay } = call;
        let answer = super::registry::add_remote(ctx.node(), Atom::new(&name), relay);
        reply.send(match answer {
            Ok((kind, buffered, capacity)) => RelayReply::Subscribed {
                kind: kind.to_owned(),
                buffered,
                capacity: capacity as u64,
            },
            Err(why) => RelayReply::Refused(why.to_string()),
        });
        Step::Continue
    }

    fn wire() -> Option<&'static Wire<Self>> {
        Some(&Wire::<Self>::POSTCARD)
    }
}

impl Handles<RelayMessage> for EventRelay {
    fn into_message(msg: RelayMessage) -> RelayMessage {
        msg
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// This node's relay, started on first use.
pub(crate) async fn local_relay(node: &Node) -> Option<ActorRef<EventRelay>> {
    if let Ok(relay) = node.lookup::<EventRelay>(RELAY) {
        return Some(relay);
    }
    match node.spawn_register(RELAY, EventRelay).await {
        Ok(relay) => Some(relay),
        // Started by someone else meanwhile.
        Err(_) => node.lookup::<EventRelay>(RELAY).ok(),
    }
}
