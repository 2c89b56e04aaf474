//! This node's `global_name_server`: OTP's `global` protocol (version 8, as in OTP 25),
//! enough to be a member of a cluster. When a visible BEAM node connects, both sides
//! send `init_connect`; the BEAM node's locker takes the cluster lock (this node
//! answers `set_lock`/`del_lock`), each side sends its `lock_set`, both exchange their
//! name tables (`exchange`, `resolved`) and the BEAM node's `global:sync()` returns.
//! Nodes learned from a peer (`new_nodes`, or the peer's known list) are connected and
//! told `in_sync`, so a node that joins through a BEAM node is meshed with this one,
//! as between BEAM nodes. Names registered on either side resolve on both.
//!
//! Each side's locker takes the cluster lock for a new connection (this node's as
//! OTP's does: the lock `{global, [Locker1, Locker2]}` on the boss, on both nodes,
//! then on every known node; released and retried later on a refusal), so two ergo
//! nodes synchronise with each other as two BEAM nodes do. A name conflict found while
//! exchanging is resolved as OTP does: by the entry's method (`random_exit_name` keeps
//! the process on the node that sorts first and kills the other; `random_notify_name`
//! and `notify_all_name` send `{global_name_conflict, ...}`; any other method deletes
//! the name). Locks (`global:set_lock/trans` from any node, [`Shared::set_lock`] from
//! Rust) are held by pids; a holder that ends, or whose node goes, releases them.

mod locker;

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::conn::Conn;
use super::{ErlTarget, Shared};
use crate::etf;
use crate::term::{ErlPid, ErlRef, Term};

/// The registered name of the server on every node.
pub(crate) const SERVER: &str = "global_name_server";
/// The protocol version this node speaks.
const VSN: i64 = 8;

/// A globally registered name.
#[derive(Clone)]
struct Entry {
    name: Term,
    pid: ErlPid,
    method: Term,
}

/// A lock: `{ResourceId, LockRequesterId}` held by some pids.
struct Lock {
    resource: Term,
    requester: Term,
    holders: Vec<ErlPid>,
}

/// The handshake with one peer in progress.
#[derive(Default)]
struct Session {
    my_tag: Option<Term>,
    his_tag: Option<Term>,
    /// The peer's locker sent `lock_set` (and this node answered).
    locked: bool,
    /// The peer's names arrived (this node's ops for them are applied).
    exchanged: bool,
    /// The ops the peer resolved for this node, and the nodes it knows, once its
    /// `resolved` arrived.
    resolved: Option<(Vec<Term>, Vec<Term>)>,
    /// The peer's locker (from its `init_connect`).
    his_locker: Option<ErlPid>,
    /// This node sent its `lock_set`: after taking the lock itself, or answering the
    /// peer's.
    lock_sent: bool,
    /// The lock this node's locker took for the session, and the nodes it holds it on.
    my_lock: Option<(Term, Vec<String>)>,
}

/// What the server keeps.
#[derive(Default)]
pub(crate) struct Global {
    next_tag: i64,
    /// Nodes synchronised with (Erlang's `known`).
    known: BTreeSet<String>,
    sessions: FxHashMap<String, Session>,
    names: FxHashMap<Vec<u8>, Entry>,
    locks: Vec<Lock>,
    /// Pids of names inserted (and lock holders added) since the last
    /// [`Shared::global_watch`].
    unwatched: Vec<ErlPid>,
    /// The monitors this node holds on the remote pids of names and lock holders.
    watching: FxHashMap<ErlRef, ErlPid>,
    /// The pids in `watching` (one monitor per pid).
    watched: rustc_hash::FxHashSet<ErlPid>,
}

fn key(name: &Term) -> Vec<u8> {
    etf::encode(name).unwrap_or_default()
}

/// `fun global:random_exit_name/3`, the method of names registered here.
fn method() -> Term {
    Term::Export {
        module: "global".into(),
        function: "random_exit_name".into(),
        arity: 3,
    }
}

fn cast_msg(msg: Term) -> Term {
    Term::tuple([Term::atom("$gen_cast"), msg])
}

