//! [`ReplyTo`]: the token a call handler answers through, exactly once.

use std::fmt;

use crate::call::SlotWriter;
use crate::error::CallError;

/// Kept to two words (plus the tag) on purpose: a token travels inside every call
/// envelope, and the envelope type is as large as its largest variant, so a larger
/// token would make every message of the actor larger.
enum Inner<R> {
    /// Straight into the caller's reply slot.
    Direct(SlotWriter),
    Mapped(Box<dyn FnOnce(Result<R, CallError>) + Send>),
}

impl<R> Inner<R> {
    fn finish(self, result: Result<R, CallError>) {
        match self {
            // The caller may have given up: a late reply is dropped silently.
            Inner::Direct(writer) => writer.put(result),
            Inner::Mapped(f) => f(result),
        }
    }
}

/// The answer of a token dropped unanswered, boxed so it can wait for the reason (see
/// `process::guard`). A function pointer made where `R: Send + 'static` is known, so
/// `Drop` (which cannot require it) can box it.
type Orphan<R> = fn(Inner<R>) -> crate::process::guard::Orphan;

fn orphan<R: Send + 'static>(inner: Inner<R>) -> crate::process::guard::Orphan {
    Box::new(move |err| inner.finish(Err(err)))
}

/// The right to answer one call. `send` consumes it, so a call is answered at most
/// once by construction. It is `Send`: a handler may move it into a message to
/// another process, which answers later. A reply to a caller that gave up is dropped.
///
/// Dropping it unanswered tells the caller at once: with
/// [`CallError::Exited`]`(reason)` if it was dropped because the process holding it
/// ended (a panic in the handler, a stop with a reply still pending), else with
/// [`CallError::NoReply`].
#[must_use = "a dropped ReplyTo answers the caller with CallError::NoReply"]
pub struct ReplyTo<R> {
    inner: Option<Inner<R>>,
    orphan: Orphan<R>,
}

impl<R: Send + 'static> ReplyTo<R> {
    pub(crate) fn new(writer: SlotWriter) -> Self {
        ReplyTo {
            inner: Some(Inner::Direct(writer)),
            orphan: orphan::<R>,
        }
    }

    /// A token that hands the outcome to `f` (for callers outside the typed world: an
    /// untyped call, a remote caller).
    pub fn from_fn(f: impl FnOnce(Result<R, CallError>) + Send + 'static) -> Self {
        ReplyTo {
            inner: Some(Inner::Mapped(Box::new(f))),
            orphan: orphan::<R>,
        }
    }

    /// Answers the call.
    pub fn send(mut self, reply: R) {
        self.finish(Ok(reply));
    }

    /// Answers with an error instead of a reply.
    pub fn fail(mut self, err: CallError) {
        self.finish(Err(err));
    }

    /// Drops the token without telling anyone (the call never reached a mailbox).
    pub(crate) fn disarm(mut self) {
        self.inner = None;
    }

    /// True if the caller stopped waiting (timed out or gone).
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            Some(Inner::Direct(writer)) => writer.is_closed(),
            _ => false,
        }
    }

    /// A token for a reply of another type, converted with `wrap` on the way (the
    /// macro turns `ReplyTo<CounterReply>` into the handler's `ReplyTo<u64>`).
    pub fn map<T: Send + 'static>(self, wrap: fn(T) -> R) -> ReplyTo<T> {
        let mut this = self;
        let inner = this.inner.take();
        ReplyTo {
            inner: Some(Inner::Mapped(Box::new(
                move |result: Result<T, CallError>| {
                    if let Some(inner) = inner {
                        inner.finish(result.map(wrap));
                    }
                },
            ))),
            orphan: orphan::<T>,
        }
    }

    fn finish(&mut self, result: Result<R, CallError>) {
        if let Some(inner) = self.inner.take() {
            inner.finish(result);
        }
    }
}

impl<R> Drop for ReplyTo<R> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        if crate::process::guard::plain_drop() {
            inner.finish(Err(CallError::NoReply));
        } else {
            crate::process::guard::dropped_token((self.orphan)(inner));
        }
    }
}

impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyTo(..)")
    }
}
