//! Which process the current scheduler thread is running: the sender of messages, the
//! owner of timers, and the self-call check.

use std::cell::Cell;
use std::ptr;

use super::core::Core;
use crate::pid::Pid;
use crate::sched;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// Restores the previous current process on drop.
pub(crate) struct Guard(*const Core);

impl Drop for Guard {
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

/// Marks `core` as the running process until the guard drops.
pub(crate) fn enter(core: &Core) -> Guard {
    Guard(CURRENT.replace(core))
}

/// Runs `f` with the running process's core, if code runs inside a process.
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let core = CURRENT.get();
    // SAFETY: set by `enter` for the duration of a turn, during which the cell (and so
    // its core) is kept alive by the running scheduler.
    unsafe { core.as_ref() }.map(f)
}

/// True while code runs inside a process.
pub(crate) fn inside() -> bool {
    !CURRENT.get().is_null()
}

/// True if `core` is the running process (a call to it would deadlock).
pub(crate) fn is(core: &Core) -> bool {
    ptr::eq(CURRENT.get(), core)
}

/// The running process's pid, if any.
pub(crate) fn pid() -> Option<Pid> {
    with(Core::pid)
}

/// Counts a send by the running process (a reduction, and its messages-out counter).
#[inline]
pub(crate) fn count_send() {
    if with(Core::count_sent).is_some() {
        sched::reduce();
    }
}
