//! [`SupervisorState`]: a supervisor's children and what it does when one of them
//! ends — the four strategies, the three restart policies, restart intensity,
//! significant children and auto-shutdown — and the run-time operations.
//!
//! Every method that starts or stops a process is async: the supervisor runs it as an
//! async handler, so it reads no other message meanwhile, and a restart never overlaps
//! the previous instance's termination (an `Exit` from a child arrives after it has
//! terminated; a child stopped by the supervisor is waited for).

use crate::supervisor::child::{ChildSpec, DynArgs, StartError};
use crate::supervisor::error::SupervisorError;
use crate::supervisor::info::{ChildCounts, ChildInfo};
use crate::supervisor::intensity::RestartWindow;
use crate::supervisor::spec::{AutoShutdown, ChildKind, Restart, Strategy, SupervisorSpec};
use crate::supervisor::stop::stop_child;
use ergo_runtime::Node;
use ergo_runtime::{Atom, Pid};
use ergo_runtime::{Exit, Reason};

struct Child {
    spec: ChildSpec,
    pid: Option<Pid>,
    /// Simple-one-for-one: the instance's arguments, cloned for each restart.
    args: Option<Box<dyn DynArgs>>,
}

impl Child {
    fn info(&self) -> ChildInfo {
        ChildInfo {
            id: self.spec.id,
            pid: self.pid,
            name: self.spec.register,
            kind: self.spec.kind,
            restart: self.spec.restart,
            significant: self.spec.significant,
            actor: self.spec.actor_type,
        }
    }
}

/// Where the running supervisor is: its node and pid.
#[derive(Clone)]
pub(crate) struct Here {
    pub(crate) node: Node,
    pub(crate) me: Pid,
}

/// The state of a supervisor process. Built from a [`SupervisorSpec`]; held by the
/// `Supervisor` actor and by the types `supervisor!` generates.
pub struct SupervisorState {
    strategy: Strategy,
    auto_shutdown: AutoShutdown,
    window: RestartWindow,
    pending: Vec<ChildSpec>,
    children: Vec<Child>,
    template: Option<ChildSpec>,
    restarts: u64,
}

impl SupervisorState {
    /// The state of a supervisor about to start with `spec`.
    pub fn new(spec: SupervisorSpec) -> Self {
        SupervisorState {
            strategy: spec.strategy,
            auto_shutdown: spec.auto_shutdown,
            window: RestartWindow::new(spec.intensity, spec.period),
            pending: spec.children,
            children: Vec::new(),
            template: None,
            restarts: 0,
        }
    }

    fn validate(&mut self) -> Result<(), SupervisorError> {
        let bad = |msg: String| Err(SupervisorError::InvalidSpec(msg));
        for (i, c) in self.pending.iter().enumerate() {
            if self.pending[..i].iter().any(|o| o.id == c.id) {
                return bad(format!("two children named '{}'", c.id));
            }
            if c.significant && c.restart == Restart::Permanent {
                return bad(format!(
                    "child '{}' is significant and permanent: a significant child must be transient or temporary",
                    c.id
                ));
            }
        }
        if self.strategy == Strategy::SimpleOneForOne {
            if self.pending.len() != 1 {
                return bad(format!(
                    "a simple-one-for-one supervisor has exactly one child spec, not {}",
                    self.pending.len()
                ));
            }
            let template = self.pending.remove(0);
            if template.args_type.is_none() {
                return bad(format!(
                    "child '{}' of a simple-one-for-one supervisor must be built with ChildSpec::with_args",
                    template.id
                ));
            }
            self.template = Some(template);
        }
        Ok(())
    }

    /// Validates the spec and starts the children in order. If one fails to start,
    /// the ones already started are stopped (in reverse order) and the error returned.
    pub(crate) async fn start(&mut self, here: &Here) -> Result<(), SupervisorError> {
        self.validate()?;
        let specs = std::mem::take(&mut self.pending);
        for spec in specs {
            self.children.push(Child {
                spec,
                pid: None,
                args: None,
            });
            let i = self.children.len() - 1;
            if let Err(err) = self.start_one(here, i).await {
                self.stop_all(here).await;
                return Err(self.start_error(i, err));
            }
        }
        Ok(())
    }

    fn start_error(&self, i: usize, err: StartError) -> SupervisorError {
        let id = self.children[i].spec.id;
        match err {
            StartError::Spawn(error) => SupervisorError::Start { id, error },
            StartError::BadArgs(expected) => SupervisorError::BadArgs { id, expected },
        }
    }

    async fn start_one(&mut self, here: &Here, i: usize) -> Result<Pid, StartError> {
        let child = &self.children[i];
        let args = child.args.as_ref().map(|a| a.clone_args().into_any());
        let started = child
            .spec
            .spawn(&here.node, Some(here.me), args, Vec::new())
            .await;
        if let Ok(pid) = started {
            self.children[i].pid = Some(pid);
        }
        started
    }