impl Global {
    fn insert(&mut self, name: &Term, pid: &ErlPid, method: &Term) {
        self.unwatched.push(pid.clone());
        self.names.insert(
            key(name),
            Entry {
                name: name.clone(),
                pid: pid.clone(),
                method: method.clone(),
            },
        );
    }

    /// The known list as OTP 7+ sends it: `[{Node, Vsn}]`.
    fn known_list(&self) -> Term {
        Term::list(
            self.known
                .iter()
                .map(|n| Term::tuple([Term::atom(n), Term::Integer(VSN)])),
        )
    }

    /// `[{Name, Pid, Method}]`.
    fn name_list(&self) -> Term {
        Term::list(
            self.names
                .values()
                .map(|e| Term::tuple([e.name.clone(), Term::Pid(e.pid.clone()), e.method.clone()])),
        )
    }

    fn set_lock(&mut self, id: &Term, pid: &ErlPid) -> bool {
        let Some([resource, requester]) = id.as_tuple() else {
            return false;
        };
        match self.locks.iter_mut().find(|l| &l.resource == resource) {
            Some(l) if &l.requester == requester => {
                if !l.holders.contains(pid) {
                    l.holders.push(pid.clone());
                    self.unwatched.push(pid.clone());
                }
                true
            }
            Some(_) => false,
            None => {
                self.locks.push(Lock {
                    resource: resource.clone(),
                    requester: requester.clone(),
                    holders: vec![pid.clone()],
                });
                self.unwatched.push(pid.clone());
                true
            }
        }
    }

    /// A pid ended: its names go and it holds no lock any more.
    fn pid_down(&mut self, pid: &ErlPid) {
        self.names.retain(|_, e| &e.pid != pid);
        for l in &mut self.locks {
            l.holders.retain(|p| p != pid);
        }
        self.locks.retain(|l| !l.holders.is_empty());
    }

    fn del_lock(&mut self, id: &Term, pid: &ErlPid) {
        let Some([resource, requester]) = id.as_tuple() else {
            return;
        };
        for l in &mut self.locks {
            if &l.resource == resource && &l.requester == requester {
                l.holders.retain(|p| p != pid);
            }
        }
        self.locks.retain(|l| !l.holders.is_empty());
    }

    /// Applies `{insert, {Name, Pid, Method}}` and `{delete, Name}` operations.
    fn do_ops(&mut self, ops: &[Term]) {
        for op in ops {
            match op.as_tuple() {
                Some([tag, entry]) if tag.is_atom("insert") => {
                    if let Some([name, Term::Pid(pid), method]) = entry.as_tuple() {
                        self.insert(name, pid, method);
                    }
                }
                Some([tag, name]) if tag.is_atom("delete") => {
                    self.names.remove(&key(name));
                }
                _ => {}
            }
        }
    }
}

impl Shared {
    /// A connection came up: with a visible peer (both sides published), start the
    /// `global` handshake unless the peer is already synchronised.
    pub(crate) fn global_peer_up(self: &Arc<Self>, conn: &Conn) {
        if conn.flags & super::flags::PUBLISHED == 0 {
            return;
        }
        self.node_watchers.lock().retain(|w| {
            self.node
                .send(
                    ergo_runtime::Target::Pid(*w),
                    super::NodeUp(conn.peer.clone()),
                )
                .is_ok()
        });
        let init = {
            let mut g = self.global.lock();
            if g.known.contains(&conn.peer) {
                return;
            }
            g.next_tag += 1;
            let tag = Term::Integer(g.next_tag);
            g.sessions.insert(
                conn.peer.clone(),
                Session {
                    my_tag: Some(tag.clone()),
                    ..Session::default()
                },
            );
            Term::tuple([
                Term::atom("init_connect"),
                Term::tuple([Term::Integer(VSN), tag]),
                Term::atom(&self.name),
                Term::tuple([
                    Term::atom("locker"),
                    Term::atom("no_longer_a_pid"),
                    Term::nil(),
                    Term::Pid(self.locker_pid()),
                ]),
            ])
        };
        conn.send_to(
            &self.global_server(&conn.peer),
            &self.node_pid(),
            &cast_msg(init),
        );
    }

