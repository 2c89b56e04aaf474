//! Logging for a node: text (coloured only on a terminal) or JSON lines, to standard
//! output or to files rotated by tracing-appender, per-process levels changed at run
//! time ([`set_process_level`]), the last records kept for the Observer ([`recent`]),
//! processes as loggers ([`add_process_logger`]), and a rate limit per callsite
//! ([`LogConfig::rate_limit`]: a flood from one line of code is cut to a burst and a
//! steady rate, with a summary line saying how many records were dropped).
//!
//! ```no_run
//! use ergo_observer::log::{LogConfig, LogFormat, Rotation};
//! let _guard = ergo_observer::log::LogConfig::new()
//!     .format(LogFormat::Json)
//!     .file("/var/log/myapp", "node", Rotation::DAILY, 7)
//!     .init()
//!     .expect("no other global logger");
//! ```

mod capture;
mod levels;
mod limit;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing::level_filters::LevelFilter;
use tracing::Subscriber;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, Registry};

pub use capture::{
    add_process_logger, recent, remove_process_logger, CaptureLayer, LogRecord, KEPT_RECORDS,
};
pub use levels::{process_level, set_process_level, ProcessLevelFilter};
pub use limit::{RateLimitLayer, SUMMARY_MESSAGE};

/// Records a callsite writes at once before the default rate limit applies.
pub const DEFAULT_BURST: u32 = 100;
/// After its burst, a callsite gets one more record per this interval (100 a second).
pub const DEFAULT_REFILL: Duration = Duration::from_millis(10);
pub use tracing_appender::rolling::Rotation;

/// How lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable text; coloured only when written to a terminal.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields.message`, `target`,
    /// `span` with the process's `pid` and `name`).
    Json,
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A global logger was set already.
    #[error("a global logger is already set")]
    AlreadySet,
    /// The log directory could not be used.
    #[error("cannot write logs to {0}: {1}")]
    File(PathBuf, String),
}

#[derive(Clone, Debug)]
struct FileTarget {
    dir: PathBuf,
    prefix: String,
    rotation: Rotation,
    keep: usize,
}

/// What [`LogConfig::init`] sets up.
#[derive(Clone, Debug)]
pub struct LogConfig {
    format: LogFormat,
    level: LevelFilter,
    file: Option<FileTarget>,
    limit: Option<(u32, Duration)>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig::new()
    }
}

/// Keeps the background writer of a file logger running; dropping it flushes and stops
/// it.
#[must_use = "dropping the guard stops writing logs to the file"]
pub struct LogGuard {
    _writer: Option<WorkerGuard>,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogGuard")
    }
}

impl LogConfig {
    /// Text to standard output at `INFO`, each callsite limited to [`DEFAULT_BURST`]
    /// records at once and one per [`DEFAULT_REFILL`] after that.
    pub fn new() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: LevelFilter::INFO,
            file: None,
            limit: Some((DEFAULT_BURST, DEFAULT_REFILL)),
        }
    }

    /// Limits each callsite to `burst` records at once, then one per `refill`
    /// (`None`: no limit). What is dropped is counted and reported in a summary line
    /// (`similar log lines suppressed`, with `kind` = the callsite and `suppressed`)
    /// written just before the callsite's next record.
    pub fn rate_limit(mut self, limit: Option<(u32, Duration)>) -> Self {
        self.limit = limit;
        self
    }

    /// The line format.
    pub fn format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// The default level (processes may have their own).
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.level = level;
        self
    }

    /// Writes to files `dir/prefix.<date>` rotated by `rotation`, keeping the newest
    /// `keep` files (0: all).
    pub fn file(
        mut self,
        dir: impl Into<PathBuf>,
        prefix: impl Into<String>,
        rotation: Rotation,
        keep: usize,
    ) -> Self {
        self.file = Some(FileTarget {
            dir: dir.into(),
            prefix: prefix.into(),
            rotation,
            keep,
        });
        self
    }

    /// The subscriber this configuration describes, and the guard of its file writer
    /// (for `tracing::subscriber::with_default`, or [`LogConfig::init`]).
    pub fn build(&self) -> Result<(Box<dyn Subscriber + Send + Sync>, LogGuard), LogError> {
        let filter = ProcessLevelFilter::new(self.level);
        let (writer, guard, ansi) = match &self.file {
            Some(f) => {
                let mut builder = tracing_appender::rolling::Builder::new()
                    .rotation(f.rotation.clone())
                    .filename_prefix(&f.prefix);
                if f.keep > 0 {
                    builder = builder.max_log_files(f.keep);
                }
                let appender = builder
                    .build(&f.dir)
                    .map_err(|e| LogError::File(f.dir.clone(), e.to_string()))?;
                let (writer, guard) = tracing_appender::non_blocking(appender);
                (writer, Some(guard), false)
            }
            None => {
                let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
                (writer, Some(guard), std::io::stdout().is_terminal())
            }
        };
        let writer = limit::WithSummaries {
            inner: writer,
            json: self.format == LogFormat::Json,
        };
        let output = match self.format {
            LogFormat::Text => tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(ansi)
                .with_filter(filter)
                .boxed(),
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(writer)
                .with_filter(filter)
                .boxed(),
        };
        let limiter = self.limit.map(|(burst, refill)| {
            RateLimitLayer::new(Arc::new(ergo_runtime::LogLimiter::new(burst, refill)))
        });
        let subscriber = Registry::default()
            .with(limiter)
            .with(output)
            .with(CaptureLayer.with_filter(filter));
        Ok((Box::new(subscriber), LogGuard { _writer: guard }))
    }

    /// Sets this configuration as the program's global logger.
    pub fn init(&self) -> Result<LogGuard, LogError> {
        let (subscriber, guard) = self.build()?;
        tracing::subscriber::set_global_default(subscriber).map_err(|_| LogError::AlreadySet)?;
        Ok(guard)
    }
}
