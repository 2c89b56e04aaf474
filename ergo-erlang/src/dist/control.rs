//! What arrives on a connection: each frame's control message (send, registered send,
//! links, exits, monitors) acted on, and gen_server calls and casts handed to the
//! registered Rust actors. Bad input is logged and dropped, never fatal.

use std::any::{Any, TypeId};
use std::sync::Arc;

use ergo_runtime::dist::Dist;
use ergo_runtime::{CallError, Priority, SendError, Target};

use super::conn::{Conn, PASS_THROUGH};
use super::reason::{reason_to_term, term_to_reason};
use super::{ctl, GenCast, InMonitor, Shared};
use crate::etf;
use crate::term::{ErlPid, ErlRef, Term};

/// Handles one frame (not a tick). An error means the frame was invalid: as OTP
/// does ("Invalid distribution message"), the caller closes the connection.
pub(crate) fn handle_frame(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    body: &[u8],
) -> Result<(), String> {
    match body {
        [] => Err("an empty frame".into()),
        [PASS_THROUGH, rest @ ..] => handle_terms(shared, conn, rest, true),
        // A distribution header without atom cache references (fragments negotiated).
        [131, 68, 0, rest @ ..] if conn.flags & super::flags::FRAGMENTS != 0 => {
            handle_terms(shared, conn, rest, false)
        }
        [first, ..] => Err(format!(
            "a frame with a distribution header (tag {first}) this node did not negotiate"
        )),
    }
}

/// Handles a control message and its message: with version bytes (`magic`, a
/// pass-through frame) or bare (after a distribution header).
pub(crate) fn handle_terms(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    rest: &[u8],
    magic: bool,
) -> Result<(), String> {
    let decoded = if magic {
        etf::decode_prefix(rest)
    } else {
        etf::decode_bare_prefix(rest)
    };
    let (control, used) = decoded.map_err(|e| format!("bad control message: {e}"))?;
    let rest = &rest[used..];
    let msg = if rest.is_empty() {
        None
    } else {
        let decoded = if magic {
            etf::decode(rest)
        } else {
            etf::decode_bare(rest)
        };
        match decoded {
            Ok(m) => Some(m),
            // A valid term nested deeper than this node decodes: OTP would take it, so
            // the connection stays; the message is dropped (logged at most once a
            // node's log limiter).
            Err(etf::DecodeError::TooDeep) => {
                shared.node.log_limiter().log("erlang: message too deep", || {
                    tracing::warn!(peer = %conn.peer, %control, "dropped a message nested deeper than {}", etf::MAX_DEPTH);
                });
                if magic {
                    too_deep(shared, conn, rest);
                } else {
                    // Only the leading elements are read: a bounded prefix will do.
                    let mut prefixed = vec![131];
                    prefixed.extend_from_slice(&rest[..rest.len().min(64 << 10)]);
                    too_deep(shared, conn, &prefixed);
                }
                return Ok(());
            }
            Err(e) => return Err(format!("bad message: {e}")),
        }
    };
    let Some(items) = control.as_tuple() else {
        return Err(format!("control message {control} is not a tuple"));
    };
    dispatch(shared, conn, items, msg).map_err(|what| format!("{what}: {control}"))
}

/// A message too deep to decode: if it is a call to a local process (`{'$gen_call',
/// {From, Tag}, Req}`), the caller gets `{error, {too_deep, MaxDepth}}`; if it is the
/// reply to one of this node's calls (`{Ref, Reply}`), that call fails with the decode
/// error. Only the leading elements are decoded.
fn too_deep(shared: &Arc<Shared>, conn: &Arc<Conn>, bytes: &[u8]) {
    // 131, SMALL_TUPLE_EXT, arity, elements...
    let [131, 104, arity, ..] = bytes else { return };
    let element = |at: usize| -> Option<(Term, usize)> {
        let mut buf = vec![131];
        buf.extend_from_slice(bytes.get(at..)?);
        etf::decode_prefix(&buf).ok().map(|(t, used)| (t, used - 1))
    };
    let Some((first, used)) = element(3) else {
        return;
    };
    match (*arity, &first) {
        (3, t) if t.is_atom("$gen_call") => {
            let Some((from_tag, _)) = element(3 + used) else {
                return;
            };
            let Some([Term::Pid(from), tag]) = from_tag.as_tuple() else {
                return;
            };
            let call = GenCall {
                from: from.clone(),
                tag: tag.clone(),
                req: Term::nil(),
            };
            let why = Term::tuple([Term::atom("too_deep"), Term::Integer(etf::MAX_DEPTH as i64)]);
            call.reply(conn, &shared.node_pid(), error_term(why));
        }
        (2, Term::Ref(r)) => {
            if let Some(call) = shared.calls.lock().remove(r) {
                let _ = call
                    .tx
                    .send(Err(super::ErlCallError::Dist(super::DistError::Decode(
                        etf::DecodeError::TooDeep,
                    ))));
            }
        }
        _ => {}
    }
}