    /// A connection ended: the peer's names, locks and session go (and a lock this
    /// node's locker took for that session on other nodes is released).
    pub(crate) fn global_peer_down(self: &Arc<Self>, peer: &str) {
        let mut g = self.global.lock();
        g.known.remove(peer);
        if let Some((id, nodes)) = g.sessions.remove(peer).and_then(|s| s.my_lock) {
            let nodes: Vec<String> = nodes.into_iter().filter(|n| n != peer).collect();
            let shared = self.clone();
            self.runtime.spawn(async move {
                shared.unlock_nodes(&id, &nodes).await;
            });
        }
        g.names.retain(|_, e| e.pid.node != peer);
        g.watching.retain(|_, p| p.node != peer);
        g.watched.retain(|p| p.node != peer);
        for l in &mut g.locks {
            l.holders.retain(|p| p.node != peer);
        }
        g.locks.retain(|l| !l.holders.is_empty());
    }

    /// A message sent straight to this node's locker pid (an old-form `lock_set`):
    /// handled as if cast to the server.
    pub(crate) fn global_locker_message(self: &Arc<Self>, conn: &Arc<Conn>, msg: &Term) {
        self.global_cast_in(conn, msg);
    }

    /// The pid that stands for this node's locker in lock ids.
    pub(crate) fn locker_pid(&self) -> ErlPid {
        ErlPid {
            node: self.name.clone(),
            id: 0,
            serial: 1,
            creation: self.creation,
        }
    }

    fn global_server(&self, node: &str) -> ErlTarget {
        ErlTarget::Name {
            name: SERVER.into(),
            node: node.into(),
        }
    }

    /// Casts `msg` to the server on `node` if connected (`noconnect`).
    fn global_cast(&self, node: &str, msg: Term) {
        if let Some(c) = self.conn(node) {
            c.send_to(&self.global_server(node), &self.node_pid(), &cast_msg(msg));
        }
    }

    /// Monitors the remote pids of the names inserted meanwhile (as OTP's server
    /// monitors every registered process): a name goes when its process ends.
    fn global_watch(&self) {
        let me = self.node_pid();
        let pids: Vec<ErlPid> = std::mem::take(&mut self.global.lock().unwatched);
        for pid in pids {
            if pid.node == self.name {
                continue;
            }
            let Some(conn) = self.conn(&pid.node) else {
                continue;
            };
            let r = self.make_ref();
            {
                let mut g = self.global.lock();
                if !g.watched.insert(pid.clone()) {
                    continue;
                }
                g.watching.insert(r.clone(), pid.clone());
            }
            let monitor = super::ctl(19, [Term::Pid(me.clone()), Term::Pid(pid), Term::Ref(r)]);
            conn.send(&monitor, None);
        }
    }

    /// A monitor fired: true if it was one of `global`'s (the process's names go).
    pub(crate) fn global_monitor_fired(&self, r: &ErlRef) -> bool {
        let mut g = self.global.lock();
        let Some(pid) = g.watching.remove(r) else {
            return false;
        };
        g.watched.remove(&pid);
        g.pid_down(&pid);
        true
    }

    /// A message for `global_name_server` from the peer of `conn`.
    pub(crate) fn global_message(self: &Arc<Self>, conn: &Arc<Conn>, msg: Term) {
        self.global_message_in(conn, msg);
        self.global_watch();
    }

    fn global_message_in(self: &Arc<Self>, conn: &Arc<Conn>, msg: Term) {
        if let Some(call) = super::control::GenCall::parse(&msg) {
            let reply = self.global_call(&call.from, &call.req);
            if let Some(reply) = reply {
                call.reply(conn, &self.node_pid(), reply);
            }
            return;
        }
        match msg.as_tuple() {
            Some([kind, cast]) if kind.is_atom("$gen_cast") => self.global_cast_in(conn, cast),
            // init_connect_ack, cancel_connect, lost_connection, remove_connection,
            // prepare_shutdown: nothing this node acts on.
            _ => self.node.log_limiter().log(
                "erlang: global message",
                || tracing::debug!(peer = %conn.peer, %msg, "global: ignored a message"),
            ),
        }
    }

