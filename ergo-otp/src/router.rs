//! [`Router`]: messages and calls routed by user functions to named routes, as Go
//! Ergo's `act.Router`. A route is a worker the router owns (spawned from a factory,
//! respawned whenever it dies) or, failing that, a process registered under the name
//! on this node. Calls are forwarded with the caller's reply token (the route answers
//! directly); what finds no route goes to the router's failure handler (a message) or
//! fails (a call). Routes are listed, added and removed at run time.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use ergo_runtime::{
    Actor, ActorRef, Atom, CallError, Context, Exit, Handles, NoInitArgs, Priority, Reason,
    ReplyTo, Request, SendError, Step,
};

use crate::ratelimit::Warnings;

type Factory<W> = Arc<dyn Fn() -> (W, <W as Actor>::Args) + Send + Sync>;

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// To the route of this name (owned first, then registered).
    To(Atom),
    /// Nowhere: a message is dropped, a call fails with `BadRequest`.
    Discard,
}

/// Why a message found no route.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No owned route and no registered process of the route's type by that name.
    #[error("no route `{0}`")]
    NoRoute(Atom),
    /// The route's mailbox is full.
    #[error("route `{0}` is busy")]
    Busy(Atom),
    /// A route of that name exists already.
    #[error("route `{0}` exists")]
    Exists(Atom),
}

/// A message that found no route, as the failure handler gets it.
pub struct RouteFailed<W: Actor> {
    /// The route it was for.
    pub route: Atom,
    /// The message.
    pub message: W::Message,
    /// Why it failed.
    pub reason: RouteError,
}

/// A router's configuration: its route functions (mandatory, so a router that does
/// not route does not compile), its owned routes, its failure handler.
pub struct RouterOptions<W: Actor> {
    routes: Vec<(Atom, Factory<W>)>,
    route_message: fn(&W::Message) -> Route,
    route_call: fn(&W::Call) -> Route,
    on_failure: Option<Box<dyn FnMut(RouteFailed<W>) + Send>>,
}

impl<W: Actor> RouterOptions<W> {
    /// A router choosing routes with these functions.
    pub fn new(route_message: fn(&W::Message) -> Route, route_call: fn(&W::Call) -> Route) -> Self {
        RouterOptions {
            routes: Vec::new(),
            route_message,
            route_call,
            on_failure: None,
        }
    }

    /// Adds an owned route: a worker made by `factory`, respawned whenever it dies.
    pub fn route(
        mut self,
        name: impl Into<Atom>,
        factory: impl Fn() -> W + Send + Sync + 'static,
    ) -> Self
    where
        W::Args: NoInitArgs,
    {
        self.routes
            .push((name.into(), Arc::new(move || (factory(), W::Args::none()))));
        self
    }

    /// Runs `handler` in the router for each message that found no route (by default
    /// such messages are logged and dropped).
    pub fn on_failure(mut self, handler: impl FnMut(RouteFailed<W>) + Send + 'static) -> Self {
        self.on_failure = Some(Box::new(handler));
        self
    }
}

/// A router's requests: work for a route, or the router's own administration.
pub enum RouterCall<W: Actor> {
    /// A route's request, forwarded.
    Work(W::Call),
    /// The owned routes' names.
    Routes,
    /// Adds an owned route.
    Add(Atom, Factory<W>),
    /// Removes an owned route (its worker stops).
    Remove(Atom),
}

/// A router's replies.
pub enum RouterReply<W: Actor> {
    /// A route's reply (sent by the route itself).
    Work(W::Reply),
    /// The owned routes' names, sorted.
    Routes(Vec<Atom>),
    /// An administration request's outcome.
    Done(Result<(), RouteError>),
}

/// A router's messages.
pub enum RouterMessage<W: Actor> {
    /// A route's message, forwarded.
    Work(W::Message),
}

/// The router process (see the [module](self) docs).
pub struct Router<W: Actor> {
    options: RouterOptions<W>,
    owned: HashMap<Atom, (Factory<W>, Option<ActorRef<W>>)>,
    unrouted: Warnings,
}

impl<W: Actor> Router<W> {
    /// A router with these options.
    pub fn new(options: RouterOptions<W>) -> Self {
        Router {
            options,
            owned: HashMap::new(),
            unrouted: Warnings::default(),
        }
    }

