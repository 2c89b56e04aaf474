//! [`Pg`]: a scope of OTP's `pg` (process groups) on an ergo node, speaking `pg`'s
//! protocol with the same scope on Erlang/Elixir nodes: `{discover, Peer}` when a
//! node connects, `{sync, Peer, Groups}` with the whole local membership,
//! `{join, Peer, Group, Pids}` and `{leave, Peer, Pids, Groups}` as members come and
//! go. Members are monitored (a member that ends leaves its groups) and so are the
//! peer scopes (a scope or node that goes takes its members with it).
//!
//! ```no_run
//! # async fn demo(dist: ergo_erlang::Distribution, me: ergo_runtime::Pid) -> Result<(), ergo_runtime::CallError> {
//! use ergo_erlang::{pg::Pg, Term};
//! let pg = Pg::start(&dist, "pg").await.expect("the scope starts");
//! pg.join(Term::atom("workers"), vec![me]).await?;
//! let members = pg.get_members(Term::atom("workers")).await?;
//! # Ok(()) }
//! ```

use ergo_runtime::{
    Actor, ActorRef, CallError, Context, Down, Pid, ReplyTo, SpawnError, Step, Target,
};

use crate::dist::{Distribution, GenCast, NodeUp};
use crate::term::{ErlPid, Term};

/// A `pg` scope of this node (the process registered under the scope's name).
#[derive(Clone)]
pub struct Pg {
    actor: ActorRef<Scope>,
}

impl Pg {
    /// Starts the scope `scope` (Erlang's `pg:start_link(Scope)`; `"pg"` is the default
    /// scope) and discovers the same scope on every connected Erlang node.
    pub async fn start(dist: &Distribution, scope: &str) -> Result<Pg, SpawnError> {
        let actor = Scope {
            scope: scope.to_owned(),
            dist: dist.clone(),
            local: Vec::new(),
            remote: Vec::new(),
        };
        let actor = dist.node().spawn_register(scope, actor).await?;
        dist.watch_nodes(actor.pid());
        actor
            .node()
            .send(Target::Pid(actor.pid()), Discover)
            .map_err(|_| SpawnError::Init(ergo_runtime::Reason::Normal))?;
        Ok(Pg { actor })
    }

    /// The scope's process.
    pub fn pid(&self) -> Pid {
        self.actor.pid()
    }

    /// `pg:join(Scope, Group, Pids)`: local processes join `group`.
    pub async fn join(&self, group: Term, pids: Vec<Pid>) -> Result<(), CallError> {
        self.actor
            .request(Request::Join(group, pids))
            .await
            .map(drop)
    }

    /// `pg:leave(Scope, Group, Pids)`: false if none of them had joined (`not_joined`).
    pub async fn leave(&self, group: Term, pids: Vec<Pid>) -> Result<bool, CallError> {
        match self.actor.request(Request::Leave(group, pids)).await? {
            Reply::Left(left) => Ok(left),
            _ => Ok(false),
        }
    }

    /// `pg:get_members(Scope, Group)`: the members on every node of the cluster.
    pub async fn get_members(&self, group: Term) -> Result<Vec<Pid>, CallError> {
        self.members(Request::Members(group, false)).await
    }

    /// `pg:get_local_members(Scope, Group)`.
    pub async fn get_local_members(&self, group: Term) -> Result<Vec<Pid>, CallError> {
        self.members(Request::Members(group, true)).await
    }

    /// `pg:which_groups(Scope)`.
    pub async fn which_groups(&self) -> Result<Vec<Term>, CallError> {
        match self.actor.request(Request::Groups).await? {
            Reply::Groups(g) => Ok(g),
            _ => Ok(Vec::new()),
        }
    }

    async fn members(&self, req: Request) -> Result<Vec<Pid>, CallError> {
        match self.actor.request(req).await? {
            Reply::Members(m) => Ok(m),
            _ => Ok(Vec::new()),
        }
    }
}

/// Requests to the scope process.
#[doc(hidden)]
pub enum Request {
    Join(Term, Vec<Pid>),
    Leave(Term, Vec<Pid>),
    Members(Term, bool),
    Groups,
}

/// Replies of the scope process.
#[doc(hidden)]
pub enum Reply {
    Ok,
    Left(bool),
    Members(Vec<Pid>),
    Groups(Vec<Term>),
}

/// What the scope process receives.
#[doc(hidden)]
pub enum Message {
    Term(Term),
    Cast(Term),
    NodeUp(String),
    Discover,
}

/// Asks the scope to discover its peers on the connected nodes.
struct Discover;

/// A local member: its groups (a process may join a group more than once).
struct Local {
    pid: Pid,
    groups: Vec<Term>,
}

/// A peer scope on another node and its members by group.
struct Remote {
    scope: Pid,
    groups: Vec<(Term, Vec<Pid>)>,
}

