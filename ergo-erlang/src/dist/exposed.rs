//! What a node lets Erlang run by module and function name: Rust functions for
//! `rpc:call`/`erpc:call` and actor factories for `spawn/4` (`Node.spawn/4`,
//! `erlang:spawn_request`). Nothing is reachable unless the user declared it (the
//! same allowlist model as remote spawn on the native network); everything else fails
//! as a BEAM node does for an undefined function (`undef`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ergo_runtime::{Node, Pid};
use rustc_hash::FxHashMap;

use crate::term::Term;

/// A Rust function callable by `rpc`/`erpc`: the arguments, the result or the error
/// reason (raised as `error:Reason` in the caller).
pub type RpcFn = Arc<dyn Fn(Vec<Term>) -> Result<Term, Term> + Send + Sync>;

/// What an actor factory returns: the started process, or why not (the spawn fails
/// with that reason, as `badarg` from a BEAM node).
pub type SpawnFuture = Pin<Box<dyn Future<Output = Result<Pid, Term>> + Send>>;

/// An actor factory: starts a process on the node from the spawn's arguments.
pub type SpawnFn = Arc<dyn Fn(Node, Vec<Term>) -> SpawnFuture + Send + Sync>;

/// The allowlist.
#[derive(Default)]
pub(crate) struct Exposed {
    rpc: FxHashMap<(String, String), RpcFn>,
    spawn: FxHashMap<(String, String), SpawnFn>,
}

fn key(m: &Term, f: &Term) -> Option<(String, String)> {
    Some((m.as_atom()?.to_owned(), f.as_atom()?.to_owned()))
}

impl Exposed {
    pub(crate) fn allow_rpc(&mut self, module: &str, function: &str, f: RpcFn) {
        self.rpc.insert((module.to_owned(), function.to_owned()), f);
    }

    pub(crate) fn allow_spawn(&mut self, module: &str, function: &str, f: SpawnFn) {
        self.spawn
            .insert((module.to_owned(), function.to_owned()), f);
    }

    pub(crate) fn rpc(&self, m: &Term, f: &Term) -> Option<RpcFn> {
        self.rpc.get(&key(m, f)?).cloned()
    }

    pub(crate) fn spawn(&self, m: &Term, f: &Term) -> Option<SpawnFn> {
        self.spawn.get(&key(m, f)?).cloned()
    }
}

/// The arguments of a call: a proper list.
pub(crate) fn args(a: &Term) -> Option<Vec<Term>> {
    match a {
        Term::List(items) => Some(items.clone()),
        _ => None,
    }
}