    fn global_call(&self, from: &ErlPid, req: &Term) -> Option<Term> {
        let mut g = self.global.lock();
        let items = match req {
            Term::Tuple(items) => items.as_slice(),
            r if r.is_atom("get_known") => return Some(g.known_list()),
            r if r.is_atom("get_synced") => {
                return Some(Term::list(g.known.iter().map(|n| Term::atom(n))))
            }
            r if r.is_atom("get_protocol_version") => return Some(Term::Integer(VSN)),
            r if r.is_atom("get_names_ext") => return Some(Term::nil()),
            _ => return None,
        };
        Some(match items {
            [tag, id] if tag.is_atom("set_lock") => Term::atom(bool_atom(g.set_lock(id, from))),
            [tag, id] if tag.is_atom("del_lock") => {
                g.del_lock(id, from);
                Term::atom("true")
            }
            [tag, name, Term::Pid(pid), method] if tag.is_atom("register") => {
                g.insert(name, pid, method);
                Term::atom("yes")
            }
            [tag, name] if tag.is_atom("unregister") => {
                g.names.remove(&key(name));
                Term::atom("ok")
            }
            _ => {
                self.node.log_limiter().log(
                    "erlang: global call",
                    || tracing::debug!(%req, "global: unsupported call"),
                );
                return None;
            }
        })
    }

