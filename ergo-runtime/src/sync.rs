//! Atomics used by the lock-free parts, swapped for loom's under `--cfg ergo_loom` (a cfg of our own, so tokio keeps its networking) so the
//! mailbox and wake-up protocol can be model-checked.

#[cfg(ergo_loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU8};
#[cfg(not(ergo_loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU8};

pub(crate) use std::sync::atomic::Ordering;

/// Spin hint while another thread finishes a short critical step.
pub(crate) fn spin() {
    #[cfg(ergo_loom)]
    loom::thread::yield_now();
    #[cfg(not(ergo_loom))]
    std::hint::spin_loop();
}