    async fn stop_one(&mut self, here: &Here, i: usize) {
        if let Some(pid) = self.children[i].pid.take() {
            let spec = &self.children[i].spec;
            stop_child(
                &here.node,
                Some(here.me),
                pid,
                spec.kind,
                spec.shutdown_policy(),
            )
            .await;
        }
    }

    /// Stops every running child, last started first.
    pub(crate) async fn stop_all(&mut self, here: &Here) {
        for i in (0..self.children.len()).rev() {
            self.stop_one(here, i).await;
        }
    }

    /// True if `pid` is one of the running children.
    pub(crate) fn is_child(&self, pid: Pid) -> bool {
        self.children.iter().any(|c| c.pid == Some(pid))
    }

    /// Applies the strategy to a child's exit. `Some(reason)`: the supervisor must
    /// stop with it (its children are already stopped).
    pub(crate) async fn on_exit(&mut self, here: &Here, exit: Exit) -> Option<Reason> {
        let i = self
            .children
            .iter()
            .position(|c| c.pid == Some(exit.from))?;
        self.children[i].pid = None;
        let spec = &self.children[i].spec;
        let restart = match spec.restart {
            Restart::Permanent => true,
            Restart::Transient => exit.reason.is_failure(),
            Restart::Temporary => false,
        };
        if !restart {
            let significant = spec.significant && self.strategy != Strategy::SimpleOneForOne;
            if spec.restart == Restart::Temporary || self.strategy == Strategy::SimpleOneForOne {
                self.children.remove(i);
            }
            if significant && self.significant_ended() {
                tracing::debug!(pid = %here.me, "significant child ended: auto-shutdown");
                self.stop_all(here).await;
                return Some(Reason::Shutdown);
            }
            return None;
        }
        let id = spec.id;
        if self.window.exceeded_after_one_more() {
            return Some(self.give_up(here, id, &exit.reason).await);
        }
        self.restarts += 1;
        tracing::debug!(pid = %here.me, child = %id, reason = %exit.reason, "restarting");
        let targets = match self.strategy {
            Strategy::OneForOne | Strategy::SimpleOneForOne => vec![i],
            Strategy::AllForOne | Strategy::RestForOne => self.stop_siblings(here, i).await,
        };
        for j in targets {
            let id = self.children[j].spec.id;
            loop {
                match self.start_one(here, j).await {
                    Ok(_) => break,
                    Err(StartError::Spawn(ergo_runtime::SpawnError::NodeStopping)) => {
                        self.stop_all(here).await;
                        return Some(Reason::Shutdown);
                    }
                    Err(err) => {
                        let reason = Reason::Error(format!("restart failed: {err:?}"));
                        tracing::warn!(pid = %here.me, child = %id, %reason, "restart failed");
                        if self.window.exceeded_after_one_more() {
                            return Some(self.give_up(here, id, &reason).await);
                        }
                        self.restarts += 1;
                    }
                }
            }
        }
        None
    }

    /// All-for-one and rest-for-one: stops the running siblings concerned (last
    /// started first) and returns the indices to restart, in start order. Temporary
    /// siblings are not restarted: they are dropped.
    async fn stop_siblings(&mut self, here: &Here, i: usize) -> Vec<usize> {
        let from = if self.strategy == Strategy::AllForOne {
            0
        } else {
            i + 1
        };
        let mut again = vec![self.children[i].spec.id];
        for j in (from..self.children.len()).rev() {
            if j != i && self.children[j].pid.is_some() {
                self.stop_one(here, j).await;
                if self.children[j].spec.restart != Restart::Temporary {
                    again.push(self.children[j].spec.id);
                }
            }
        }
        self.children
            .retain(|c| !(c.spec.restart == Restart::Temporary && c.pid.is_none()));
        let mut targets: Vec<usize> = again
            .iter()
            .filter_map(|id| self.children.iter().position(|c| c.spec.id == *id))
            .collect();
        targets.sort_unstable();
        targets
    }

    /// Restart intensity exceeded: stops every child; the supervisor then exits with
    /// [`Reason::MaxRestartIntensity`] (OTP's `shutdown`). What happened is logged.
    async fn give_up(&mut self, here: &Here, id: Atom, reason: &Reason) -> Reason {
        tracing::error!(
            pid = %here.me,
            child = %id,
            %reason,
            "supervisor reached its max restart intensity ({}): giving up",
            self.window.describe()
        );
        self.stop_all(here).await;
        Reason::MaxRestartIntensity
    }