    fn global_cast_in(self: &Arc<Self>, conn: &Arc<Conn>, cast: &Term) {
        let Some(items) = cast.as_tuple() else { return };
        let Some(kind) = items.first().and_then(Term::as_atom) else {
            return;
        };
        let peer = conn.peer.as_str();
        tracing::debug!(peer, kind, "global: cast");
        match (kind, &items[1..]) {
            ("init_connect", [vsn, node, locker]) if node.is_atom(peer) => {
                let his_tag = match vsn.as_tuple() {
                    Some([_, tag, ..]) => tag.clone(),
                    _ => return,
                };
                let his_locker = match locker.as_tuple() {
                    Some([_, _, _, Term::Pid(p)]) if p.node == peer => Some(p.clone()),
                    _ => None,
                };
                let mut g = self.global.lock();
                let s = g.sessions.entry(peer.to_owned()).or_default();
                s.his_tag = Some(his_tag);
                s.his_locker = his_locker.clone();
                // A node that connected before this one's handshake started (or after
                // it ended) gets one now.
                if s.my_tag.is_none() {
                    drop(g);
                    self.global.lock().known.remove(peer);
                    self.global_restart(conn);
                    if let Some(s) = self.global.lock().sessions.get_mut(peer) {
                        s.his_locker = his_locker;
                    }
                } else {
                    drop(g);
                }
                self.global_start_locker(peer);
            }
            // The old form, without tags: a refusal a BEAM locker sends when it does
            // not know this node's connection yet.
            ("lock_set", [Term::Pid(his_locker), set, _his_known])
                if his_locker.node == peer && !set.is_atom("true") =>
            {
                let my_tag = self
                    .global
                    .lock()
                    .sessions
                    .get(peer)
                    .and_then(|s| s.my_tag.clone());
                if let Some(my_tag) = my_tag {
                    let msg = Term::tuple([
                        Term::atom("lock_set"),
                        Term::Pid(his_locker.clone()),
                        set.clone(),
                        Term::nil(),
                        my_tag,
                    ]);
                    self.global_cast_in(conn, &msg);
                }
            }
            ("lock_set", [Term::Pid(his_locker), set, _his_known, my_tag])
                if his_locker.node == peer =>
            {
                let mut g = self.global.lock();
                let Some(s) = g.sessions.get_mut(peer) else {
                    return;
                };
                if s.my_tag.as_ref() != Some(my_tag) || s.locked {
                    return;
                }
                if !set.is_atom("true") {
                    // The peer could not lock its side for the lock this node took:
                    // released, and this node's locker tries again later.
                    if s.lock_sent {
                        s.lock_sent = false;
                        let lock = s.my_lock.take();
                        drop(g);
                        if let Some((id, nodes)) = lock {
                            let shared = self.clone();
                            self.runtime.spawn(async move {
                                shared.unlock_nodes(&id, &nodes).await;
                            });
                        }
                        self.global_start_locker(peer);
                    }
                    return;
                }
                let Some(his_tag) = s.his_tag.clone() else {
                    return;
                };
                s.locked = true;
                // The answer to this node's own `lock_set`, or the peer's locker came
                // first and this node answers it.
                let answer = !s.lock_sent;
                s.lock_sent = true;
                let lock_set = Term::tuple([
                    Term::atom("lock_set"),
                    Term::Pid(self.locker_pid()),
                    Term::atom("true"),
                    g.known_list(),
                    his_tag.clone(),
                ]);
                let exchange = Term::tuple([
                    Term::atom("exchange"),
                    Term::atom(&self.name),
                    g.name_list(),
                    Term::nil(),
                    his_tag,
                ]);
                drop(g);
                if answer {
                    self.global_cast(peer, lock_set);
                }
                self.global_cast(peer, exchange);
            }
            ("exchange", [node, names, _ext, my_tag]) if node.is_atom(peer) => {
                let mut g = self.global.lock();
                let ours = g.sessions.get(peer).and_then(|s| s.my_tag.clone());
                if ours.as_ref() != Some(my_tag) {
                    return;
                }
                let Some(his_tag) = g.sessions.get(peer).and_then(|s| s.his_tag.clone()) else {
                    return;
                };
                let (ops, resolved, losers) = self.exchange_names(&g, peer, names);
                g.do_ops(&ops);
                let resolved_msg = Term::tuple([
                    Term::atom("resolved"),
                    Term::atom(&self.name),
                    Term::list(resolved),
                    g.known_list(),
                    Term::atom("unused"),
                    Term::nil(),
                    his_tag,
                ]);
                if let Some(s) = g.sessions.get_mut(peer) {
                    s.exchanged = true;
                }
                drop(g);
                self.global_cast(peer, resolved_msg);
                self.resolve_losers(losers);
                self.global_maybe_synced(peer, ops);
            }
            ("resolved", [node, his_resolved, his_known, _unused, _ext, my_tag])
                if node.is_atom(peer) =>
            {
                let mut g = self.global.lock();
                let Some(s) = g.sessions.get_mut(peer) else {
                    return;
                };
                if s.my_tag.as_ref() != Some(my_tag) {
                    return;
                }
                let list = |t: &Term| match t {
                    Term::List(items) => items.clone(),
                    _ => Vec::new(),
                };
                s.resolved = Some((list(his_resolved), list(his_known)));
                drop(g);
                self.global_maybe_synced(peer, Vec::new());
            }
            ("new_nodes", [node, ops, _ext, nodes, _extra]) if node.is_atom(peer) => {
                let ops = match ops {
                    Term::List(items) => items.clone(),
                    _ => Vec::new(),
                };
                self.global.lock().do_ops(&ops);
                self.sync_others(nodes);
            }
            ("in_sync", [node, _]) if node.is_atom(peer) => {
                let mut g = self.global.lock();
                let session = g.sessions.remove(peer);
                g.known.insert(peer.to_owned());
                drop(g);
                // The handshake is over: a lock this node's locker took for it goes.
                if let Some((id, nodes)) = session.and_then(|s| s.my_lock) {
                    let shared = self.clone();
                    self.runtime.spawn(async move {
                        shared.unlock_nodes(&id, &nodes).await;
                    });
                }
            }
            _ => self.node.log_limiter().log(
                "erlang: global cast",
                || tracing::debug!(peer, %cast, "global: ignored a cast"),
            ),
        }
    }

    /// Starts a new handshake with the peer of `conn`.
    fn global_restart(self: &Arc<Self>, conn: &Conn) {
        let his = self
            .global
            .lock()
            .sessions
            .remove(&conn.peer)
            .and_then(|s| s.his_tag);
        self.global_peer_up(conn);
        if let Some(s) = self.global.lock().sessions.get_mut(&conn.peer) {
            s.his_tag = his;
        }
    }

