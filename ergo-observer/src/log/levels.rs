//! Per-process log levels changed at run time: a filter that asks which process is
//! running ([`ergo_runtime::current_pid`]) and applies that process's level, if it has
//! one, else the default.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use ergo_runtime::Pid;
use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::Metadata;
use tracing_subscriber::layer::{Context, Filter};

struct Levels {
    any: AtomicBool,
    by_pid: RwLock<FxHashMap<Pid, LevelFilter>>,
}

fn levels() -> &'static Levels {
    static LEVELS: OnceLock<Levels> = OnceLock::new();
    LEVELS.get_or_init(|| Levels {
        any: AtomicBool::new(false),
        by_pid: RwLock::new(FxHashMap::default()),
    })
}

/// Sets (or with `None`, clears) the log level of one process, at run time. Records
/// its handlers emit are then kept or dropped by this level instead of the default.
pub fn set_process_level(pid: Pid, level: Option<LevelFilter>) {
    let l = levels();
    {
        let mut map = l.by_pid.write();
        match level {
            Some(level) => map.insert(pid, level),
            None => map.remove(&pid),
        };
        l.any.store(!map.is_empty(), Ordering::Release);
    }
    // Callsites cached as always/never enabled are asked again.
    tracing::callsite::rebuild_interest_cache();
}

/// The level set for one process, if any.
pub fn process_level(pid: Pid) -> Option<LevelFilter> {
    levels().by_pid.read().get(&pid).copied()
}

fn max_override() -> Option<LevelFilter> {
    let l = levels();
    if !l.any.load(Ordering::Acquire) {
        return None;
    }
    l.by_pid.read().values().copied().max()
}

/// A filter by the running process's level, else `default`.
#[derive(Clone, Copy, Debug)]
pub struct ProcessLevelFilter {
    default: LevelFilter,
}

impl ProcessLevelFilter {
    /// A filter whose level outside processes and for processes without their own is
    /// `default`.
    pub fn new(default: LevelFilter) -> Self {
        ProcessLevelFilter { default }
    }

    fn level_now(&self) -> LevelFilter {
        let l = levels();
        if l.any.load(Ordering::Acquire) {
            if let Some(pid) = ergo_runtime::current_pid() {
                if let Some(level) = l.by_pid.read().get(&pid) {
                    return *level;
                }
            }
        }
        self.default
    }
}

impl<S> Filter<S> for ProcessLevelFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        *meta.level() <= self.level_now()
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        match max_override() {
            // Some process has its own level: ask at each record.
            Some(max) if *meta.level() <= max.max(self.default) => Interest::sometimes(),
            Some(_) => Interest::never(),
            None if *meta.level() <= self.default => Interest::always(),
            None => Interest::never(),
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Recomputed when a process's level changes (the interest cache is rebuilt).
        Some(max_override().map_or(self.default, |m| m.max(self.default)))
    }
}
