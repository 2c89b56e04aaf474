//! Guarded sections: the runtime runs user code (init, handlers, `terminate`, blocking
//! jobs) under `catch_unwind`. A panic there is the process's crash, reported once
//! through `tracing` with the process's pid and name; the panic hook the runtime
//! installs stays silent for it (and hands every other panic to the hook it replaced).
//!
//! Reply tokens dropped while a guarded section unwinds, or while a process terminates,
//! answer their callers with the process's exit reason ([`CallError::Exited`]) instead
//! of [`CallError::NoReply`]: a token dropped by a panic is parked here until the panic
//! is caught and its reason known.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

use crate::error::CallError;
use crate::reason::Reason;

/// A reply token dropped while its guarded section unwound: answers its caller once the
/// panic's reason is known.
pub(crate) type Orphan = Box<dyn FnOnce(CallError) + Send>;

thread_local! {
    /// Guarded sections this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Reply tokens dropped while unwinding, waiting for the panic's reason.
    static ORPHANS: RefCell<Vec<Orphan>> = const { RefCell::new(Vec::new()) };
    /// True while `ORPHANS` may hold something (spares a borrow per guarded section).
    static PARKED: Cell<bool> = const { Cell::new(false) };
    /// Where the panic being unwound happened, recorded by the hook.
    static CAUGHT: RefCell<Option<Site>> = const { RefCell::new(None) };
    /// The exit reason of the process terminating on this thread.
    static EXITING: RefCell<Option<Reason>> = const { RefCell::new(None) };
}

/// Where a panic happened: its location, and a backtrace if one was asked for
/// (`RUST_BACKTRACE` / `RUST_LIB_BACKTRACE`).
struct Site {
    location: Option<String>,
    backtrace: Option<Backtrace>,
}

/// A panic caught in a guarded section.
pub(crate) struct Crash {
    /// `Reason::Panic` with the panic's message.
    pub(crate) reason: Reason,
    location: Option<String>,
    backtrace: Option<Backtrace>,
}

impl Crash {
    /// Logs the crash once, at error level, with the process's pid and name.
    pub(crate) fn log(&self, what: &str, pid: crate::pid::Pid, name: Option<crate::pid::Atom>) {
        let name = name.map(|n| n.to_string()).unwrap_or_default();
        let location = self.location.as_deref().unwrap_or("unknown");
        let message = match &self.reason {
            Reason::Panic(msg) => msg.as_str(),
            _ => "",
        };
        match &self.backtrace {
            Some(bt) => tracing::error!(
                %pid, %name, at = location, backtrace = %format_args!("\n{bt}"),
                "{what} panicked: {message}"
            ),
            None => tracing::error!(%pid, %name, at = location, "{what} panicked: {message}"),
        }
    }
}

/// Runs `f` in a guarded section: a panic comes back as a [`Crash`] (the default panic
/// output is not printed), and reply tokens it dropped answer their callers with it.
#[inline]
pub(crate) fn run<R>(f: impl FnOnce() -> R) -> Result<R, Crash> {
    DEPTH.set(DEPTH.get() + 1);
    let result = catch_unwind(AssertUnwindSafe(f));
    DEPTH.set(DEPTH.get() - 1);
    match result {
        Ok(value) => {
            // Tokens dropped by a panic that user code caught itself: as before the
            // guard existed, their callers learn that no reply comes.
            answer_orphans(|| CallError::NoReply);
            Ok(value)
        }
        Err(payload) => Err(crashed(payload)),
    }
}

fn crashed(payload: Box<dyn Any + Send>) -> Crash {
    let reason = panic_reason(&*payload);
    drop(payload);
    let site = CAUGHT.with(|c| c.borrow_mut().take());
    answer_orphans(|| CallError::Exited(reason.clone()));
    let (location, backtrace) = match site {
        Some(site) => (site.location, site.backtrace),
        None => (None, None),
    };
    Crash {
        reason,
        location,
        backtrace,
    }
}

fn answer_orphans(err: impl Fn() -> CallError) {
    if !PARKED.get() {
        return;
    }
    PARKED.set(false);
    loop {
        let orphans = ORPHANS.with(|o| std::mem::take(&mut *o.borrow_mut()));
        if orphans.is_empty() {
            return;
        }
        for orphan in orphans {
            orphan(err());
        }
    }
}

/// `Reason::Panic` with the payload's message.
pub(crate) fn panic_reason(payload: &(dyn Any + Send)) -> Reason {
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    };
    Reason::Panic(msg)
}

/// Where a reply token dropped unanswered goes: parked if a guarded section is
/// unwinding (answered with the panic once it is caught), else answered now with the
/// exit reason of the process terminating on this thread, or `NoReply`.
pub(crate) fn dropped_token(answer: Orphan) {
    if std::thread::panicking() && DEPTH.try_with(Cell::get).unwrap_or(0) > 0 {
        let mut answer = Some(answer);
        let _ = ORPHANS.try_with(|o| {
            if let Ok(mut o) = o.try_borrow_mut() {
                o.extend(answer.take());
                PARKED.set(true);
            }
        });
        // Parked, unless thread-local storage is already gone.
        if let Some(answer) = answer {
            answer(CallError::NoReply);
        }
        return;
    }
    let reason = EXITING
        .try_with(|e| e.try_borrow().ok().and_then(|r| r.clone()))
        .ok()
        .flatten();
    answer(reason.map_or(CallError::NoReply, CallError::Exited));
}

/// True if a reply token dropped now would answer `NoReply` (nothing to park, no
/// process terminating): the caller may skip building the parked answer.
#[inline]
pub(crate) fn plain_drop() -> bool {
    !std::thread::panicking() && EXITING.try_with(|e| e.borrow().is_none()).unwrap_or(true)
}

/// Runs `f` while the process terminates with `reason`: reply tokens it drops answer
/// with `CallError::Exited(reason)`.
pub(crate) fn exiting<R>(reason: &Reason, f: impl FnOnce() -> R) -> R {
    let previous = EXITING.with(|e| e.borrow_mut().replace(reason.clone()));
    struct Restore(Option<Reason>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            let _ = EXITING.try_with(|e| *e.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

/// Installs the runtime's panic hook (once per program): silent for panics inside a
/// guarded section (they are logged through `tracing` where they are caught), the
/// previous hook for every other panic.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let guarded = DEPTH.try_with(Cell::get).unwrap_or(0) > 0;
            if !guarded {
                return previous(info);
            }
            let backtrace = Backtrace::capture();
            let site = Site {
                location: info.location().map(|l| l.to_string()),
                backtrace: (backtrace.status() == BacktraceStatus::Captured).then_some(backtrace),
            };
            let _ = CAUGHT.try_with(|c| {
                if let Ok(mut c) = c.try_borrow_mut() {
                    *c = Some(site);
                }
            });
        }));
    });
}

/// A future polled in a guarded section: a panic while polling ends it with the
/// [`Crash`].
pub(crate) struct Guarded<F>(pub(crate) F);

impl<F: Future + Unpin> Future for Guarded<F> {
    type Output = Result<F::Output, Crash>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match run(|| Pin::new(inner).poll(cx)) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(crash) => Poll::Ready(Err(crash)),
        }
    }
}
