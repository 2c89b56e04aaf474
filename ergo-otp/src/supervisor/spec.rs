//! What a supervisor is told to do: [`SupervisorSpec`] (strategy, restart intensity,
//! auto-shutdown, children) and the small enums it is made of.

use std::time::Duration;

use crate::supervisor::child::ChildSpec;

/// Which children a supervisor restarts when one of them terminates.
#[allow(clippy::enum_variant_names)] // the names OTP users know
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Strategy {
    /// Only the child that terminated is restarted (the default).
    #[default]
    OneForOne,
    /// Every other child is stopped (in reverse start order), then all are restarted
    /// in start order.
    AllForOne,
    /// The children started after the one that terminated are stopped (in reverse
    /// order), then it and they are restarted in start order.
    RestForOne,
    /// No children at start; instances of the one child spec are started on demand
    /// with arguments (`start_child`), and restart with the same arguments.
    SimpleOneForOne,
}

/// When a child is restarted. The same three words are an application's start mode
/// ([`StartMode`](crate::StartMode), what the node does when the application ends).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Restart {
    /// Always (the default, as in OTP).
    #[default]
    Permanent,
    /// Only if it terminated abnormally ([`Reason::is_failure`](ergo_runtime::Reason::is_failure)).
    Transient,
    /// Never; the child is removed from the supervisor when it terminates.
    Temporary,
}

/// How a child is stopped by its supervisor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shutdown {
    /// Killed at once (`Reason::Kill`).
    BrutalKill,
    /// Told to shut down (`Reason::Shutdown`), killed if still alive after this long.
    Timeout(Duration),
    /// Told to shut down and waited for, however long it takes (the default for
    /// supervisors).
    Infinity,
}

/// The default shutdown timeout of a worker child: 5 seconds, as in OTP.
pub const DEFAULT_SHUTDOWN: Duration = Duration::from_secs(5);

/// Whether a child is a worker or a supervisor (found from its actor type).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChildKind {
    /// Any actor that is not a supervisor.
    Worker,
    /// A supervisor: stopped in order through its own shutdown, not an exit signal.
    Supervisor,
}

/// When a supervisor stops by itself because significant children ended (OTP's
/// `auto_shutdown`). Significant children are transient or temporary: their normal
/// exit (transient) or any exit (temporary) is what counts.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum AutoShutdown {
    /// Never (the default).
    #[default]
    Never,
    /// As soon as any significant child ends.
    AnySignificant,
    /// Once every significant child has ended.
    AllSignificant,
}

/// The default restart intensity: at most 5 restarts ...
pub const DEFAULT_INTENSITY: u32 = 5;
/// ... within 5 seconds (as in Ergo and OTP).
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(5);

/// A supervisor's configuration: strategy, restart intensity within a period,
/// auto-shutdown, and its children in start order.
///
/// ```
/// use std::time::Duration;
/// use ergo_otp::supervisor::{ChildSpec, Restart, Strategy, SupervisorSpec};
/// # use ergo_runtime::{Actor, Context, ReplyTo, Step};
/// # struct Worker;
/// # impl Actor for Worker {
/// #     type Message = (); type Call = (); type Reply = (); type Args = ();
/// #     fn handle_message(&mut self, _: &mut Context<Self>, _: ()) -> Step<Self> { Step::Continue }
/// #     fn handle_call(&mut self, _: &mut Context<Self>, _: (), r: ReplyTo<()>) -> Step<Self> { r.send(()); Step::Continue }
/// # }
///
/// let spec = SupervisorSpec::new(Strategy::OneForOne)
///     .intensity(3, Duration::from_secs(10))
///     .child(ChildSpec::new("a", || (Worker, ())))
///     .child(ChildSpec::new("b", || (Worker, ())).restart(Restart::Transient));
/// assert_eq!(spec.children().len(), 2);
/// ```
#[derive(Clone)]
pub struct SupervisorSpec {
    pub(crate) strategy: Strategy,
    pub(crate) intensity: u32,
    pub(crate) period: Duration,
    pub(crate) auto_shutdown: AutoShutdown,
    pub(crate) children: Vec<ChildSpec>,
}

impl SupervisorSpec {
    /// A spec with `strategy`, the default intensity (5 restarts in 5 s), no
    /// auto-shutdown and no children yet.
    pub fn new(strategy: Strategy) -> Self {
        SupervisorSpec {
            strategy,
            intensity: DEFAULT_INTENSITY,
            period: DEFAULT_PERIOD,
            auto_shutdown: AutoShutdown::Never,
            children: Vec::new(),
        }
    }

    /// More than `restarts` restarts within `period` make the supervisor stop its
    /// children and exit with a failure, which its own supervisor sees (escalation).
    pub fn intensity(mut self, restarts: u32, period: Duration) -> Self {
        self.intensity = restarts;
        self.period = period;
        self
    }

    /// When the supervisor stops by itself after significant children end.
    pub fn auto_shutdown(mut self, auto: AutoShutdown) -> Self {
        self.auto_shutdown = auto;
        self
    }

    /// Adds a child (started after the ones added before it). A simple-one-for-one
    /// supervisor takes exactly one: the template of its instances.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The children, in start order.
    pub fn children(&self) -> &[ChildSpec] {
        &self.children
    }
}

impl std::fmt::Debug for SupervisorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorSpec")
            .field("strategy", &self.strategy)
            .field("intensity", &self.intensity)
            .field("period", &self.period)
            .field("auto_shutdown", &self.auto_shutdown)
            .field("children", &self.children)
            .finish()
    }
}
