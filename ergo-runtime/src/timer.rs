//! Timers: send a message after a delay, or every period. Cancellable; a process's
//! timers die with it.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::{AbortHandle, JoinHandle};

use crate::actor::Handles;
use crate::actor_ref::ActorRef;
use crate::effects::Effects;
use crate::error::SendError;
use crate::node::Node;

/// A pending timer. Dropping it does not cancel it; call [`TimerRef::cancel`].
pub struct TimerRef {
    inner: Inner,
}

enum Inner {
    /// A tokio task sleeping until the timer fires.
    Task(JoinHandle<()>),
    /// A timer kept by an effects sink (a unit-test harness's virtual clock).
    Effect(Arc<dyn Effects>, u64),
}

impl TimerRef {
    pub(crate) fn effect(effects: Arc<dyn Effects>, id: u64) -> Self {
        TimerRef {
            inner: Inner::Effect(effects, id),
        }
    }

    /// Cancels the timer. False if it already fired (or was cancelled).
    pub fn cancel(&self) -> bool {
        match &self.inner {
            Inner::Task(task) => {
                let pending = !task.is_finished();
                task.abort();
                pending
            }
            Inner::Effect(fx, id) => fx.cancel_timer(*id),
        }
    }

    /// True once a one-shot timer fired or any timer was cancelled.
    pub fn is_finished(&self) -> bool {
        match &self.inner {
            Inner::Task(task) => task.is_finished(),
            Inner::Effect(fx, id) => fx.timer_finished(*id),
        }
    }

    pub(crate) fn abort_handle(&self) -> Option<AbortHandle> {
        match &self.inner {
            Inner::Task(task) => Some(task.abort_handle()),
            Inner::Effect(..) => None,
        }
    }
}

impl std::fmt::Debug for TimerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Task(task) => write!(f, "TimerRef({:?})", task.id()),
            Inner::Effect(_, id) => write!(f, "TimerRef(virtual {id})"),
        }
    }
}

pub(crate) fn send_after<B, M>(node: &Node, to: ActorRef<B>, msg: M, delay: Duration) -> TimerRef
where
    B: Handles<M>,
    M: Send + 'static,
{
    let task = node.inner().runtime.spawn(async move {
        tokio::time::sleep(delay).await;
        let _ = to.send(msg);
    });
    TimerRef {
        inner: Inner::Task(task),
    }
}

pub(crate) fn send_every<B, M>(node: &Node, to: ActorRef<B>, msg: M, period: Duration) -> TimerRef
where
    B: Handles<M>,
    M: Clone + Send + 'static,
{
    let task = node.inner().runtime.spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            // A full mailbox skips a tick; a dead target ends the timer.
            if let Err(SendError::NoProcess(_)) = to.send(msg.clone()) {
                break;
            }
        }
    });
    TimerRef {
        inner: Inner::Task(task),
    }
}

impl Node {
    /// Sends `msg` to `to` after `delay` (a node-level timer: cancel it by hand).
    pub fn send_after<B, M>(&self, to: &ActorRef<B>, msg: M, delay: Duration) -> TimerRef
    where
        B: Handles<M>,
        M: Send + 'static,
    {
        send_after(self, to.clone(), msg, delay)
    }
}
