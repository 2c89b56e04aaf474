//! Log records kept and forwarded: the last records of the node (the Observer's log
//! view, per process), and processes registered as loggers, which receive each record
//! as a [`LogRecord`] message in their log queue (to ship them elsewhere, for instance).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use ergo_runtime::{Node, Pid, Priority};
use parking_lot::Mutex;
use serde::Serialize;
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// How many records [`recent`] keeps.
pub const KEPT_RECORDS: usize = 2048;

/// One log record.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LogRecord {
    /// When it was emitted.
    pub time: DateTime<Utc>,
    /// `ERROR` .. `TRACE`.
    pub level: String,
    /// The module (or target) that emitted it.
    pub target: String,
    /// Its message.
    pub message: String,
    /// Its other fields, as text.
    pub fields: Vec<(String, String)>,
    /// The process whose handler emitted it.
    #[serde(serialize_with = "pid_text")]
    pub pid: Option<Pid>,
}

fn pid_text<S: serde::Serializer>(pid: &Option<Pid>, s: S) -> Result<S::Ok, S::Error> {
    match pid {
        Some(p) => s.serialize_some(&p.to_string()),
        None => s.serialize_none(),
    }
}

struct Logger {
    node: Node,
    pid: Pid,
    level: LevelFilter,
}

struct Hub {
    recent: Mutex<VecDeque<LogRecord>>,
    loggers: Mutex<Vec<Logger>>,
}

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| Hub {
        recent: Mutex::new(VecDeque::with_capacity(KEPT_RECORDS)),
        loggers: Mutex::new(Vec::new()),
    })
}

thread_local! {
    /// Set while a record is being forwarded: what logging that causes is not forwarded
    /// again.
    static FORWARDING: Cell<bool> = const { Cell::new(false) };
}

/// Makes the process `pid` of `node` a logger: every record at `level` or more severe
/// is sent to it as a [`LogRecord`] (log queue). It is dropped from the loggers when it
/// is gone.
pub fn add_process_logger(node: &Node, pid: Pid, level: LevelFilter) {
    hub().loggers.lock().push(Logger {
        node: node.clone(),
        pid,
        level,
    });
}

/// Stops sending records to `pid`; false if it was not a logger.
pub fn remove_process_logger(pid: Pid) -> bool {
    let mut loggers = hub().loggers.lock();
    let before = loggers.len();
    loggers.retain(|l| l.pid != pid);
    loggers.len() != before
}

/// The records kept (at most [`KEPT_RECORDS`], oldest first), of one process if `pid`
/// is given.
pub fn recent(pid: Option<Pid>, limit: usize) -> Vec<LogRecord> {
    let recent = hub().recent.lock();
    let mut out: Vec<LogRecord> = recent
        .iter()
        .rev()
        .filter(|r| pid.is_none() || r.pid == pid)
        .take(limit)
        .cloned()
        .collect();
    out.reverse();
    out
}

/// The layer that keeps records and forwards them to logger processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct CaptureLayer;

impl<S: Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        if FORWARDING.get() {
            return;
        }
        let mut fields = ergo_runtime::LogFields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        if let Some(n) = super::limit::resumed(meta) {
            fields
                .fields
                .push(("suppressed_before".to_owned(), n.to_string()));
        }
        let record = LogRecord {
            time: Utc::now(),
            level: meta.level().to_string(),
            target: meta.target().to_owned(),
            message: fields.message,
            fields: fields.fields,
            pid: ergo_runtime::current_pid(),
        };
        forward(&record, *meta.level());
        let mut recent = hub().recent.lock();
        if recent.len() == KEPT_RECORDS {
            recent.pop_front();
        }
        recent.push_back(record);
    }
}

fn forward(record: &LogRecord, level: Level) {
    let hub = hub();
    let targets: Vec<(Node, Pid)> = hub
        .loggers
        .lock()
        .iter()
        .filter(|l| level <= l.level && Some(l.pid) != record.pid)
        .map(|l| (l.node.clone(), l.pid))
        .collect();
    if targets.is_empty() {
        return;
    }
    FORWARDING.set(true);
    let mut gone = Vec::new();
    for (node, pid) in targets {
        if let Err(ergo_runtime::SendError::NoProcess(_)) =
            node.send_with_priority(pid, record.clone(), Priority::Low)
        {
            gone.push(pid);
        }
    }
    FORWARDING.set(false);
    if !gone.is_empty() {
        hub.loggers.lock().retain(|l| !gone.contains(&l.pid));
    }
}
