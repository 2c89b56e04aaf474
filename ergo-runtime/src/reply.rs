//! [`ReplyTo`]: the token a call handler answers through, exactly once.

use std::fmt;

use tokio::sync::oneshot;

use crate::error::CallError;

type Slot<R> = oneshot::Sender<Result<R, CallError>>;

enum Inner<R> {
    Direct(Slot<R>),
    Mapped(Box<dyn FnOnce(Result<R, CallError>) + Send>),
}

/// The right to answer one call. `send` consumes it, so a call is answered at most
/// once by construction; dropping it unanswered tells the caller at once
/// ([`CallError::NoReply`]). It is `Send`: a handler may move it into a message to
/// another process, which answers later. A reply to a caller that gave up is dropped.
#[must_use = "a dropped ReplyTo answers the caller with CallError::NoReply"]
pub struct ReplyTo<R> {
    inner: Option<Inner<R>>,
}

impl<R: Send + 'static> ReplyTo<R> {
    pub(crate) fn new(slot: Slot<R>) -> Self {
        ReplyTo {
            inner: Some(Inner::Direct(slot)),
        }
    }

    /// A token that hands the outcome to `f` (for callers outside the typed world: an
    /// untyped call, a remote caller).
    pub fn from_fn(f: impl FnOnce(Result<R, CallError>) + Send + 'static) -> Self {
        ReplyTo {
            inner: Some(Inner::Mapped(Box::new(f))),
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
            Some(Inner::Direct(slot)) => slot.is_closed(),
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
                    let mut back = ReplyTo { inner };
                    back.finish(result.map(wrap));
                },
            ))),
        }
    }

    fn finish(&mut self, result: Result<R, CallError>) {
        match self.inner.take() {
            // The caller may have given up: a late reply is dropped silently.
            Some(Inner::Direct(slot)) => drop(slot.send(result)),
            Some(Inner::Mapped(f)) => f(result),
            None => {}
        }
    }
}

impl<R> Drop for ReplyTo<R> {
    fn drop(&mut self) {
        match self.inner.take() {
            Some(Inner::Direct(slot)) => drop(slot.send(Err(CallError::NoReply))),
            Some(Inner::Mapped(f)) => f(Err(CallError::NoReply)),
            None => {}
        }
    }
}

impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyTo(..)")
    }
}
