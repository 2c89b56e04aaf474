//! The local call path: reusable reply slots (no channel per call) and the node's call
//! deadlines (no timer per call).

pub(crate) mod slot;
pub(crate) mod timers;

pub(crate) use slot::{Pending, Polled, SlotWriter};
pub(crate) use timers::CallTimers;
