//! ergo: Erlang/OTP-style actors for Rust.
//!
//! Re-exports the runtime ([`ergo_runtime`]) and the `#[actor]` macros.

pub use ergo_runtime::*;

/// What most programs need: `use ergo::prelude::*;`.
pub mod prelude {
    pub use ergo_runtime::{
        Actor, ActorRef, CallError, Context, Down, Exit, Node, Pid, Priority, Reason, ReplyTo,
        SendError, SpawnOptions, Step,
    };
}
