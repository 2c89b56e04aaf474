//! [`Capture`]: a value the actor generated (a child's handle, a monitor's reference),
//! taken from the effect an assertion matched, for later assertions and inputs.

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

/// A slot an assertion fills with a value of the effect it matched (the last one, if
/// it matched several): `unit.should_spawn::<Worker>().capture(&worker).once()`, then
/// `worker.get()`. Cheap to clone; clones share the slot.
pub struct Capture<T>(Arc<Mutex<Option<T>>>);

impl<T> Capture<T> {
    /// An empty slot.
    pub fn new() -> Self {
        Capture(Arc::new(Mutex::new(None)))
    }

    pub(crate) fn set(&self, value: T) {
        *self.0.lock() = Some(value);
    }

    /// True once an assertion filled it.
    pub fn is_set(&self) -> bool {
        self.0.lock().is_some()
    }
}

impl<T: Clone> Capture<T> {
    /// The captured value. Panics if no assertion captured one.
    pub fn get(&self) -> T {
        self.try_get()
            .expect("nothing was captured: the assertion with `.capture(..)` matched nothing")
    }

    /// The captured value, if any.
    pub fn try_get(&self) -> Option<T> {
        self.0.lock().clone()
    }
}

impl<T> Default for Capture<T> {
    fn default() -> Self {
        Capture::new()
    }
}

impl<T> Clone for Capture<T> {
    fn clone(&self) -> Self {
        Capture(self.0.clone())
    }
}

impl<T: fmt::Debug> fmt::Debug for Capture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Capture({:?})", self.0.lock())
    }
}
