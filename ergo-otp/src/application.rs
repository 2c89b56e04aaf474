//! Applications: a named supervision tree with a spec (description, start mode, env,
//! dependencies, tags, roles), loaded, started, stopped, listed and inspected from the
//! [`Node`].
//!
//! A started application runs its root (usually a supervisor) as a top-level process
//! with the application's env, which every process of the tree inherits. The node
//! watches the root: when it ends without `stop_application`, a *permanent*
//! application takes the node down (`Node::stop`), a *transient* one does if it
//! failed, a *temporary* one is just reported. The node never restarts an
//! application by itself.
//!
//! ```
//! use ergo_otp::supervisor::{ChildSpec, Restart, Strategy, Supervisor, SupervisorSpec};
//! use ergo_otp::{ApplicationExt, ApplicationSpec, ApplicationState};
//! use ergo_runtime::Node;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::builder("doc@127.0.0.1").start().await?;
//! let tree = || (Supervisor::new(SupervisorSpec::new(Strategy::OneForOne)), ());
//! node.load_application(
//!     ApplicationSpec::new("myapp", ChildSpec::new("myapp_sup", tree))
//!         .description("an example")
//!         .mode(Restart::Transient)
//!         .env("greeting", "hello"),
//! )?;
//! let root = node.start_application("myapp").await?;
//! let info = node.application_info("myapp").expect("loaded");
//! assert_eq!((info.state, info.pid), (ApplicationState::Running, Some(root)));
//! node.stop_application("myapp").await?;
//! assert_eq!(node.application_info("myapp").unwrap().state, ApplicationState::Loaded);
//! node.stop().await?;
//! # Ok(()) }
//! ```

use parking_lot::Mutex;
use thiserror::Error;

use ergo_runtime::{Atom, Node, Pid, Reason, SpawnError};

use crate::supervisor::{stop_child, ChildSpec, Restart};

/// What happens when an application's root ends by itself: OTP's application start
/// types, which are the three words of a child's restart policy, so it is the same
/// type, [`Restart`]. `Temporary` (an application's default, as in Erlang): reported,
/// nothing else. `Transient`: the node stops if the application failed (an abnormal
/// exit reason, or its supervisor gave up: `Reason::MaxRestartIntensity`).
/// `Permanent`: the node stops whenever the application ends (other than by
/// `stop_application`). The node never restarts an application by itself.
pub type StartMode = Restart;

/// Where an application is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ApplicationState {
    /// Loaded, not running.
    Loaded,
    /// Its root is starting.
    Starting,
    /// Its root is running.
    Running,
    /// `stop_application` is stopping it.
    Stopping,
}

/// An application's description: a name, the root of its tree, and metadata.
#[derive(Clone, Debug)]
pub struct ApplicationSpec {
    name: Atom,
    description: String,
    version: String,
    mode: Restart,
    env: Vec<(String, String)>,
    depends: Vec<Atom>,
    tags: Vec<Atom>,
    roles: Vec<(Atom, Atom)>,
    weight: u32,
    root: ChildSpec,
}

impl ApplicationSpec {
    /// An application called `name` whose tree is started by `root` (usually a
    /// supervisor's spec). Temporary, no env, no dependencies.
    pub fn new(name: impl Into<Atom>, root: ChildSpec) -> Self {
        ApplicationSpec {
            name: name.into(),
            description: String::new(),
            version: String::new(),
            mode: Restart::Temporary,
            env: Vec::new(),
            depends: Vec::new(),
            tags: Vec::new(),
            roles: Vec::new(),
            weight: DEFAULT_WEIGHT,
            root,
        }
    }

    /// A one-line description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// A version string.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// What the node does when the application ends by itself (default
    /// `Restart::Temporary`; see [`StartMode`]).
    pub fn mode(mut self, mode: Restart) -> Self {
        self.mode = mode;
        self
    }

    /// An environment variable of every process of the application (between the
    /// node's env and a process's own).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_uppercase(), value.into()));
        self
    }

    /// An application that must run before this one (started first if loaded).
    pub fn depends_on(mut self, app: impl Into<Atom>) -> Self {
        self.depends.push(app.into());
        self
    }

    /// A tag (for lookups by capability).
    pub fn tag(mut self, tag: impl Into<Atom>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Maps a logical role to the registered name of the process that plays it.
    pub fn role(mut self, role: impl Into<Atom>, process: impl Into<Atom>) -> Self {
        self.roles.push((role.into(), process.into()));
        self
    }

    /// Its weight among the nodes running it, for registrars that route to an
    /// application (default [`DEFAULT_WEIGHT`]; a node with weight 20 gets twice the
    /// share of one with 10).
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// The application's name.
    pub fn name(&self) -> Atom {
        self.name
    }
}

