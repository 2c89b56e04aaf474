//! Holds nothing: the cases are under `fail/` and `pass/`, run by `tests/ui.rs`.