    fn target(&self, ctx: &Context<Self>, name: Atom) -> Option<ActorRef<W>> {
        if let Some((_, worker)) = self.owned.get(&name) {
            return worker.clone();
        }
        ctx.node().lookup::<W>(name).ok()
    }

    fn fail(&mut self, route: Atom, message: W::Message, reason: RouteError) {
        match self.options.on_failure.as_mut() {
            Some(handler) => handler(RouteFailed {
                route,
                message,
                reason,
            }),
            None => self.unrouted.warn(
                "router: unrouted messages",
                || tracing::warn!(%route, %reason, "router: a message found no route"),
            ),
        }
    }
}

async fn spawn_route<W: Actor>(
    ctx: &Context<Router<W>>,
    factory: &Factory<W>,
) -> Option<ActorRef<W>> {
    let (worker, args) = factory();
    let options = ergo_runtime::SpawnOptions::default().link();
    match ctx.spawn_with(worker, args, options).await {
        Ok(worker) => Some(worker),
        Err(e) => {
            tracing::warn!(error = %e, "router: a route could not start");
            None
        }
    }
}

impl<W: Actor + Handles<M>, M> Handles<M> for Router<W> {
    fn into_message(msg: M) -> RouterMessage<W> {
        RouterMessage::Work(W::into_message(msg))
    }
}

impl<W: Actor> Actor for Router<W> {
    type Message = RouterMessage<W>;
    type Call = RouterCall<W>;
    type Reply = RouterReply<W>;
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        ctx.trap_exit(true);
        for (name, factory) in std::mem::take(&mut self.options.routes) {
            let worker = spawn_route(ctx, &factory).await;
            if worker.is_none() {
                return Err(Reason::error(format!("route `{name}` did not start")));
            }
            self.owned.insert(name, (factory, worker));
        }
        Ok(())
    }

    fn handle_message(&mut self, ctx: &mut Context<Self>, msg: RouterMessage<W>) -> Step<Self> {
        let RouterMessage::Work(msg) = msg;
        let name = match (self.options.route_message)(&msg) {
            Route::Discard => return Step::Continue,
            Route::To(name) => name,
        };
        match self.target(ctx, name) {
            Some(worker) => match worker.forward(msg) {
                Ok(()) => {}
                Err(SendError::MailboxFull(msg)) => self.fail(name, msg, RouteError::Busy(name)),
                Err(e) => match e.into_inner() {
                    Some(msg) => self.fail(name, msg, RouteError::NoRoute(name)),
                    None => tracing::warn!(route = %name, "router: a message was lost"),
                },
            },
            None => self.fail(name, msg, RouteError::NoRoute(name)),
        }
        Step::Continue
    }

    fn handle_call(
        &mut self,
        ctx: &mut Context<Self>,
        req: RouterCall<W>,
        reply: ReplyTo<RouterReply<W>>,
    ) -> Step<Self> {
        match req {
            RouterCall::Work(req) => {
                let name = match (self.options.route_call)(&req) {
                    Route::Discard => {
                        reply.fail(CallError::BadRequest("discarded by the router".into()));
                        return Step::Continue;
                    }
                    Route::To(name) => name,
                };
                let Some(worker) = self.target(ctx, name) else {
                    reply.fail(CallError::BadRequest(format!("no route `{name}`")));
                    return Step::Continue;
                };
                if let Err(e) = worker.forward_call(req, reply.map(RouterReply::Work)) {
                    let err = match &e {
                        SendError::MailboxFull(_) => CallError::MailboxFull,
                        _ => CallError::NoProcess,
                    };
                    if let Some((_, reply)) = e.into_inner() {
                        reply.fail(err);
                    }
                }
                Step::Continue
            }
            RouterCall::Routes => {
                let mut names: Vec<Atom> = self.owned.keys().copied().collect();
                names.sort_by_key(|a| a.to_string());
                reply.send(RouterReply::Routes(names));
                Step::Continue
            }
            RouterCall::Add(name, factory) => {
                if self.owned.contains_key(&name) {
                    reply.send(RouterReply::Done(Err(RouteError::Exists(name))));
                    return Step::Continue;
                }
                Step::run_async(move |mut this: Self, ctx| async move {
                    let worker = spawn_route(&ctx, &factory).await;
                    this.owned.insert(name, (factory, worker));
                    reply.send(RouterReply::Done(Ok(())));
                    (this, ctx)
                })
            }
            RouterCall::Remove(name) => {
                let done = match self.owned.remove(&name) {
                    Some((_, worker)) => {
                        if let Some(worker) = worker {
                            ctx.unlink(worker.pid());
                            worker.exit(Reason::Shutdown);
                        }
                        Ok(())
                    }
                    None => Err(RouteError::NoRoute(name)),
                };
                reply.send(RouterReply::Done(done));
                Step::Continue
            }
        }
    }

    fn handle_exit(&mut self, _: &mut Context<Self>, exit: Exit) -> Step<Self> {
        let dead = self
            .owned
            .iter()
            .find_map(|(name, (_, w))| w.as_ref().filter(|w| w.pid() == exit.from).map(|_| *name));
        let Some(name) = dead else {
            return if exit.reason.is_failure() {
                Step::Stop(exit.reason)
            } else {
                Step::Continue
            };
        };
        tracing::debug!(route = %name, reason = %exit.reason, "router: respawning a route");
        Step::run_async(move |mut this: Self, ctx| async move {
            if let Some((factory, slot)) = this.owned.get_mut(&name) {
                *slot = spawn_route(&ctx, &factory.clone()).await;
            }
            (this, ctx)
        })
    }

    fn terminate(&mut self, _: &mut Context<Self>, _: &Reason) {
        for (_, (_, worker)) in self.owned.drain() {
            if let Some(worker) = worker {
                worker.exit(Reason::Shutdown);
            }
        }
    }

    fn debug_state(&self) -> Option<String> {
        let mut names: Vec<String> = self.owned.keys().map(|a| a.to_string()).collect();
        names.sort();
        Some(format!("Router {{ routes: {names:?} }}"))
    }
}

