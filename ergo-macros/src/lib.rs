//! Procedural macros of ergo: `#[actor]` and its handler attributes.
