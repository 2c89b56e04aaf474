//! Kubernetes health probes: `/health/live`, `/health/ready`, `/health/startup`. Each
//! answers 200 while every signal registered for it is up, 503 otherwise. A signal is
//! down when it was set down, when the process that owns it died, or when its heartbeat
//! is overdue ([`Health`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use ergo_runtime::{Node, Pid};
use parking_lot::Mutex;
use serde::Serialize;

use crate::clock::{Clock, SystemClock};

/// A Kubernetes probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// `/health/live`: restart the container when it fails.
    Live,
    /// `/health/ready`: send no traffic while it fails.
    Ready,
    /// `/health/startup`: the other probes wait until it passes.
    Startup,
}

impl Probe {
    /// Every probe.
    pub const ALL: [Probe; 3] = [Probe::Live, Probe::Ready, Probe::Startup];

    fn parse(s: &str) -> Option<Probe> {
        match s {
            "live" => Some(Probe::Live),
            "ready" => Some(Probe::Ready),
            "startup" => Some(Probe::Startup),
            _ => None,
        }
    }
}

/// How a signal is registered ([`Health::register`]).
#[derive(Clone, Debug)]
pub struct Signal {
    name: String,
    probes: Vec<Probe>,
    owner: Option<Pid>,
    heartbeat: Option<Duration>,
    up: bool,
}

impl Signal {
    /// A signal called `name` that counts for `probes`, up at registration.
    pub fn new(name: impl Into<String>, probes: &[Probe]) -> Signal {
        Signal {
            name: name.into(),
            probes: probes.to_vec(),
            owner: None,
            heartbeat: None,
            up: true,
        }
    }

    /// The signal goes down for good when `pid` terminates (a restarted process
    /// registers it again).
    pub fn owner(mut self, pid: Pid) -> Signal {
        self.owner = Some(pid);
        self
    }

    /// The signal is down while no [`Health::beat`] came within `timeout`.
    pub fn heartbeat(mut self, timeout: Duration) -> Signal {
        self.heartbeat = Some(timeout);
        self
    }

    /// Starts down (a startup signal set up when initialisation is done).
    pub fn down(mut self) -> Signal {
        self.up = false;
        self
    }
}

struct Entry {
    signal: Signal,
    last_beat: DateTime<Utc>,
    dead: bool,
    generation: u64,
}

/// The state of one signal, as a probe reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignalStatus {
    /// The signal's name.
    pub name: String,
    /// Up or not.
    pub up: bool,
    /// Why it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A probe's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProbeStatus {
    /// The probe.
    pub probe: Probe,
    /// True when every signal is up.
    pub up: bool,
    /// Its signals.
    pub signals: Vec<SignalStatus>,
}

/// The health signals of a node ([`Health::of`]).
pub struct Health {
    signals: Mutex<BTreeMap<String, Entry>>,
    clock: Mutex<Arc<dyn Clock>>,
    generation: std::sync::atomic::AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            signals: Mutex::new(BTreeMap::new()),
            clock: Mutex::new(Arc::new(SystemClock)),
            generation: Default::default(),
        }
    }
}

impl Health {
    /// The health signals of `node` (made on first use).
    pub fn of(node: &Node) -> Arc<Health> {
        node.extension_or_insert(Health::default)
    }

    /// Uses `clock` for heartbeats (tests use a `ManualClock`).
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self.clock.lock() = clock;
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.lock().now()
    }

    /// Registers (or replaces) a signal. With an owner, the signal goes down when that
    /// process terminates: `node` is where it is watched.
    pub fn register(self: &Arc<Self>, node: &Node, signal: Signal) {
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = signal.name.clone();
        let owner = signal.owner;
        let entry = Entry {
            signal,
            last_beat: self.now(),
            dead: false,
            generation,
        };
        self.signals.lock().insert(name.clone(), entry);
        if let Some(pid) = owner {
            match node.monitor(pid) {
                Ok(monitor) => {
                    let health = Arc::downgrade(self);
                    tokio::spawn(async move {
                        monitor.down().await;
                        if let Some(health) = health.upgrade() {
                            health.owner_died(&name, generation);
                        }
                    });
                }
                Err(_) => self.owner_died(&name, generation),
            }
        }
    }

    fn owner_died(&self, name: &str, generation: u64) {
        if let Some(e) = self.signals.lock().get_mut(name) {
            if e.generation == generation {
                e.dead = true;
            }
        }
    }

    /// Removes a signal.
    pub fn unregister(&self, name: &str) -> bool {
        self.signals.lock().remove(name).is_some()
    }

    /// Sets a signal up or down; false if there is no such signal.
    pub fn set(&self, name: &str, up: bool) -> bool {
        match self.signals.lock().get_mut(name) {
            Some(e) => {
                e.signal.up = up;
                true
            }
            None => false,
        }
    }

    /// A heartbeat of the signal `name`; false if there is no such signal.
    pub fn beat(&self, name: &str) -> bool {
        let now = self.now();
        match self.signals.lock().get_mut(name) {
            Some(e) => {
                e.last_beat = now;
                true
            }
            None => false,
        }
    }

    /// What `probe` answers now.
    pub fn status(&self, probe: Probe) -> ProbeStatus {
        let now = self.now();
        let signals: Vec<SignalStatus> = self
            .signals
            .lock()
            .values()
            .filter(|e| e.signal.probes.contains(&probe))
            .map(|e| {
                let reason = if e.dead {
                    Some("its process terminated".to_owned())
                } else if !e.signal.up {
                    Some("set down".to_owned())
                } else {
                    e.signal.heartbeat.and_then(|timeout| {
                        let silent = (now - e.last_beat).to_std().unwrap_or(Duration::ZERO);
                        (silent > timeout).then(|| {
                            format!(
                                "no heartbeat for {}s (timeout {}s)",
                                silent.as_secs(),
                                timeout.as_secs()
                            )
                        })
                    })
                };
                SignalStatus {
                    name: e.signal.name.clone(),
                    up: reason.is_none(),
                    reason,
                }
            })
            .collect();
        ProbeStatus {
            probe,
            up: signals.iter().all(|s| s.up),
            signals,
        }
    }
}

/// `GET /health/{live,ready,startup}`: 200 or 503 with the signals as JSON.
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/health/{probe}", get(probe))
        .with_state(node)
}

async fn probe(
    State(node): State<Node>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<ProbeStatus>), StatusCode> {
    let probe = Probe::parse(&name).ok_or(StatusCode::NOT_FOUND)?;
    let status = Health::of(&node).status(probe);
    let code = if status.up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((code, Json(status)))
}