    fn significant_ended(&self) -> bool {
        match self.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => !self
                .children
                .iter()
                .any(|c| c.spec.significant && c.pid.is_some()),
        }
    }

    // ---- run-time operations ----

    fn find(&self, key: &ChildKey) -> Result<usize, SupervisorError> {
        self.children
            .iter()
            .position(|c| match key {
                ChildKey::Id(id) => c.spec.id == *id && c.args.is_none(),
                ChildKey::Pid(pid) => c.pid == Some(*pid),
            })
            .ok_or_else(|| SupervisorError::UnknownChild(key.to_string()))
    }

    /// Adds a child and starts it (not for simple-one-for-one).
    pub(crate) async fn add_child(
        &mut self,
        here: &Here,
        spec: ChildSpec,
    ) -> Result<Pid, SupervisorError> {
        if self.strategy == Strategy::SimpleOneForOne {
            return Err(SupervisorError::WrongStrategy("simple-one-for-one"));
        }
        if self.children.iter().any(|c| c.spec.id == spec.id) {
            return Err(SupervisorError::AlreadyPresent(spec.id));
        }
        self.children.push(Child {
            spec,
            pid: None,
            args: None,
        });
        let i = self.children.len() - 1;
        self.start_one(here, i).await.map_err(|err| {
            let err = self.start_error(i, err);
            self.children.remove(i);
            err
        })
    }

    /// Starts an instance of a simple-one-for-one supervisor's child with `args`.
    pub(crate) async fn start_instance(
        &mut self,
        here: &Here,
        args: Box<dyn DynArgs>,
    ) -> Result<Pid, SupervisorError> {
        let Some(template) = self.template.clone() else {
            return Err(SupervisorError::WrongStrategy(self.strategy_name()));
        };
        self.children.push(Child {
            spec: template,
            pid: None,
            args: Some(args),
        });
        let i = self.children.len() - 1;
        self.start_one(here, i).await.map_err(|err| {
            let err = self.start_error(i, err);
            self.children.remove(i);
            err
        })
    }

    /// Stops a child; its spec stays (restart it with `restart_child`) unless it is
    /// temporary or an instance of a simple-one-for-one supervisor.
    pub(crate) async fn terminate_child(
        &mut self,
        here: &Here,
        key: ChildKey,
    ) -> Result<(), SupervisorError> {
        let i = self.find(&key)?;
        self.stop_one(here, i).await;
        let c = &self.children[i];
        if c.spec.restart == Restart::Temporary || c.args.is_some() {
            self.children.remove(i);
        }
        Ok(())
    }

    /// Starts a stopped child again.
    pub(crate) async fn restart_child(
        &mut self,
        here: &Here,
        id: Atom,
    ) -> Result<Pid, SupervisorError> {
        let i = self.find(&ChildKey::Id(id))?;
        if self.children[i].pid.is_some() {
            return Err(SupervisorError::Running(id));
        }
        self.start_one(here, i)
            .await
            .map_err(|err| self.start_error(i, err))
    }

    /// Forgets a stopped child's spec.
    pub(crate) fn delete_child(&mut self, id: Atom) -> Result<(), SupervisorError> {
        let i = self.find(&ChildKey::Id(id))?;
        if self.children[i].pid.is_some() {
            return Err(SupervisorError::Running(id));
        }
        self.children.remove(i);
        Ok(())
    }

    /// Every child, in start order.
    pub fn which_children(&self) -> Vec<ChildInfo> {
        self.children.iter().map(Child::info).collect()
    }

    /// Counts of children.
    pub fn count_children(&self) -> ChildCounts {
        let mut counts = ChildCounts {
            specs: self.children.len(),
            restarts: self.restarts,
            ..ChildCounts::default()
        };
        for c in &self.children {
            if c.pid.is_some() {
                counts.active += 1;
            }
            match c.spec.kind {
                ChildKind::Worker => counts.workers += 1,
                ChildKind::Supervisor => counts.supervisors += 1,
            }
        }
        counts
    }

    /// The pid of the running child `id`.
    pub fn child_pid(&self, id: Atom) -> Option<Pid> {
        self.children
            .iter()
            .find(|c| c.spec.id == id && c.args.is_none())
            .and_then(|c| c.pid)
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    fn strategy_name(&self) -> &'static str {
        match self.strategy {
            Strategy::OneForOne => "one-for-one",
            Strategy::AllForOne => "all-for-one",
            Strategy::RestForOne => "rest-for-one",
            Strategy::SimpleOneForOne => "simple-one-for-one",
        }
    }
}

impl std::fmt::Debug for SupervisorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorState")
            .field("strategy", &self.strategy)
            .field("children", &self.which_children())
            .finish()
    }
}

/// A child addressed by id (static children) or pid (any child).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChildKey {
    /// By the id in its spec.
    Id(Atom),
    /// By its current pid.
    Pid(Pid),
}

impl std::fmt::Display for ChildKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChildKey::Id(id) => write!(f, "{id}"),
            ChildKey::Pid(pid) => write!(f, "{pid}"),
        }
    }
}

impl From<&str> for ChildKey {
    fn from(id: &str) -> Self {
        ChildKey::Id(Atom::new(id))
    }
}

impl From<Atom> for ChildKey {
    fn from(id: Atom) -> Self {
        ChildKey::Id(id)
    }
}

impl From<Pid> for ChildKey {
    fn from(pid: Pid) -> Self {
        ChildKey::Pid(pid)
    }
}