/// An application's weight when its spec gives none.
pub const DEFAULT_WEIGHT: u32 = 100;

/// An application that started or ended on the node (see
/// [`ApplicationExt::watch_applications`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplicationChange {
    /// It started (its root is running).
    Started {
        /// The application.
        app: Atom,
        /// Its spec's weight.
        weight: u32,
    },
    /// It stopped, or ended by itself.
    Stopped {
        /// The application.
        app: Atom,
    },
}

/// A watcher of application changes.
type Watcher = Box<dyn Fn(&ApplicationChange) + Send + Sync>;

/// A snapshot of an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationInfo {
    /// Its name.
    pub name: Atom,
    /// Its description.
    pub description: String,
    /// Its version.
    pub version: String,
    /// Its start mode.
    pub mode: Restart,
    /// Where it is.
    pub state: ApplicationState,
    /// Its root process, while running.
    pub pid: Option<Pid>,
    /// The applications it depends on.
    pub depends: Vec<Atom>,
    /// Its tags.
    pub tags: Vec<Atom>,
    /// Its roles: (role, registered process name).
    pub roles: Vec<(Atom, Atom)>,
    /// Its weight among the nodes running it.
    pub weight: u32,
    /// Its env.
    pub env: Vec<(String, String)>,
    /// Why it last ended by itself, if it did.
    pub last_exit: Option<Reason>,
}

/// Why an application operation failed.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApplicationError {
    /// An application of that name is already loaded.
    #[error("application '{0}' is already loaded")]
    AlreadyLoaded(Atom),
    /// No application of that name is loaded.
    #[error("application '{0}' is not loaded")]
    NotLoaded(Atom),
    /// It is already running (or starting).
    #[error("application '{0}' is already running")]
    AlreadyRunning(Atom),
    /// It is not running.
    #[error("application '{0}' is not running")]
    NotRunning(Atom),
    /// A dependency is not loaded.
    #[error("application '{app}' depends on '{dependency}', which is not loaded")]
    MissingDependency {
        /// The application.
        app: Atom,
        /// What it needs.
        dependency: Atom,
    },
    /// The dependencies form a cycle through this application.
    #[error("dependency cycle through application '{0}'")]
    DependencyCycle(Atom),
    /// The root failed to start.
    #[error("application '{app}' failed to start: {error}")]
    Start {
        /// The application.
        app: Atom,
        /// Why.
        error: SpawnError,
    },
}

struct App {
    spec: ApplicationSpec,
    state: ApplicationState,
    pid: Option<Pid>,
    last_exit: Option<Reason>,
}

impl App {
    fn info(&self) -> ApplicationInfo {
        let s = &self.spec;
        ApplicationInfo {
            name: s.name,
            description: s.description.clone(),
            version: s.version.clone(),
            mode: s.mode,
            state: self.state,
            pid: self.pid,
            depends: s.depends.clone(),
            tags: s.tags.clone(),
            roles: s.roles.clone(),
            weight: s.weight,
            env: s.env.clone(),
            last_exit: self.last_exit.clone(),
        }
    }
}

/// The node's applications, in load order.
#[derive(Default)]
struct Applications {
    apps: Mutex<Vec<App>>,
    watchers: Mutex<Vec<Watcher>>,
}

impl Applications {
    fn tell(&self, change: ApplicationChange) {
        for watcher in self.watchers.lock().iter() {
            watcher(&change);
        }
    }
}

fn with_app<R>(
    apps: &mut [App],
    name: Atom,
    f: impl FnOnce(&mut App) -> R,
) -> Result<R, ApplicationError> {
    apps.iter_mut()
        .find(|a| a.spec.name == name)
        .map(f)
        .ok_or(ApplicationError::NotLoaded(name))
}

/// What applications add to a [`Node`]: load, start, stop and inspect them.
#[allow(async_fn_in_trait)] // implemented for `Node` only; its futures are `Send`
pub trait ApplicationExt {
    /// Loads an application: it can be started now.
    fn load_application(&self, spec: ApplicationSpec) -> Result<(), ApplicationError>;

    /// Forgets a loaded application that is not running.
    fn unload_application(&self, name: impl Into<Atom>) -> Result<(), ApplicationError>;

    /// Starts a loaded application, after the applications it depends on (those not
    /// running yet are started first); the root's pid.
    async fn start_application(&self, name: impl Into<Atom>) -> Result<Pid, ApplicationError>;

    /// Stops a running application: its tree shuts down in order (children before
    /// their supervisor, last started first). Does not stop the node, whatever the
    /// mode.
    async fn stop_application(&self, name: impl Into<Atom>) -> Result<(), ApplicationError>;