fn pid(t: Option<&Term>) -> Result<&ErlPid, &'static str> {
    match t {
        Some(Term::Pid(p)) => Ok(p),
        _ => Err("expected a pid"),
    }
}

/// The "from" pid of a signal: it must belong to the connection's peer (OTP closes a
/// connection that carries a signal from a third node's process).
fn peer_pid<'a>(conn: &Conn, t: Option<&'a Term>) -> Result<&'a ErlPid, &'static str> {
    let p = pid(t)?;
    if p.node != conn.peer {
        return Err("a signal from a process of another node than the peer");
    }
    Ok(p)
}

fn reference(t: Option<&Term>) -> Result<&ErlRef, &'static str> {
    match t {
        Some(Term::Ref(r)) => Ok(r),
        _ => Err("expected a reference"),
    }
}

fn dispatch(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    items: &[Term],
    msg: Option<Term>,
) -> Result<(), &'static str> {
    let op = match items.first() {
        Some(Term::Integer(op)) => *op,
        _ => return Err("no operation"),
    };
    // The message moves on (a large binary is not copied).
    let need_msg = move || msg.ok_or("missing message");
    match op {
        // SEND, SEND_SENDER, SEND_TT, SEND_SENDER_TT
        2 | 22 | 12 | 23 => {
            let to = pid(items.get(2))?;
            deliver_to_pid(shared, conn, to, need_msg()?);
        }
        // REG_SEND, REG_SEND_TT
        6 | 16 => {
            let from = peer_pid(conn, items.get(1))?;
            let name = items
                .get(3)
                .and_then(Term::as_atom)
                .ok_or("expected a name")?;
            deliver_to_name(shared, conn, from, name, need_msg()?);
        }
        // LINK
        1 => {
            let from = peer_pid(conn, items.get(1))?;
            let to = pid(items.get(2))?;
            let remote = from.to_pid();
            match shared.local_pid(to) {
                Some(local) if shared.dist.accept_link(local, remote) => {}
                _ => {
                    conn.send(
                        &ctl(
                            3,
                            [
                                Term::Pid(to.clone()),
                                Term::Pid(from.clone()),
                                Term::atom("noproc"),
                            ],
                        ),
                        None,
                    );
                }
            }
        }
        // UNLINK (old) and UNLINK_ID
        4 | 35 => {
            let (from, to) = if op == 4 {
                (peer_pid(conn, items.get(1))?, pid(items.get(2))?)
            } else {
                (peer_pid(conn, items.get(2))?, pid(items.get(3))?)
            };
            let remote = from.to_pid();
            if let Some(local) = shared.local_pid(to) {
                shared.dist.accept_unlink(local, remote);
            }
            if op == 35 {
                let id = items.get(1).cloned().ok_or("expected an id")?;
                conn.send(
                    &ctl(36, [id, Term::Pid(to.clone()), Term::Pid(from.clone())]),
                    None,
                );
            }
        }
        // UNLINK_ID_ACK, NODE_LINK, GROUP_LEADER: nothing to do.
        36 | 5 | 7 => {}
        // EXIT, EXIT_TT, EXIT2, EXIT2_TT and their payload forms
        3 | 13 | 8 | 18 | 24 | 25 | 26 | 27 => {
            let from = peer_pid(conn, items.get(1))?;
            let to = pid(items.get(2))?;
            let reason = match op {
                24..=27 => need_msg()?,
                _ => items.get(3).cloned().ok_or("expected a reason")?,
            };
            let link_exit = matches!(op, 3 | 13 | 24 | 25);
            let remote = from.to_pid();
            let Some(local) = shared.local_pid(to) else {
                return Ok(());
            };
            let reason = term_to_reason(&reason, !link_exit);
            if link_exit {
                shared.dist.deliver_link_exit(remote, local, reason);
            } else {
                // An exit signal does not break a link.
                shared.dist.deliver_exit(remote, local, reason);
            }
        }
        // MONITOR_P
        19 => {
            let from = peer_pid(conn, items.get(1))?;
            let proc_term = items.get(2).cloned().ok_or("expected a process")?;
            let erl_ref = reference(items.get(3))?;
            monitor_local(shared, conn, from, proc_term, erl_ref);
        }
        // DEMONITOR_P
        20 => {
            peer_pid(conn, items.get(1))?;
            let erl_ref = reference(items.get(3))?;
            let local_ref = shared.monitors_in_by_erl.lock().remove(erl_ref);
            if let Some(r) = local_ref {
                if let Some(m) = shared.monitors_in.lock().remove(&r) {
                    shared.dist.accept_demonitor(m.watcher.to_pid(), r);
                }
            }
        }
        // MONITOR_P_EXIT and its payload form
        21 | 28 => {
            let erl_ref = reference(items.get(3))?;
            let reason = if op == 28 {
                need_msg()?
            } else {
                items.get(4).cloned().ok_or("expected a reason")?
            };
            monitor_fired(shared, erl_ref, reason);
        }
        // ALIAS_SEND, ALIAS_SEND_TT: a reply to one of this node's calls, by alias.
        33 | 34 => {
            peer_pid(conn, items.get(1))?;
            let alias = reference(items.get(2))?;
            let msg = need_msg()?;
            Dist::exchange();
            let call = shared.calls.lock().remove(alias);
            match (call, reply_of(msg)) {
                (Some(call), Ok(reply)) => {
                    let _ = call.tx.send(Ok(reply));
                }
                (_, Ok(msg) | Err(msg)) => shared.node.log_limiter().log(
                    "erlang: inactive alias",
                    || tracing::debug!(%msg, "dropped a message for an inactive alias"),
                ),
            }
        }
        // SPAWN_REQUEST, SPAWN_REQUEST_TT
        29 | 30 => {
            let req_id = reference(items.get(1))?;
            let from = peer_pid(conn, items.get(2))?;
            let mfa = items
                .get(4)
                .and_then(Term::as_tuple)
                .ok_or("expected {M, F, A}")?;
            let opts = items.get(5).ok_or("expected options")?;
            spawn_request(shared, conn, req_id, from, mfa, opts, need_msg()?);
        }
        // Known operations this node does not act on (spawn replies, sequential-trace
        // forms): ignored.
        9..=11 | 14 | 15 | 17 | 31 | 32 => {
            shared.node.log_limiter().log(
                "erlang: unsupported control",
                || tracing::debug!(peer = %conn.peer, op, "ignored an unsupported control message"),
            );
        }
        _ => return Err("an unknown operation"),
    }
    Ok(())
}