/// The scope process (see [`Pg`]).
#[doc(hidden)]
pub struct Scope {
    scope: String,
    dist: Distribution,
    local: Vec<Local>,
    remote: Vec<Remote>,
}

fn pid_term(p: Pid) -> Term {
    Term::Pid(ErlPid::from_pid(p))
}

fn pids_of(t: &Term) -> Vec<Pid> {
    match t {
        Term::Pid(p) => vec![p.to_pid()],
        Term::List(items) => items
            .iter()
            .filter_map(|i| match i {
                Term::Pid(p) => Some(p.to_pid()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Scope {
    fn me(&self, ctx: &Context<Self>) -> Term {
        pid_term(ctx.pid())
    }

    /// `[{Group, [Pid]}]` of the local members.
    fn local_groups(&self) -> Term {
        let mut groups: Vec<(Term, Vec<Term>)> = Vec::new();
        for l in &self.local {
            for g in &l.groups {
                match groups.iter_mut().find(|(k, _)| k == g) {
                    Some((_, v)) => v.push(pid_term(l.pid)),
                    None => groups.push((g.clone(), vec![pid_term(l.pid)])),
                }
            }
        }
        Term::list(
            groups
                .into_iter()
                .map(|(g, v)| Term::tuple([g, Term::list(v)])),
        )
    }

    fn broadcast(&self, ctx: &Context<Self>, msg: Term) {
        for r in &self.remote {
            let _ = ctx.send(r.scope, msg.clone());
        }
    }

    fn discover(&self, ctx: &Context<Self>, node: &str) {
        let to = Target::Remote {
            name: self.scope.as_str().into(),
            node: node.into(),
        };
        let msg = Term::tuple([Term::atom("discover"), self.me(ctx)]);
        let _ = ctx.send(to, msg);
    }

    /// A peer scope, monitored the first time it is seen.
    fn peer(&mut self, ctx: &mut Context<Self>, scope: Pid) -> &mut Remote {
        let at = match self.remote.iter().position(|r| r.scope == scope) {
            Some(at) => at,
            None => {
                let _ = ctx.monitor(scope);
                self.remote.push(Remote {
                    scope,
                    groups: Vec::new(),
                });
                self.remote.len() - 1
            }
        };
        &mut self.remote[at]
    }

    fn on_term(&mut self, ctx: &mut Context<Self>, msg: &Term) {
        let Some(items) = msg.as_tuple() else { return };
        match items {
            [tag, Term::Pid(peer)] if tag.is_atom("discover") => {
                let peer = peer.to_pid();
                let sync = Term::tuple([Term::atom("sync"), self.me(ctx), self.local_groups()]);
                let _ = ctx.send(peer, GenCast(sync));
                if !self.remote.iter().any(|r| r.scope == peer) {
                    self.peer(ctx, peer);
                    let _ = ctx.send(peer, Term::tuple([Term::atom("discover"), self.me(ctx)]));
                }
            }
            [tag, Term::Pid(peer), group, pids] if tag.is_atom("join") => {
                let peer = peer.to_pid();
                let Some(r) = self.remote.iter_mut().find(|r| r.scope == peer) else {
                    return;
                };
                let pids = pids_of(pids);
                match r.groups.iter_mut().find(|(g, _)| g == group) {
                    Some((_, v)) => {
                        let mut new = pids;
                        new.extend(v.iter().copied());
                        *v = new;
                    }
                    None => r.groups.push((group.clone(), pids)),
                }
            }
            [tag, Term::Pid(peer), pids, groups] if tag.is_atom("leave") => {
                let peer = peer.to_pid();
                let Some(r) = self.remote.iter_mut().find(|r| r.scope == peer) else {
                    return;
                };
                let pids = pids_of(pids);
                let Term::List(groups) = groups else { return };
                for (g, v) in &mut r.groups {
                    if groups.contains(g) {
                        for p in &pids {
                            if let Some(i) = v.iter().position(|x| x == p) {
                                v.remove(i);
                            }
                        }
                    }
                }
                r.groups.retain(|(_, v)| !v.is_empty());
            }
            _ => ctx.node().log_limiter().log(
                "erlang: pg message",
                || tracing::debug!(%msg, "pg: ignored a message"),
            ),
        }
    }

    fn on_cast(&mut self, ctx: &mut Context<Self>, msg: &Term) {
        if let Some([tag, Term::Pid(peer), Term::List(groups)]) = msg.as_tuple() {
            if tag.is_atom("sync") {
                let groups = groups
                    .iter()
                    .filter_map(|g| match g.as_tuple() {
                        Some([group, pids]) => Some((group.clone(), pids_of(pids))),
                        _ => None,
                    })
                    .collect();
                self.peer(ctx, peer.to_pid()).groups = groups;
                return;
            }
        }
        ctx.node().log_limiter().log(
            "erlang: pg cast",
            || tracing::debug!(%msg, "pg: ignored a cast"),
        );
    }

    fn join(&mut self, ctx: &mut Context<Self>, group: Term, pids: Vec<Pid>) {
        for &pid in &pids {
            match self.local.iter_mut().find(|l| l.pid == pid) {
                Some(l) => l.groups.push(group.clone()),
                None => {
                    let _ = ctx.monitor(pid);
                    self.local.push(Local {
                        pid,
                        groups: vec![group.clone()],
                    });
                }
            }
        }
        let list = Term::list(pids.iter().map(|p| pid_term(*p)));
        let msg = Term::tuple([Term::atom("join"), self.me(ctx), group, list]);
        self.broadcast(ctx, msg);
    }

    fn leave(&mut self, ctx: &mut Context<Self>, group: Term, pids: Vec<Pid>) -> bool {
        let mut left = Vec::new();
        for &pid in &pids {
            if let Some(l) = self.local.iter_mut().find(|l| l.pid == pid) {
                if let Some(i) = l.groups.iter().position(|g| *g == group) {
                    l.groups.remove(i);
                    left.push(pid);
                }
            }
        }
        self.local.retain(|l| !l.groups.is_empty());
        if left.is_empty() {
            return false;
        }
        let list = Term::list(left.iter().map(|p| pid_term(*p)));
        let msg = Term::tuple([Term::atom("leave"), self.me(ctx), list, Term::list([group])]);
        self.broadcast(ctx, msg);
        true
    }

    fn members(&self, group: &Term, local_only: bool) -> Vec<Pid> {
        let mut out: Vec<Pid> = Vec::new();
        for l in &self.local {
            for g in &l.groups {
                if g == group {
                    out.push(l.pid);
                }
            }
        }
        if !local_only {
            for r in &self.remote {
                for (g, v) in &r.groups {
                    if g == group {
                        out.extend(v.iter().copied());
                    }
                }
            }
        }
        out
    }

    fn groups(&self) -> Vec<Term> {
        let mut out: Vec<Term> = Vec::new();
        let all = self.local.iter().flat_map(|l| l.groups.iter()).chain(
            self.remote
                .iter()
                .flat_map(|r| r.groups.iter().map(|(g, _)| g)),
        );
        for g in all {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
        out
    }
}

impl Actor for Scope {
    type Message = Message;
    type Call = Request;
    type Reply = Reply;
    type Args = ();

    fn handle_message(&mut self, ctx: &mut Context<Self>, msg: Message) -> Step<Self> {
        match msg {
            Message::Term(t) => self.on_term(ctx, &t),
            Message::Cast(t) => self.on_cast(ctx, &t),
            Message::NodeUp(node) => self.discover(ctx, &node),
            Message::Discover => {
                for node in self.dist.visible_nodes() {
                    self.discover(ctx, &node);
                }
            }
        }
        Step::Continue
    }

    fn handle_call(
        &mut self,
        ctx: &mut Context<Self>,
        req: Request,
        reply: ReplyTo<Reply>,
    ) -> Step<Self> {
        let answer = match req {
            Request::Join(group, pids) => {
                self.join(ctx, group, pids);
                Reply::Ok
            }
            Request::Leave(group, pids) => Reply::Left(self.leave(ctx, group, pids)),
            Request::Members(group, local) => Reply::Members(self.members(&group, local)),
            Request::Groups => Reply::Groups(self.groups()),
        };
        reply.send(answer);
        Step::Continue
    }

    fn handle_down(&mut self, ctx: &mut Context<Self>, down: Down) -> Step<Self> {
        if let Some(i) = self.local.iter().position(|l| l.pid == down.pid) {
            let gone = self.local.remove(i);
            let msg = Term::tuple([
                Term::atom("leave"),
                self.me(ctx),
                pid_term(gone.pid),
                Term::list(gone.groups),
            ]);
            self.broadcast(ctx, msg);
        } else {
            self.remote.retain(|r| r.scope != down.pid);
        }
        Step::Continue
    }

    fn message_from_any(
        msg: Box<dyn std::any::Any + Send>,
    ) -> Result<Message, Box<dyn std::any::Any + Send>> {
        let msg = match msg.downcast::<Term>() {
            Ok(t) => return Ok(Message::Term(*t)),
            Err(m) => m,
        };
        let msg = match msg.downcast::<GenCast>() {
            Ok(c) => return Ok(Message::Cast(c.0)),
            Err(m) => m,
        };
        let msg = match msg.downcast::<NodeUp>() {
            Ok(n) => return Ok(Message::NodeUp(n.0)),
            Err(m) => m,
        };
        match msg.downcast::<Discover>() {
            Ok(_) => Ok(Message::Discover),
            Err(m) => Err(m),
        }
    }
}
