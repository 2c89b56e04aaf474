//! Timers: send a message after a delay, or every period. Cancellable; a process's
//! timers die with it.

use std::time::Duration;

use tokio::task::{AbortHandle, JoinHandle};

use crate::actor::Handles;
use crate::actor_ref::ActorRef;
use crate::error::SendError;
use crate::node::Node;

/// A pending timer. Dropping it does not cancel it; call [`TimerRef::cancel`].
#[derive(Debug)]
pub struct TimerRef {
    task: JoinHandle<()>,
}

impl TimerRef {
    /// Cancels the timer. False if it already fired (or was cancelled).
    pub fn cancel(&self) -> bool {
        let pending = !self.task.is_finished();
        self.task.abort();
        pending
    }

    /// True once a one-shot timer fired or any timer was cancelled.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    pub(crate) fn abort_handle(&self) -> AbortHandle {
        self.task.abort_handle()
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
    TimerRef { task }
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
    TimerRef { task }
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
