//! Cron: jobs fired on a schedule with second resolution ([`Schedule`]), each in its
//! own time zone, whose action sends a message, spawns a process or runs a closure.
//! Jobs are added, enabled, disabled and removed at run time; a fallback process is
//! told of failed actions ([`CronFailure`]). The clock is pluggable ([`Clock`]), so
//! tests move time by hand.
//!
//! When the clock jumps over several instants of a job (the machine slept, the clock
//! was set forward), the job fires once, for the first instant it missed.

mod schedule;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ergo_runtime::{Actor, NoInitArgs, Node, Pid, Target};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::Notify;

pub use schedule::Schedule;

use crate::clock::Clock;

/// Why a job could not be added or changed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CronError {
    /// The spec does not parse.
    #[error("bad cron spec {0:?}: {1}")]
    BadSpec(String, String),
    /// A job of this name exists.
    #[error("a cron job named {0:?} exists")]
    Duplicate(String),
    /// No job of this name.
    #[error("no cron job named {0:?}")]
    NoJob(String),
    /// The time zone name is not in the tz database.
    #[error("unknown time zone {0:?}")]
    BadTimeZone(String),
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type SendFn = dyn Fn(&Node, Target) -> Result<(), String> + Send + Sync;
type SpawnFn = dyn Fn(Node) -> BoxFuture<Result<Pid, String>> + Send + Sync;
type RunFn = dyn Fn(&Node, DateTime<Utc>) -> Result<(), String> + Send + Sync;

/// What a job does when it fires.
#[derive(Clone)]
pub enum Action {
    /// Sends a fresh message to a process (by pid, name or alias).
    Send(Target, Arc<SendFn>),
    /// Spawns a process.
    Spawn(Arc<SpawnFn>),
    /// Runs a closure (on a tokio worker; keep it short), given the instant it fired
    /// for.
    Run(Arc<RunFn>),
}

impl Action {
    /// Sends a clone of `msg` to `to` each time.
    pub fn send<M: Clone + Send + Sync + 'static>(to: impl Into<Target>, msg: M) -> Action {
        Action::Send(
            to.into(),
            Arc::new(move |node: &Node, to: Target| {
                node.send(to, msg.clone()).map_err(|e| e.to_string())
            }),
        )
    }

    /// Spawns the actor `make` builds each time.
    pub fn spawn<A, F>(make: F) -> Action
    where
        A: Actor,
        A::Args: NoInitArgs,
        F: Fn() -> A + Send + Sync + 'static,
    {
        let make = Arc::new(make);
        Action::Spawn(Arc::new(move |node: Node| {
            let actor = make();
            Box::pin(async move {
                node.spawn(actor)
                    .await
                    .map(|r| r.pid())
                    .map_err(|e| e.to_string())
            })
        }))
    }

    /// Runs `f` each time; an `Err` goes to the fallback process.
    pub fn run(
        f: impl Fn(&Node, DateTime<Utc>) -> Result<(), String> + Send + Sync + 'static,
    ) -> Action {
        Action::Run(Arc::new(f))
    }
}

/// Sent to the fallback process when a job's action failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CronFailure {
    /// The job.
    pub job: String,
    /// The instant it fired for.
    pub at: DateTime<Utc>,
    /// What went wrong.
    pub error: String,
}

/// A job as listed by [`Cron::jobs`].
#[derive(Clone, Debug, Serialize)]
pub struct JobInfo {
    /// Its name.
    pub name: String,
    /// Its spec.
    pub spec: String,
    /// Its time zone.
    pub time_zone: String,
    /// Whether it fires.
    pub enabled: bool,
    /// When it fires next.
    pub next: Option<DateTime<Utc>>,
    /// When it last fired.
    pub last: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
}

struct Job {
    schedule: Schedule,
    action: Action,
    enabled: bool,
    next: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

struct Inner {
    node: Node,
    clock: Arc<dyn Clock>,
    jobs: Mutex<BTreeMap<String, Job>>,
    fallback: Mutex<Option<Pid>>,
    changed: Notify,
}

/// A node's cron scheduler. Cheap to clone; it stops when the last clone is dropped or
/// the node stops.
#[derive(Clone)]
pub struct Cron(Arc<Inner>);

impl Cron {
    /// Starts a scheduler for `node` reading `clock` (`SystemClock` in production).
    pub fn start(node: &Node, clock: Arc<dyn Clock>) -> Cron {
        let inner = Arc::new(Inner {
            node: node.clone(),
            clock,
            jobs: Mutex::new(BTreeMap::new()),
            fallback: Mutex::new(None),
            changed: Notify::new(),
        });
        tokio::spawn(run(Arc::downgrade(&inner)));
        Cron(inner)
    }