    /// Every loaded application, in load order.
    fn applications(&self) -> Vec<ApplicationInfo>;

    /// The running applications.
    fn running_applications(&self) -> Vec<ApplicationInfo>;

    /// A snapshot of one application.
    fn application_info(&self, name: impl Into<Atom>) -> Option<ApplicationInfo>;

    /// The process playing `role` in application `app` (through the registered name
    /// the spec maps the role to).
    fn application_role(&self, app: impl Into<Atom>, role: impl Into<Atom>) -> Option<Pid>;

    /// Calls `watcher` whenever an application starts or ends from now on (in the
    /// order they happen; it must not block), after first telling it of those running
    /// now, as `Started`. Registrars use it to route to the nodes running an
    /// application.
    fn watch_applications(&self, watcher: impl Fn(&ApplicationChange) + Send + Sync + 'static);
}

/// The node's application controller (a node extension).
fn apps(node: &Node) -> std::sync::Arc<Applications> {
    node.extension_or_insert(Applications::default)
}

impl ApplicationExt for Node {
    fn load_application(&self, spec: ApplicationSpec) -> Result<(), ApplicationError> {
        let controller = apps(self);
        let mut apps = controller.apps.lock();
        if apps.iter().any(|a| a.spec.name == spec.name) {
            return Err(ApplicationError::AlreadyLoaded(spec.name));
        }
        apps.push(App {
            spec,
            state: ApplicationState::Loaded,
            pid: None,
            last_exit: None,
        });
        Ok(())
    }

    fn unload_application(&self, name: impl Into<Atom>) -> Result<(), ApplicationError> {
        let name = name.into();
        let controller = apps(self);
        let mut apps = controller.apps.lock();
        let i = apps
            .iter()
            .position(|a| a.spec.name == name)
            .ok_or(ApplicationError::NotLoaded(name))?;
        if apps[i].state != ApplicationState::Loaded {
            return Err(ApplicationError::AlreadyRunning(name));
        }
        apps.remove(i);
        Ok(())
    }

    async fn start_application(&self, name: impl Into<Atom>) -> Result<Pid, ApplicationError> {
        let name = name.into();
        for app in start_order(self, name)? {
            let running = self
                .application_info(app)
                .is_some_and(|i| i.state == ApplicationState::Running);
            if app != name && running {
                continue;
            }
            let pid = start_one_application(self, app).await?;
            if app == name {
                return Ok(pid);
            }
        }
        Err(ApplicationError::NotLoaded(name))
    }

    async fn stop_application(&self, name: impl Into<Atom>) -> Result<(), ApplicationError> {
        let name = name.into();
        let (pid, root) = with_app(&mut apps(self).apps.lock(), name, |app| {
            match (app.state, app.pid) {
                (ApplicationState::Running, Some(pid)) => {
                    app.state = ApplicationState::Stopping;
                    Ok((pid, app.spec.root.clone()))
                }
                _ => Err(ApplicationError::NotRunning(name)),
            }
        })??;
        stop_child(self, None, pid, root.kind(), root.shutdown_policy()).await;
        let controller = apps(self);
        let mut apps = controller.apps.lock();
        with_app(&mut apps, name, |app| {
            app.state = ApplicationState::Loaded;
            app.pid = None;
        })?;
        controller.tell(ApplicationChange::Stopped { app: name });
        drop(apps);
        tracing::info!(app = %name, "application stopped");
        Ok(())
    }

    fn applications(&self) -> Vec<ApplicationInfo> {
        apps(self).apps.lock().iter().map(App::info).collect()
    }

    fn running_applications(&self) -> Vec<ApplicationInfo> {
        self.applications()
            .into_iter()
            .filter(|a| a.state == ApplicationState::Running)
            .collect()
    }

    fn application_info(&self, name: impl Into<Atom>) -> Option<ApplicationInfo> {
        let name = name.into();
        with_app(&mut apps(self).apps.lock(), name, |app| app.info()).ok()
    }

    fn application_role(&self, app: impl Into<Atom>, role: impl Into<Atom>) -> Option<Pid> {
        let (app, role) = (app.into(), role.into());
        let name = with_app(&mut apps(self).apps.lock(), app, |a| {
            a.spec
                .roles
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, n)| *n)
        })
        .ok()
        .flatten()?;
        self.whereis(name)
    }

    fn watch_applications(&self, watcher: impl Fn(&ApplicationChange) + Send + Sync + 'static) {
        let controller = apps(self);
        // Held while the running ones are told, so no change slips between.
        let apps = controller.apps.lock();
        for app in apps.iter().filter(|a| a.state == ApplicationState::Running) {
            watcher(&ApplicationChange::Started {
                app: app.spec.name,
                weight: app.spec.weight,
            });
        }
        controller.watchers.lock().push(Box::new(watcher));
    }
}