/// A monitored Erlang process ended (or never existed): a pending call fails, or a
/// local watcher gets its `Down`.
fn monitor_fired(shared: &Arc<Shared>, erl_ref: &ErlRef, reason: Term) {
    if shared.global_monitor_fired(erl_ref) {
        return;
    }
    if let Some(call) = shared.calls.lock().remove(erl_ref) {
        let err = if reason.is_atom("noconnection") {
            super::ErlCallError::NoConnection(call.peer)
        } else {
            super::ErlCallError::Exit(reason)
        };
        let _ = call.tx.send(Err(err));
        return;
    }
    let local_ref = shared.monitors_out_by_erl.lock().remove(erl_ref);
    let Some(r) = local_ref else { return };
    let Some(m) = shared.monitors_out.lock().remove(&r) else {
        return;
    };
    shared.dist.deliver_down(ergo_runtime::Down {
        monitor: r,
        pid: m.target,
        name: None,
        reason: term_to_reason(&reason, false),
    });
}

/// An Erlang process monitors a local one (by pid or registered name).
fn monitor_local(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    from: &ErlPid,
    proc_term: Term,
    erl_ref: &ErlRef,
) {
    let target = match &proc_term {
        // net_kernel is answered by the connection itself: it never goes down.
        Term::Atom(name) if name == "net_kernel" || name == super::global::SERVER => return,
        // The node's own pid (the caller of node-level calls, `global`'s lock holder)
        // lives as long as the node.
        Term::Pid(p) if p.id == 0 && shared.local_pid(p).is_some() => return,
        Term::Atom(name) => Some(Target::Name(name.as_str().into())),
        Term::Pid(p) => shared.local_pid(p).map(Target::Pid),
        _ => None,
    };
    let r = shared.node.make_ref();
    let entry = InMonitor {
        watcher: from.clone(),
        proc_term: proc_term.clone(),
        erl_ref: erl_ref.clone(),
    };
    // Recorded before the monitor exists, so a Down racing with us finds it.
    shared.monitors_in.lock().insert(r, entry);
    shared.monitors_in_by_erl.lock().insert(erl_ref.clone(), r);
    let monitored = target.and_then(|t| shared.dist.accept_monitor(t, from.to_pid(), r));
    match monitored {
        Some(_) => {}
        None => {
            shared.monitors_in.lock().remove(&r);
            shared.monitors_in_by_erl.lock().remove(erl_ref);
            conn.send(
                &ctl(
                    21,
                    [
                        proc_term,
                        Term::Pid(from.clone()),
                        Term::Ref(erl_ref.clone()),
                        Term::atom("noproc"),
                    ],
                ),
                None,
            );
        }
    }
}