    /// Adds a job firing on `spec` in UTC.
    pub fn add(&self, name: &str, spec: &str, action: Action) -> Result<(), CronError> {
        self.add_in(name, spec, Tz::UTC, action)
    }

    /// Adds a job firing on `spec` read on the wall clock of `tz` (see [`Schedule`]
    /// for daylight saving).
    pub fn add_in(&self, name: &str, spec: &str, tz: Tz, action: Action) -> Result<(), CronError> {
        let schedule = Schedule::parse(spec, tz)?;
        let now = self.0.clock.now();
        let mut jobs = self.0.jobs.lock();
        if jobs.contains_key(name) {
            return Err(CronError::Duplicate(name.to_owned()));
        }
        jobs.insert(
            name.to_owned(),
            Job {
                next: schedule.next_after(now),
                schedule,
                action,
                enabled: true,
                last: None,
                last_error: None,
            },
        );
        drop(jobs);
        self.0.changed.notify_one();
        Ok(())
    }

    /// Parses a time zone name (`Europe/Paris`).
    pub fn time_zone(name: &str) -> Result<Tz, CronError> {
        name.parse()
            .map_err(|_| CronError::BadTimeZone(name.to_owned()))
    }

    /// Enables or disables a job. Enabling it schedules it from now on.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), CronError> {
        let now = self.0.clock.now();
        let mut jobs = self.0.jobs.lock();
        let job = jobs
            .get_mut(name)
            .ok_or_else(|| CronError::NoJob(name.to_owned()))?;
        if enabled && !job.enabled {
            job.next = job.schedule.next_after(now);
        }
        job.enabled = enabled;
        drop(jobs);
        self.0.changed.notify_one();
        Ok(())
    }

    /// Removes a job.
    pub fn remove(&self, name: &str) -> Result<(), CronError> {
        self.0
            .jobs
            .lock()
            .remove(name)
            .map(drop)
            .ok_or_else(|| CronError::NoJob(name.to_owned()))
    }

    /// The process told of failed actions ([`CronFailure`] messages).
    pub fn set_fallback(&self, pid: Option<Pid>) {
        *self.0.fallback.lock() = pid;
    }

    /// Every job, by name.
    pub fn jobs(&self) -> Vec<JobInfo> {
        self.0
            .jobs
            .lock()
            .iter()
            .map(|(name, j)| JobInfo {
                name: name.clone(),
                spec: j.schedule.spec().to_owned(),
                time_zone: j.schedule.time_zone().name().to_owned(),
                enabled: j.enabled,
                next: j.next,
                last: j.last,
                last_error: j.last_error.clone(),
            })
            .collect()
    }
}

/// The scheduler's loop: fire what is due, sleep until the next instant or a change.
async fn run(inner: Weak<Inner>) {
    loop {
        let wait = {
            let Some(inner) = inner.upgrade() else { return };
            if inner.node.is_stopping() {
                return;
            }
            let now = inner.clock.now();
            let due = take_due(&inner, now);
            for (name, at, action) in due {
                fire(&inner, name, at, action).await;
            }
            let next = inner
                .jobs
                .lock()
                .values()
                .filter(|j| j.enabled)
                .filter_map(|j| j.next)
                .min();
            let sleep = match next {
                Some(at) => inner.clock.sleep_until(at),
                // Nothing scheduled: look again now and then (the node may stop).
                None => inner.clock.sleep_until(now + chrono::Duration::seconds(60)),
            };
            let changed = inner.clone();
            let wait = async move {
                tokio::select! {
                    _ = sleep => {}
                    _ = changed.changed.notified() => {}
                }
            };
            wait
        };
        wait.await;
    }
}

fn take_due(inner: &Inner, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>, Action)> {
    let mut due = Vec::new();
    for (name, job) in inner.jobs.lock().iter_mut() {
        match job.next {
            Some(at) if job.enabled && at <= now => {
                due.push((name.clone(), at, job.action.clone()));
                job.last = Some(at);
                // Instants skipped by a jump of the clock are not fired one by one.
                job.next = job.schedule.next_after(at.max(now));
            }
            _ => {}
        }
    }
    due
}

async fn fire(inner: &Inner, name: String, at: DateTime<Utc>, action: Action) {
    let node = &inner.node;
    let result = match action {
        Action::Send(to, send) => send(node, to),
        Action::Spawn(spawn) => spawn(node.clone()).await.map(drop),
        Action::Run(f) => f(node, at),
    };
    if let Err(error) = result {
        tracing::warn!(job = %name, %error, "cron job failed");
        if let Some(job) = inner.jobs.lock().get_mut(&name) {
            job.last_error = Some(error.clone());
        }
        let fallback = *inner.fallback.lock();
        if let Some(pid) = fallback {
            let _ = node.send(
                pid,
                CronFailure {
                    job: name,
                    at,
                    error,
                },
            );
        }
    }
}