    /// The operations for the peer's names (`{insert, ...}` for names new here), the
    /// resolved conflicts the peer must apply, and what the resolution does to the
    /// processes that lose a name. As OTP, the node whose name sorts first resolves.
    fn exchange_names(
        &self,
        g: &Global,
        peer: &str,
        names: &Term,
    ) -> (Vec<Term>, Vec<Term>, Vec<Loser>) {
        let mut ops = Vec::new();
        let mut resolved = Vec::new();
        let mut losers = Vec::new();
        let Term::List(names) = names else {
            return (ops, resolved, losers);
        };
        let insert = |name: &Term, pid: &ErlPid, method: &Term| {
            Term::tuple([
                Term::atom("insert"),
                Term::tuple([name.clone(), Term::Pid(pid.clone()), method.clone()]),
            ])
        };
        for n in names {
            let Some([name, Term::Pid(pid), method]) = n.as_tuple() else {
                continue;
            };
            match g.names.get(&key(name)) {
                None => ops.push(insert(name, pid, method)),
                Some(e) if &e.pid == pid => {}
                Some(e) if self.name.as_str() < peer => {
                    match resolve_it(&e.method, name, pid, &e.pid, &mut losers) {
                        Some(kept) if &kept == pid => ops.push(insert(name, pid, method)),
                        Some(_) => resolved.push(insert(name, &e.pid, &e.method)),
                        None => {
                            let delete = Term::tuple([Term::atom("delete"), name.clone()]);
                            ops.push(delete.clone());
                            resolved.push(delete);
                        }
                    }
                }
                Some(_) => {}
            }
        }
        (ops, resolved, losers)
    }

    /// Carries out what name conflicts decided: losers killed or told.
    pub(crate) fn resolve_losers(&self, losers: Vec<Loser>) {
        for loser in losers {
            match loser {
                Loser::Kill(pid) => {
                    tracing::info!(%pid, "global: name conflict, terminating the process");
                    if let Some(local) = self.local_pid(&pid) {
                        self.node.kill(local);
                    } else if let Some(conn) = self.conn(&pid.node) {
                        let exit = super::ctl(
                            8,
                            [
                                Term::Pid(self.node_pid()),
                                Term::Pid(pid),
                                Term::atom("kill"),
                            ],
                        );
                        conn.send(&exit, None);
                    }
                }
                Loser::Tell(pid, msg) => {
                    if let Some(local) = self.local_pid(&pid) {
                        let _ = self.node.send(ergo_runtime::Target::Pid(local), msg);
                    } else if let Some(conn) = self.conn(&pid.node) {
                        conn.send_to(&ErlTarget::Pid(pid), &self.node_pid(), &msg);
                    }
                }
            }
        }
    }

    /// Once both the peer's names and its `resolved` are in: the peer is synchronised;
    /// the nodes it knows are connected and told, and the other known nodes learn of it.
    fn global_maybe_synced(self: &Arc<Self>, peer: &str, mut ops: Vec<Term>) {
        let mut g = self.global.lock();
        let done = g
            .sessions
            .get(peer)
            .is_some_and(|s| s.exchanged && s.resolved.is_some() && s.locked);
        if !done {
            return;
        }
        let Some(s) = g.sessions.remove(peer) else {
            return;
        };
        if let Some((id, nodes)) = s.my_lock {
            let shared = self.clone();
            self.runtime.spawn(async move {
                shared.unlock_nodes(&id, &nodes).await;
            });
        }
        let (his_resolved, his_known) = s.resolved.unwrap_or_default();
        g.do_ops(&his_resolved);
        ops.extend(his_resolved);
        let others: Vec<String> = g.known.iter().filter(|n| *n != peer).cloned().collect();
        g.known.insert(peer.to_owned());
        let mut new_nodes = vec![Term::tuple([Term::atom(peer), Term::Integer(VSN)])];
        new_nodes.extend(his_known.iter().cloned());
        drop(g);
        tracing::info!(peer, "global: synchronised");
        let msg = Term::tuple([
            Term::atom("new_nodes"),
            Term::atom(&self.name),
            Term::list(ops),
            Term::nil(),
            Term::list(new_nodes),
            Term::list([Term::tuple([Term::atom("vsn"), Term::Integer(VSN)])]),
        ]);
        for n in others {
            self.global_cast(&n, msg.clone());
        }
        self.sync_others(&Term::List(his_known));
    }