/// A `SEND` to a pid of this node: a reply to one of our calls, or a message for a
/// local process.
fn deliver_to_pid(shared: &Arc<Shared>, conn: &Arc<Conn>, to: &ErlPid, msg: Term) {
    if *to == shared.locker_pid() {
        return shared.global_locker_message(conn, &msg);
    }
    let Some(local) = shared.local_pid(to) else {
        shared.node.log_limiter().log(
            "erlang: stale pid",
            || tracing::debug!(%to, "dropped a message for a pid of another incarnation"),
        );
        return;
    };
    if local.id() == 0 {
        // Replies to calls this node made: {Ref, Reply}.
        if let Some([Term::Ref(r), _]) = msg.as_tuple() {
            Dist::exchange();
            let call = shared.calls.lock().remove(r);
            if let (Some(call), Ok(reply)) = (call, reply_of(msg)) {
                let _ = call.tx.send(Ok(reply));
            }
            return;
        }
        shared.node.log_limiter().log(
            "erlang: message for the node pid",
            || tracing::debug!(%msg, "dropped a message for the node pid"),
        );
        return;
    }
    deliver(shared, conn, Target::Pid(local), msg);
}

/// The reply of a `{Tag, Reply}` message, moved out; the message back if it has
/// another shape.
fn reply_of(msg: Term) -> Result<Term, Term> {
    match msg {
        Term::Tuple(items) if items.len() == 2 => {
            let [_, reply] = <[Term; 2]>::try_from(items).expect("two elements");
            Ok(reply)
        }
        msg => Err(msg),
    }
}

/// A `REG_SEND` to a name on this node.
fn deliver_to_name(shared: &Arc<Shared>, conn: &Arc<Conn>, from: &ErlPid, name: &str, msg: Term) {
    if name == "net_kernel" {
        return net_kernel(shared, conn, from, msg);
    }
    if name == super::global::SERVER {
        return shared.global_message(conn, msg);
    }
    if name == "rex" && shared.node.whereis(name).is_none() {
        return rex(shared, conn, msg);
    }
    let Some(pid) = shared.node.whereis(name) else {
        shared.node.log_limiter().log(
            "erlang: unregistered name",
            || tracing::debug!(name, %msg, "dropped a message for an unregistered name"),
        );
        return;
    };
    deliver(shared, conn, Target::Pid(pid), msg);
}

/// What net_kernel answers: `{is_auth, Node}` → `yes` (what `net_adm:ping` asks).
fn net_kernel(shared: &Arc<Shared>, conn: &Arc<Conn>, from: &ErlPid, msg: Term) {
    if let Some(call) = GenCall::parse(&msg) {
        let reply = match call.req.as_tuple() {
            Some([tag, _]) if tag.is_atom("is_auth") => Term::atom("yes"),
            Some([tag, name]) if tag.is_atom(super::typed::LOOKUP) => {
                super::typed::found_term(shared, name)
            }
            _ => {
                shared.node.log_limiter().log(
                    "erlang: net_kernel call",
                    || tracing::debug!(req = %call.req, "net_kernel: unsupported call"),
                );
                return;
            }
        };
        call.reply(conn, &shared.node_pid(), reply);
    } else {
        shared.node.log_limiter().log(
            "erlang: net_kernel message",
            || tracing::debug!(%from, %msg, "net_kernel: ignored message"),
        );
    }
}

/// A `SPAWN_REQUEST` (`erlang:spawn_request/5`, hence `erpc:call`, `rpc:call` and
/// `Node.spawn`): this node runs no Erlang code, so it answers as a BEAM node does for
/// a module it does not have: the spawn succeeds and the new process exits at once
/// with `undef` (for `erpc:execute_call/4`, in erpc's `{Ref, error, undef, Stack}`
/// form, so the caller raises `{exception, undef, [{M, F, A, []}]}` and `rpc:call`
/// returns `{badrpc, {'EXIT', {undef, [...]}}}`). Its monitor and link fire with that.
fn spawn_request(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    req_id: &ErlRef,
    from: &ErlPid,
    mfa: &[Term],
    opts: &Term,
    args: Term,
) {
    let opt = |name: &str| match opts {
        Term::List(items) => items.iter().any(|o| o.is_atom(name)),
        _ => false,
    };
    let (link, monitor) = (opt("link"), opt("monitor"));
    let n = shared
        .next_ref
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A pid no local process has (serial bit 31): it is already gone.
    let pid = ErlPid {
        node: shared.name.clone(),
        id: n as u32,
        serial: 0x8000_0000 | ((n >> 32) as u32 & 0x7fff_ffff),
        creation: shared.creation,
    };
    let args_list = match &args {
        Term::List(items) => items.clone(),
        _ => Vec::new(),
    };
    let reason = match (mfa, args_list.as_slice()) {
        ([m, f, _], [r, am, af, aa]) if m.is_atom("erpc") && f.is_atom("execute_call") => {
            // A function the node exposes: erpc's `{Ref, return, Value}` or
            // `{Ref, error, Reason, Stack}` as the exit reason of the new process.
            let exposed = shared.exposed.lock().rpc(am, af);
            if let (Some(func), Some(a)) = (exposed, super::exposed::args(aa)) {
                match func(a) {
                    Ok(v) => Term::tuple([r.clone(), Term::atom("return"), v]),
                    Err(e) => Term::tuple([r.clone(), Term::atom("error"), e, Term::nil()]),
                }
            } else {
                undef_erpc(r, am, af, aa)
            }
        }
        ([m, f, _], _) => {
            let factory = shared.exposed.lock().spawn(m, f);
            if let (Some(factory), Some(a)) = (factory, super::exposed::args(&args)) {
                let request = SpawnRequest {
                    req_id: req_id.clone(),
                    from: from.clone(),
                    link,
                    monitor,
                };
                return spawn_actor(shared, conn, request, factory, a);
            }
            let stack = Term::list([Term::tuple([m.clone(), f.clone(), args, Term::nil()])]);
            Term::tuple([Term::atom("undef"), stack])
        }
        _ => Term::tuple([Term::atom("undef"), Term::nil()]),
    };
    dead_on_arrival(conn, req_id, from, link, monitor, pid, reason);
}