fn done<W: Actor>(reply: RouterReply<W>) -> Result<Result<(), RouteError>, CallError> {
    match reply {
        RouterReply::Done(done) => Ok(done),
        _ => Err(CallError::BadRequest("not a router's answer".into())),
    }
}

/// What a router's handle can do (in scope with `use ergo::router::RouterExt`).
pub trait RouterExt<W: Actor> {
    /// A route's request, answered by the route the router picks.
    fn call_route(&self, req: W::Call) -> Request<Router<W>, W::Reply>;
    /// The owned routes' names.
    fn routes(&self) -> Request<Router<W>, Vec<Atom>>;
    /// Adds an owned route.
    fn add_route(
        &self,
        name: impl Into<Atom>,
        factory: impl Fn() -> W + Send + Sync + 'static,
    ) -> Request<Router<W>, Result<(), RouteError>>
    where
        W::Args: NoInitArgs;
    /// Removes an owned route (its worker stops).
    fn remove_route(&self, name: impl Into<Atom>) -> Request<Router<W>, Result<(), RouteError>>;
}

impl<W: Actor> RouterExt<W> for ActorRef<Router<W>> {
    fn call_route(&self, req: W::Call) -> Request<Router<W>, W::Reply> {
        self.request_map(RouterCall::Work(req), |reply| match reply {
            RouterReply::Work(reply) => Ok(reply),
            _ => Err(CallError::BadRequest("not a route's reply".into())),
        })
    }

    fn routes(&self) -> Request<Router<W>, Vec<Atom>> {
        self.request_map(RouterCall::Routes, |reply| match reply {
            RouterReply::Routes(names) => Ok(names),
            _ => Err(CallError::BadRequest("not a router's routes".into())),
        })
        .priority(Priority::High)
    }

    fn add_route(
        &self,
        name: impl Into<Atom>,
        factory: impl Fn() -> W + Send + Sync + 'static,
    ) -> Request<Router<W>, Result<(), RouteError>>
    where
        W::Args: NoInitArgs,
    {
        let factory: Factory<W> = Arc::new(move || (factory(), W::Args::none()));
        self.request_map(RouterCall::Add(name.into(), factory), done::<W>)
            .priority(Priority::High)
    }

    fn remove_route(&self, name: impl Into<Atom>) -> Request<Router<W>, Result<(), RouteError>> {
        self.request_map(RouterCall::Remove(name.into()), done::<W>)
            .priority(Priority::High)
    }
}

impl<W: Actor> fmt::Debug for RouteFailed<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RouteFailed({}: {})", self.route, self.reason)
    }
}
