//! Rate limits in the logging layer: each callsite (its static name, `event
//! src/x.rs:12`) is a kind of the core's [`LogLimiter`]. A record of a callsite with no
//! line left is dropped for every output; the next record of that callsite that passes
//! is preceded in the written output by one summary line with the number suppressed
//! (`suppressed`, `kind`), and the Observer's copy of it carries `suppressed_before`.

use std::cell::Cell;
use std::io::Write;
use std::sync::Arc;

use ergo_runtime::{Admit, LogLimiter};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

/// The message of the summary line.
pub const SUMMARY_MESSAGE: &str = "similar log lines suppressed";

thread_local! {
    /// The callsite of the record being written and how many of its records were
    /// suppressed before it (set for each record that passes the limit).
    static RESUMED: Cell<(usize, u64)> = const { Cell::new((0, 0)) };
}

fn key(meta: &Metadata<'_>) -> usize {
    meta as *const Metadata<'_> as *const () as usize
}

/// Records of the callsite `meta` suppressed just before the record being written.
pub(crate) fn resumed(meta: &Metadata<'_>) -> Option<u64> {
    let (at, n) = RESUMED.get();
    (at == key(meta) && n > 0).then_some(n)
}

/// The layer that drops what a callsite logs beyond its limit (for every layer of the
/// subscriber: it answers `event_enabled`).
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    limiter: Arc<LogLimiter>,
}

impl RateLimitLayer {
    /// Limits each callsite with `limiter`.
    pub fn new(limiter: Arc<LogLimiter>) -> Self {
        RateLimitLayer { limiter }
    }

    /// The limiter (its suppressed totals, for instance).
    pub fn limiter(&self) -> &Arc<LogLimiter> {
        &self.limiter
    }
}

impl<S: Subscriber> Layer<S> for RateLimitLayer {
    fn event_enabled(&self, event: &Event<'_>, _cx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        match self.limiter.admit(meta.name()) {
            Admit::Suppress => false,
            Admit::Log { suppressed } => {
                RESUMED.set((key(meta), suppressed));
                true
            }
        }
    }
}

/// Wraps a writer maker so that a record following suppressed ones is preceded by its
/// summary line.
#[derive(Clone, Debug)]
pub(crate) struct WithSummaries<M> {
    pub(crate) inner: M,
    pub(crate) json: bool,
}

/// The writer of one record, with the summary line still to write first, if any.
pub(crate) struct SummaryWriter<W> {
    inner: W,
    pending: Option<Vec<u8>>,
}

fn summary_line(json: bool, meta: &Metadata<'_>, suppressed: u64) -> Vec<u8> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut line = if json {
        serde_json::json!({
            "timestamp": now,
            "level": "WARN",
            "fields": {"message": SUMMARY_MESSAGE, "kind": meta.name(), "suppressed": suppressed},
            "target": meta.target(),
        })
        .to_string()
    } else {
        format!(
            "{now}  WARN {}: {SUMMARY_MESSAGE} kind={:?} suppressed={suppressed}",
            meta.target(),
            meta.name()
        )
    }
    .into_bytes();
    line.push(b'\n');
    line
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for WithSummaries<M> {
    type Writer = SummaryWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        SummaryWriter {
            inner: self.inner.make_writer(),
            pending: None,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        SummaryWriter {
            inner: self.inner.make_writer_for(meta),
            pending: resumed(meta).map(|n| summary_line(self.json, meta, n)),
        }
    }
}

impl<W: Write> Write for SummaryWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(line) = self.pending.take() {
            self.inner.write_all(&line)?;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