/// erpc's form of `undef` for `M:F(A)`.
fn undef_erpc(r: &Term, m: &Term, f: &Term, a: &Term) -> Term {
    let stack = Term::list([Term::tuple([m.clone(), f.clone(), a.clone(), Term::nil()])]);
    Term::tuple([r.clone(), Term::atom("error"), Term::atom("undef"), stack])
}

/// Who asked for a spawn, and what they asked.
struct SpawnRequest {
    req_id: ErlRef,
    from: ErlPid,
    link: bool,
    monitor: bool,
}

/// Starts an actor through an allowed factory; the spawn reply carries its pid (or the
/// factory's error), then the link and monitor asked for are set up (a process that
/// ended meanwhile fires them with `noproc`).
fn spawn_actor(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    request: SpawnRequest,
    factory: super::exposed::SpawnFn,
    args: Vec<Term>,
) {
    let shared = shared.clone();
    let conn = conn.clone();
    let started = factory(shared.node.clone(), args);
    shared.runtime.clone().spawn(async move {
        let SpawnRequest {
            req_id,
            from,
            link,
            monitor,
        } = request;
        let flags = i64::from(link) | (i64::from(monitor) << 1);
        let result = started.await;
        let answer = match &result {
            Ok(pid) => Term::Pid(ErlPid::from_pid(*pid)),
            Err(reason) => reason.clone(),
        };
        conn.send(
            &ctl(
                31,
                [
                    Term::Ref(req_id.clone()),
                    Term::Pid(from.clone()),
                    Term::Integer(flags),
                    answer,
                ],
            ),
            None,
        );
        let Ok(pid) = result else { return };
        let erl_pid = ErlPid::from_pid(pid);
        if link && !shared.dist.accept_link(pid, from.to_pid()) {
            let exit = ctl(
                3,
                [
                    Term::Pid(erl_pid.clone()),
                    Term::Pid(from.clone()),
                    Term::atom("noproc"),
                ],
            );
            conn.send(&exit, None);
        }
        if monitor {
            monitor_local(&shared, &conn, &from, Term::Pid(erl_pid), &req_id);
        }
    });
}

/// Answers a spawn request with a process that already ended with `reason`.
fn dead_on_arrival(
    conn: &Arc<Conn>,
    req_id: &ErlRef,
    from: &ErlPid,
    link: bool,
    monitor: bool,
    pid: ErlPid,
    reason: Term,
) {
    let flags = i64::from(link) | (i64::from(monitor) << 1);
    conn.send(
        &ctl(
            31,
            [
                Term::Ref(req_id.clone()),
                Term::Pid(from.clone()),
                Term::Integer(flags),
                Term::Pid(pid.clone()),
            ],
        ),
        None,
    );
    if link {
        conn.send(
            &ctl(
                3,
                [
                    Term::Pid(pid.clone()),
                    Term::Pid(from.clone()),
                    reason.clone(),
                ],
            ),
            None,
        );
    }
    if monitor {
        conn.send(
            &ctl(
                21,
                [
                    Term::Pid(pid),
                    Term::Pid(from.clone()),
                    Term::Ref(req_id.clone()),
                    reason,
                ],
            ),
            None,
        );
    }
}

