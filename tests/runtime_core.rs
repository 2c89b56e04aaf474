//! Runtime core behaviour.