/// `name` after its dependencies, each once, depth first.
fn start_order(node: &Node, name: Atom) -> Result<Vec<Atom>, ApplicationError> {
    let controller = apps(node);
    let apps = controller.apps.lock();
    let depends = |app: Atom| {
        apps.iter()
            .find(|a| a.spec.name == app)
            .map(|a| a.spec.depends.clone())
    };
    fn visit(
        app: Atom,
        depends: &dyn Fn(Atom) -> Option<Vec<Atom>>,
        path: &mut Vec<Atom>,
        order: &mut Vec<Atom>,
    ) -> Result<(), ApplicationError> {
        if order.contains(&app) {
            return Ok(());
        }
        if path.contains(&app) {
            return Err(ApplicationError::DependencyCycle(app));
        }
        let deps = match depends(app) {
            Some(deps) => deps,
            None => {
                return Err(match path.last() {
                    Some(parent) => ApplicationError::MissingDependency {
                        app: *parent,
                        dependency: app,
                    },
                    None => ApplicationError::NotLoaded(app),
                })
            }
        };
        path.push(app);
        for dep in deps {
            visit(dep, depends, path, order)?;
        }
        path.pop();
        order.push(app);
        Ok(())
    }
    let mut order = Vec::new();
    visit(name, &depends, &mut Vec::new(), &mut order)?;
    Ok(order)
}

async fn start_one_application(node: &Node, name: Atom) -> Result<Pid, ApplicationError> {
    let (root, env) = with_app(&mut apps(node).apps.lock(), name, |app| {
        if app.state != ApplicationState::Loaded {
            return Err(ApplicationError::AlreadyRunning(name));
        }
        app.state = ApplicationState::Starting;
        Ok((app.spec.root.clone(), app.spec.env.clone()))
    })??;
    let started = root.spawn(node, None, None, env).await;
    let pid = match started {
        Ok(pid) => pid,
        Err(err) => {
            let _ = with_app(&mut apps(node).apps.lock(), name, |app| {
                app.state = ApplicationState::Loaded;
            });
            let error = match err {
                crate::supervisor::StartError::Spawn(e) => e,
                crate::supervisor::StartError::BadArgs(t) => {
                    SpawnError::Init(Reason::Error(format!("bad arguments: expected {t}")))
                }
            };
            return Err(ApplicationError::Start { app: name, error });
        }
    };
    let monitor = node.monitor(pid);
    let controller = apps(node);
    let mut apps = controller.apps.lock();
    let weight = with_app(&mut apps, name, |app| {
        app.state = ApplicationState::Running;
        app.pid = Some(pid);
        app.spec.weight
    })?;
    controller.tell(ApplicationChange::Started { app: name, weight });
    drop(apps);
    tracing::info!(app = %name, %pid, "application started");
    if let Ok(monitor) = monitor {
        let node = node.clone();
        tokio::spawn(async move {
            let down = monitor.down().await;
            application_ended(&node, name, pid, down.reason).await;
        });
    }
    Ok(pid)
}

/// The root of a running application ended (by itself, or stopped). When the
/// mode says so, the node is stopped before the application is marked ended.
async fn application_ended(node: &Node, name: Atom, pid: Pid, reason: Reason) {
    let mode = with_app(&mut apps(node).apps.lock(), name, |app| {
        (app.pid == Some(pid) && app.state == ApplicationState::Running).then_some(app.spec.mode)
    });
    let Ok(Some(mode)) = mode else {
        return; // stopped by stop_application, or another instance
    };
    tracing::info!(app = %name, %reason, ?mode, "application ended");
    let stop_node = match mode {
        Restart::Temporary => false,
        // As in OTP, a tree that gave up (its supervisor's `shutdown` after too
        // many restarts) is an abnormal end of the application.
        Restart::Transient => reason.is_failure() || reason == Reason::MaxRestartIntensity,
        Restart::Permanent => true,
    };
    if stop_node && !node.is_stopping() {
        tracing::warn!(app = %name, %reason, "a {mode:?} application ended: stopping the node");
        if let Err(err) = node.stop().await {
            tracing::error!(%err, "node stop after an application ended");
        }
    }
    let controller = apps(node);
    let mut apps = controller.apps.lock();
    let ended = with_app(&mut apps, name, |app| {
        let ended = app.pid == Some(pid);
        if ended {
            app.state = ApplicationState::Loaded;
            app.pid = None;
            app.last_exit = Some(reason);
        }
        ended
    });
    if ended == Ok(true) {
        controller.tell(ApplicationChange::Stopped { app: name });
    }
}