/// What `rex` (the `rpc` server) answers: this node runs no Erlang code, so every
/// `rpc:call(Node, M, F, A)` fails as a BEAM node's does for an undefined function,
/// `{badrpc, {'EXIT', {undef, [{M, F, A, []}]}}}`. Other requests are ignored.
fn rex(shared: &Arc<Shared>, conn: &Arc<Conn>, msg: Term) {
    let Some(call) = GenCall::parse(&msg) else {
        return;
    };
    let answer = match call.req.as_tuple() {
        Some([tag, m, f, a, ..]) if tag.is_atom("call") || tag.is_atom("block_call") => {
            let exposed = shared.exposed.lock().rpc(m, f);
            if let (Some(func), Some(args)) = (exposed, super::exposed::args(a)) {
                let answer = match func(args) {
                    Ok(v) => v,
                    Err(e) => Term::tuple([
                        Term::atom("badrpc"),
                        Term::tuple([Term::atom("EXIT"), Term::tuple([e, Term::nil()])]),
                    ]),
                };
                return call.reply(conn, &shared.node_pid(), answer);
            }
            let mfa = Term::tuple([m.clone(), f.clone(), a.clone(), Term::nil()]);
            Term::tuple([
                Term::atom("badrpc"),
                Term::tuple([
                    Term::atom("EXIT"),
                    Term::tuple([Term::atom("undef"), Term::list([mfa])]),
                ]),
            ])
        }
        _ => {
            shared.node.log_limiter().log(
                "erlang: rex call",
                || tracing::debug!(req = %call.req, "rex: unsupported call"),
            );
            return;
        }
    };
    call.reply(conn, &shared.node_pid(), answer);
}

/// `{'$gen_call', {From, Tag}, Req}`.
pub(crate) struct GenCall {
    pub(crate) from: ErlPid,
    tag: Term,
    pub(crate) req: Term,
}

impl GenCall {
    /// `msg` taken apart if it is a call (the request moved out, not copied), else
    /// given back.
    pub(crate) fn take(msg: Term) -> Result<GenCall, Term> {
        if GenCall::parse_head(&msg).is_none() {
            return Err(msg);
        }
        let Term::Tuple(items) = msg else {
            unreachable!("checked above")
        };
        let [_, Term::Tuple(from_tag), req] = <[Term; 3]>::try_from(items).expect("checked above")
        else {
            unreachable!("checked above")
        };
        let [Term::Pid(from), tag] = <[Term; 2]>::try_from(from_tag).expect("checked above") else {
            unreachable!("checked above")
        };
        Ok(GenCall { from, tag, req })
    }

    /// The caller and tag of a call, without taking it apart.
    fn parse_head(msg: &Term) -> Option<(&ErlPid, &Term)> {
        let [kind, from_tag, _] = msg.as_tuple()? else {
            return None;
        };
        if !kind.is_atom("$gen_call") {
            return None;
        }
        let [Term::Pid(from), tag] = from_tag.as_tuple()? else {
            return None;
        };
        Some((from, tag))
    }

    pub(crate) fn parse(msg: &Term) -> Option<GenCall> {
        let [kind, from_tag, req] = msg.as_tuple()? else {
            return None;
        };
        if !kind.is_atom("$gen_call") {
            return None;
        }
        let [Term::Pid(from), tag] = from_tag.as_tuple()? else {
            return None;
        };
        Some(GenCall {
            from: from.clone(),
            tag: tag.clone(),
            req: req.clone(),
        })
    }

    /// Sends `{Tag, Reply}` to the caller, the tag copied verbatim. OTP 24+ tags a
    /// call `[alias | Ref]`: with a peer that agreed on `DFLAG_ALIAS` the reply goes to
    /// that alias (`ALIAS_SEND`), so a reply after the caller gave up is dropped by the
    /// caller's node, as between BEAM nodes; a plain reference tag gets a `SEND`.
    pub(crate) fn reply(self, conn: &Conn, replier: &ErlPid, reply: Term) {
        let alias = match &self.tag {
            Term::ImproperList(head, tail) if conn.flags & super::flags::ALIAS != 0 => {
                match (head.as_slice(), tail.as_ref()) {
                    ([a], Term::Ref(r)) if a.is_atom("alias") => Some(r.clone()),
                    _ => None,
                }
            }
            _ => None,
        };
        let control = match alias {
            Some(r) => ctl(33, [Term::Pid(replier.clone()), Term::Ref(r)]),
            None => ctl(2, [Term::atom(""), Term::Pid(self.from)]),
        };
        let tag = self.tag;
        if let Err(e) = conn.try_send(&control, Some(&Term::tuple([tag.clone(), reply]))) {
            // A reply OTP would refuse (a long atom, a duplicate map key): the caller
            // gets an error instead of waiting for its timeout.
            tracing::warn!(peer = %conn.peer, error = %e, "a reply cannot be sent to Erlang");
            let why = Term::tuple([Term::atom("unencodable_reply"), Term::binary(e.to_string())]);
            conn.send(&control, Some(&Term::tuple([tag, error_term(why)])));
        }
    }
}