    /// Nodes a peer knows (`[Node]` or `[{Node, Vsn}]`): each one not known here is
    /// connected and told `in_sync` (OTP's `sync_others`).
    fn sync_others(self: &Arc<Self>, nodes: &Term) {
        let Term::List(nodes) = nodes else { return };
        for n in nodes {
            let node = match n {
                Term::Atom(a) => a.clone(),
                Term::Tuple(t) => match t.first() {
                    Some(Term::Atom(a)) => a.clone(),
                    _ => continue,
                },
                _ => continue,
            };
            {
                let mut g = self.global.lock();
                if node == self.name || g.known.contains(&node) {
                    continue;
                }
                g.known.insert(node.clone());
            }
            let shared = self.clone();
            self.runtime.spawn(async move {
                let in_sync = Term::tuple([
                    Term::atom("in_sync"),
                    Term::atom(&shared.name),
                    Term::atom("true"),
                ]);
                let Err(e) = shared.ensure_conn(&node).await else {
                    return shared.global_cast(&node, in_sync);
                };
                // The node may be connecting to this one at the same moment (its
                // connection wins, this one is refused): it is told once its
                // connection is up (bounded wait).
                for _ in 0..40 {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    if shared.conn(&node).is_some() {
                        return shared.global_cast(&node, in_sync);
                    }
                }
                tracing::info!(%node, error = %e, "global: could not connect");
                shared.global.lock().known.remove(&node);
            });
        }
    }

    /// The pid registered globally as `name` (a dead local process's name is dropped).
    pub(crate) fn global_whereis(&self, name: &Term) -> Option<ErlPid> {
        let mut g = self.global.lock();
        let k = key(name);
        let e = g.names.get(&k)?;
        if let Some(local) = self.local_pid(&e.pid) {
            if self.node.process_info(local).is_none() {
                g.names.remove(&k);
                return None;
            }
        }
        g.names.get(&k).map(|e| e.pid.clone())
    }

    /// The names registered globally.
    pub(crate) fn global_names(&self) -> Vec<Term> {
        self.global
            .lock()
            .names
            .values()
            .map(|e| e.name.clone())
            .collect()
    }

    /// The synchronised nodes.
    pub(crate) fn global_known(&self) -> Vec<String> {
        self.global.lock().known.iter().cloned().collect()
    }

