//! Testing ergo actors: one actor run by hand ("unit mode"), or real nodes ("stage
//! mode").
//!
//! Unit mode, [`unit::Unit`]: an actor's handlers run on the test's thread with a
//! recording context — no scheduler threads, virtual time. Drive it with sends, calls,
//! exit signals, downs and timer firings; assert on what it sent, called, spawned,
//! linked, monitored, registered, logged, and why it stopped; inject failures into
//! what it calls and spawns. See the [`unit`] module.
//!
//! Stage mode:
//! - [`eventually`]: wait for a condition, with a bound
//!   (`eventually(|| cond).within(d).await`).
//! - [`handled`] and [`wait_handled`]: how many messages a process has handled, and
//!   waiting until it has handled `n`.
//! - [`Cluster`] (feature `net`): several nodes on 127.0.0.1, networked, in one call.
//! - Tokio's paused clock: a node started under `#[tokio::test(start_paused = true)]`
//!   (or after `tokio::time::pause()`) makes virtual time wait for its processes: tokio
//!   advances the clock only while none of them has work, so timers, `send_after` and
//!   call timeouts fire at the same virtual instant on every run. This crate enables
//!   tokio's `test-util` feature for that. The node looks at the clock when it starts:
//!   pause it before (`start_paused` does). Only in-process work is waited for: bytes
//!   on their way through a socket are not, so networked tests keep a running clock.
//!
//! Use it as a dev-dependency, through the facade: `ergo = { .., features = ["testing"] }`
//! makes it `ergo::testing`.

mod eventually;
mod probe;
pub mod unit;

#[cfg(feature = "net")]
mod cluster;

#[cfg(feature = "net")]
pub use cluster::{Cluster, ClusterError};
pub use eventually::{eventually, Eventually, NotReached};
pub use probe::{handled, wait_handled, HandledWait};