/// Hands a message to a local process: a gen_server call to its call handlers, a cast
/// to its cast handlers, anything else as a plain message (a `Term`). The message is
/// moved, never copied.
fn deliver(shared: &Arc<Shared>, conn: &Arc<Conn>, target: Target, msg: Term) {
    // Typed messages and calls from another ergo node (see `typed`).
    if let Target::Pid(pid) = target {
        if let Some((call, request)) = parse_system(&msg) {
            return system(shared, conn, pid, call, request);
        }
        if super::typed::deliver_send(shared, pid, &msg) {
            return;
        }
    }
    let msg = match GenCall::take(msg) {
        Ok(call) => return deliver_call(shared, conn, target, call),
        Err(msg) => msg,
    };
    let msg = match msg {
        Term::Tuple(items) if items.len() == 2 && items[0].is_atom("$gen_cast") => {
            let [_, cast] = <[Term; 2]>::try_from(items).expect("two elements");
            return deliver_one(shared, target, GenCast(cast));
        }
        msg => msg,
    };
    deliver_one(shared, target, msg);
}

/// Sends a cast or a plain message to a local process.
fn deliver_one<M: Any + Send + std::fmt::Debug>(shared: &Arc<Shared>, target: Target, msg: M) {
    match shared.node.send(target, msg) {
        Ok(()) => {}
        Err(SendError::Unhandled(msg)) => shared
            .node
            .log_limiter()
            .log("erlang: unhandled message", || {
                tracing::warn!(?msg, "a Rust actor has no handler for this message")
            }),
        Err(e) => shared.node.log_limiter().log(
            "erlang: message not delivered",
            || tracing::debug!(error = %e, "message from Erlang not delivered"),
        ),
    }
}

/// Hands a gen_server call to a local process; its answer goes back to the caller.
fn deliver_call(shared: &Arc<Shared>, conn: &Arc<Conn>, target: Target, call: GenCall) {
    Dist::exchange();
    let replier = match target {
        Target::Pid(pid) => ErlPid::from_pid(pid),
        _ => shared.node_pid(),
    };
    let answer_to = |from: ErlPid, tag: Term, replier: ErlPid| {
        let reply_conn = conn.clone();
        move |answer: Term| {
            let call = GenCall {
                from,
                tag,
                req: Term::nil(),
            };
            call.reply(&reply_conn, &replier, answer);
        }
    };
    if let Target::Pid(pid) = target {
        let reply = answer_to(call.from.clone(), call.tag.clone(), replier.clone());
        if super::typed::deliver_call(shared, pid, &call.req, reply).is_none() {
            return;
        }
    }
    let GenCall { from, tag, req } = call;
    let reply = answer_to(from.clone(), tag.clone(), replier.clone());
    let answer: ergo_runtime::AnyReply = Box::new(move |result| {
        let answer = match result {
            Ok(boxed) => match boxed.downcast::<Term>() {
                Ok(term) => *term,
                Err(_) => {
                    tracing::warn!("a call reply has no term form");
                    error_term(Term::atom("unencodable_reply"))
                }
            },
            // The caller's monitor reports the exit (a crash: the process's exit
            // reason), as for a gen_server that dies while handling a call.
            Err(CallError::NoProcess | CallError::Exited(_)) => return,
            // The handler dropped its reply token without answering: a gen_server
            // that forgets `From` never replies either (the caller times out, or
            // its monitor fires when the process ends).
            Err(CallError::NoReply) => return,
            Err(e) => error_term(call_error_term(&e)),
        };
        reply(answer);
    });
    let req: Box<dyn Any + Send> = Box::new(req);
    let sent =
        shared
            .node
            .call_any_with(target, req, TypeId::of::<Term>(), Priority::Normal, answer);
    let call = GenCall {
        from,
        tag,
        req: Term::nil(),
    };
    match sent {
        Ok(()) => {}
        Err(SendError::Unhandled(req)) => {
            let req = req.downcast::<Term>().map_or_else(|_| Term::nil(), |r| *r);
            shared.node.log_limiter().log(
                "erlang: unhandled call",
                || tracing::warn!(%req, "a Rust actor has no handler for this call"),
            );
            call.reply(
                conn,
                &replier,
                error_term(Term::tuple([Term::atom("unknown_call"), req])),
            );
        }
        Err(SendError::MailboxFull(_)) => {
            call.reply(conn, &replier, error_term(Term::atom("mailbox_full")));
        }
        // No such process: the caller's monitor reports `noproc`.
        Err(_) => {}
    }
}