    /// `global:register_name/2` from this node: locks `global` on every known node,
    /// registers everywhere, unlocks. False if the name is taken.
    pub(crate) async fn global_register(
        self: &Arc<Self>,
        name: Term,
        pid: ErlPid,
    ) -> Result<bool, super::ErlCallError> {
        let _one = self.global_ops.lock().await;
        if self.global_whereis(&name).is_some() {
            return Ok(false);
        }
        let me = self.node_pid();
        let id = Term::tuple([Term::atom("global"), Term::Pid(me.clone())]);
        let nodes = self.global_known();
        let timeout = std::time::Duration::from_secs(10);
        let mut locked = Vec::new();
        let mut result = Ok(true);
        if !self.global.lock().set_lock(&id, &me) {
            return Ok(false);
        }
        for n in &nodes {
            let req = Term::tuple([Term::atom("set_lock"), id.clone()]);
            match self.call(self.global_server(n), req, timeout).await {
                Ok(t) if t.is_atom("true") => locked.push(n.clone()),
                Ok(_) => {
                    result = Ok(false);
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if matches!(result, Ok(true)) {
            let req = Term::tuple([
                Term::atom("register"),
                name.clone(),
                Term::Pid(pid.clone()),
                method(),
            ]);
            for n in &locked {
                if let Err(e) = self.call(self.global_server(n), req.clone(), timeout).await {
                    tracing::info!(node = %n, error = %e, "global: register failed");
                }
            }
            self.global.lock().insert(&name, &pid, &method());
        }
        for n in &locked {
            let req = Term::tuple([Term::atom("del_lock"), id.clone()]);
            let _ = self.call(self.global_server(n), req, timeout).await;
        }
        self.global.lock().del_lock(&id, &me);
        self.global_watch();
        result
    }

    /// `global:unregister_name/1` from this node.
    pub(crate) async fn global_unregister(self: &Arc<Self>, name: Term) {
        let _one = self.global_ops.lock().await;
        self.global.lock().names.remove(&key(&name));
        let timeout = std::time::Duration::from_secs(10);
        for n in self.global_known() {
            let req = Term::tuple([Term::atom("unregister"), name.clone()]);
            let _ = self.call(self.global_server(&n), req, timeout).await;
        }
    }
}

/// What a name conflict does to a process that loses the name.
pub(crate) enum Loser {
    /// `exit(Pid, kill)` (`random_exit_name`).
    Kill(ErlPid),
    /// A `{global_name_conflict, ...}` message (`random_notify_name`,
    /// `notify_all_name`).
    Tell(ErlPid, Term),
}

/// `{Min, Max}` by node name, as `global:minmax/2`.
fn minmax<'a>(p1: &'a ErlPid, p2: &'a ErlPid) -> (&'a ErlPid, &'a ErlPid) {
    if p1.node < p2.node {
        (p1, p2)
    } else {
        (p2, p1)
    }
}

/// `global:resolve_it(Method, Name, Pid1, Pid2)` for OTP's three resolvers: the pid
/// that keeps the name (`None`: neither), what happens to the others pushed to
/// `losers`. Another method (a closure this node cannot run) deletes the name, as OTP
/// does when a resolver fails.
pub(crate) fn resolve_it(
    method: &Term,
    name: &Term,
    pid1: &ErlPid,
    pid2: &ErlPid,
    losers: &mut Vec<Loser>,
) -> Option<ErlPid> {
    let function = match method {
        Term::Export {
            module,
            function,
            arity: 3,
        } if module == "global" => function.as_str(),
        _ => "",
    };
    let conflict = Term::atom("global_name_conflict");
    match function {
        "random_exit_name" => {
            let (min, max) = minmax(pid1, pid2);
            losers.push(Loser::Kill(max.clone()));
            Some(min.clone())
        }
        "random_notify_name" => {
            let (min, max) = minmax(pid1, pid2);
            losers.push(Loser::Tell(
                max.clone(),
                Term::tuple([conflict, name.clone()]),
            ));
            Some(min.clone())
        }
        "notify_all_name" => {
            losers.push(Loser::Tell(
                pid1.clone(),
                Term::tuple([conflict.clone(), name.clone(), Term::Pid(pid2.clone())]),
            ));
            losers.push(Loser::Tell(
                pid2.clone(),
                Term::tuple([conflict, name.clone(), Term::Pid(pid1.clone())]),
            ));
            None
        }
        _ => {
            tracing::info!(%name, %method, "global: a name conflict with a resolver this node cannot run: the name is deleted");
            None
        }
    }
}

fn bool_atom(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(node: &str) -> ErlPid {
        ErlPid {
            node: node.into(),
            id: 40,
            serial: 0,
            creation: 1,
        }
    }

    fn export(function: &str) -> Term {
        Term::Export {
            module: "global".into(),
            function: function.into(),
            arity: 3,
        }
    }

    #[test]
    fn conflicts_resolve_as_otps_resolvers_do() {
        let (a, b) = (pid("a@h"), pid("b@h"));
        let name = Term::atom("n");
        // random_exit_name: the pid on the node that sorts first keeps it, the other
        // is killed, whichever order they come in.
        for (p1, p2) in [(&a, &b), (&b, &a)] {
            let mut losers = Vec::new();
            let kept = resolve_it(&export("random_exit_name"), &name, p1, p2, &mut losers);
            assert_eq!(kept.as_ref(), Some(&a));
            assert!(matches!(losers.as_slice(), [Loser::Kill(p)] if *p == b));
        }
        let mut losers = Vec::new();
        let kept = resolve_it(&export("random_notify_name"), &name, &b, &a, &mut losers);
        assert_eq!(kept, Some(a.clone()));
        assert!(matches!(losers.as_slice(), [Loser::Tell(p, _)] if *p == b));
        let mut losers = Vec::new();
        assert_eq!(
            resolve_it(&export("notify_all_name"), &name, &a, &b, &mut losers),
            None
        );
        assert_eq!(losers.len(), 2);
        // A resolver this node cannot run: the name is deleted, nobody is touched.
        let mut losers = Vec::new();
        assert_eq!(
            resolve_it(&Term::atom("fun"), &name, &a, &b, &mut losers),
            None
        );
        assert!(losers.is_empty());
    }
}