/// `{system, {From, Tag}, Request}`: OTP's system protocol (`sys`, `proc_lib:stop`).
fn parse_system(msg: &Term) -> Option<(GenCall, Term)> {
    let [kind, from_tag, req] = msg.as_tuple()? else {
        return None;
    };
    if !kind.is_atom("system") {
        return None;
    }
    let [Term::Pid(from), tag] = from_tag.as_tuple()? else {
        return None;
    };
    let call = GenCall {
        from: from.clone(),
        tag: tag.clone(),
        req: req.clone(),
    };
    Some((call, req.clone()))
}

/// Answers a system message as `sys` and `gen_server` do: the state (as its `Debug`
/// text in a binary, `undefined` without one), the status, suspend and resume, and
/// terminate (`gen_server:stop/1,3`); anything else gets
/// `{error, {unknown_system_msg, Request}}`.
fn system(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    pid: ergo_runtime::Pid,
    call: GenCall,
    req: Term,
) {
    use ergo_runtime::system::{SystemReply, SystemRequest};
    let request = match &req {
        r if r.is_atom("get_state") => SystemRequest::GetState,
        r if r.is_atom("get_status") => SystemRequest::GetStatus,
        r if r.is_atom("suspend") => SystemRequest::Suspend,
        r if r.is_atom("resume") => SystemRequest::Resume,
        r => match r.as_tuple() {
            Some([tag, reason]) if tag.is_atom("terminate") => {
                SystemRequest::Terminate(term_to_reason(reason, false))
            }
            _ => {
                let replier = ErlPid::from_pid(pid);
                let unknown = Term::tuple([Term::atom("unknown_system_msg"), req.clone()]);
                return call.reply(conn, &replier, error_term(unknown));
            }
        },
    };
    let reply_conn = conn.clone();
    let me = ErlPid::from_pid(pid);
    let answer = Box::new(move |reply: SystemReply| {
        // The state as a term where the actor offers one (`StateTerm`), else its
        // `Debug` text in a binary, else `undefined`.
        let state_term =
            |s: ergo_runtime::system::StateView| match s.value.map(|v| v.downcast::<Term>()) {
                Some(Ok(t)) => *t,
                _ => s
                    .debug
                    .map_or_else(|| Term::atom("undefined"), Term::binary),
            };
        let term = match reply {
            SystemReply::State(s) => state_term(s),
            SystemReply::Status {
                state,
                suspended,
                parent,
                name,
            } => {
                let sys_state = Term::atom(if suspended { "suspended" } else { "running" });
                let parent = Term::Pid(parent.map_or_else(|| me.clone(), ErlPid::from_pid));
                let who = name.map_or_else(|| me.to_string(), |n| n.to_string());
                let text = |s: &str| Term::list(s.bytes().map(|b| Term::Integer(b.into())));
                let misc = Term::list([
                    Term::tuple([
                        Term::atom("header"),
                        text(&format!("Status for generic server {who}")),
                    ]),
                    Term::tuple([
                        Term::atom("data"),
                        Term::list([
                            Term::tuple([text("Status"), sys_state.clone()]),
                            Term::tuple([text("Parent"), parent.clone()]),
                            Term::tuple([text("Logged events"), Term::nil()]),
                        ]),
                    ]),
                    Term::tuple([
                        Term::atom("data"),
                        Term::list([Term::tuple([text("State"), state_term(state)])]),
                    ]),
                ]);
                Term::tuple([
                    Term::atom("status"),
                    Term::Pid(me.clone()),
                    Term::tuple([Term::atom("module"), Term::atom("gen_server")]),
                    Term::list([Term::nil(), sys_state, parent, Term::nil(), misc]),
                ])
            }
            _ => Term::atom("ok"),
        };
        call.reply(&reply_conn, &me, term);
    });
    // No such process: the caller's monitor reports `noproc`.
    shared.node.system_request(pid, request, answer);
}

fn error_term(reason: Term) -> Term {
    Term::tuple([Term::atom("error"), reason])
}

fn call_error_term(e: &CallError) -> Term {
    match e {
        CallError::Timeout(_) => Term::atom("timeout"),
        CallError::NoProcess => Term::atom("noproc"),
        CallError::MailboxFull => Term::atom("mailbox_full"),
        CallError::CallToSelf => Term::atom("call_to_self"),
        CallError::NoReply => Term::atom("no_reply"),
        CallError::Exited(reason) => reason_to_term(reason),
        CallError::BadRequest(s) => Term::tuple([Term::atom("bad_request"), Term::binary(s)]),
        CallError::NoConnection => Term::atom("noconnection"),
        CallError::Busy => Term::atom("busy"),
        CallError::Handler(never) => match *never {},
        _ => Term::atom("error"),
    }
}

/// The Erlang reason of a local process's end, for `MONITOR_P_EXIT`.
pub(crate) fn down_reason(reason: &ergo_runtime::Reason) -> Term {
    reason_to_term(reason)
}
