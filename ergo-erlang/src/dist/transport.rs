//! [`ErlTransport`]: Erlang distribution as a [`Transport`] of the core, so that links,
//! monitors, exit signals and sends from Rust processes reach Erlang pids like local
//! ones (`ctx.link(erlang_pid)`, `ctx.monitor(erlang_pid)`).

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use ergo_runtime::dist::{Answer, BoxFuture, NetError, Payload, Reach, RemoteTarget, Transport};
use ergo_runtime::{Atom, Down, Pid, Priority, Reason, Ref, SendError};

use super::conn::Conn;
use super::reason::reason_to_term;
use super::{ctl, ErlCallError, ErlTarget, GenCast, OutMonitor, Shared};
use crate::term::{ErlPid, Term};

/// Reaches the Erlang nodes a [`super::Distribution`] has been connected to.
pub(crate) struct ErlTransport(Weak<Shared>);

impl ErlTransport {
    pub(crate) fn new(shared: &Arc<Shared>) -> ErlTransport {
        ErlTransport(Arc::downgrade(shared))
    }

    fn conn(&self, node: Atom) -> Option<(Arc<Shared>, Option<Arc<Conn>>)> {
        let shared = self.0.upgrade()?;
        let conn = shared.conn(&node.as_str());
        Some((shared, conn))
    }
}

fn pid_term(p: Pid) -> Term {
    Term::Pid(ErlPid::from_pid(p))
}

impl Transport for ErlTransport {
    fn name(&self) -> &'static str {
        "erlang"
    }

    fn reaches(&self, node: Atom) -> bool {
        self.reach(node) != Reach::No
    }

    /// Known: an Erlang node connected now or before (links and monitors to it fire
    /// with `noconnection` while it is down); can try: any `alive@host` with
    /// `auto_connect` (looked up in epmd on first use).
    fn reach(&self, node: Atom) -> Reach {
        let Some(s) = self.0.upgrade() else {
            return Reach::No;
        };
        if s.known.lock().contains(&node) {
            Reach::Known
        } else if s.options.auto_connect
            && *node.as_str() != *s.name
            && super::split_name(&node.as_str()).is_ok()
        {
            Reach::CanTry
        } else {
            Reach::No
        }
    }

    fn send(
        &self,
        from: Option<Pid>,
        to: RemoteTarget,
        priority: Priority,
        payload: Payload<'_>,
        ack: Option<Answer>,
    ) -> Result<(), NetError> {
        if ack.is_some() {
            // Erlang distribution has no delivery acknowledgement.
            return Err(NetError::Unsupported {
                node: to.node(),
                what: "important delivery (no acknowledgement in Erlang distribution)",
            });
        }
        let Some((shared, conn)) = self.conn(to.node()) else {
            return Err(NetError::NoConnection(to.node()));
        };
        let mut bytes = Vec::new();
        payload(&mut bytes)?;
        let from = from.map_or_else(|| shared.node_pid(), ErlPid::from_pid);
        let msg = super::typed::send_term(priority, bytes);
        let target = erl_target(to);
        match conn {
            Some(conn) if conn.send_to(&target, &from, &msg) => Ok(()),
            Some(_) => Err(NetError::NoConnection(to.node())),
            // Connect first, as a BEAM node does (a send is dropped if that fails).
            None => {
                shared.with_conn(
                    &to.node().as_str(),
                    move |_, conn| {
                        conn.send_to(&target, &from, &msg);
                    },
                    |_| {},
                );
                Ok(())
            }
        }
    }

    fn call(
        &self,
        _from: Option<Pid>,
        to: Pid,
        priority: Priority,
        payload: Payload<'_>,
        reply: Answer,
    ) -> Result<(), NetError> {
        let Some((shared, conn)) = self.conn(to.node()) else {
            return Err(NetError::NoConnection(to.node()));
        };
        if conn.is_none() && !shared.options.auto_connect {
            return Err(NetError::NoConnection(to.node()));
        }
        let mut bytes = Vec::new();
        payload(&mut bytes)?;
        // The call connects first if needed.
        let req = super::typed::call_term(priority, bytes);
        let runtime = shared.runtime.clone();
        runtime.spawn(async move {
            // The caller has its own timeout; this one only bounds the bookkeeping.
            let answer = shared
                .call(ErlTarget::Pid(ErlPid::from_pid(to)), req, CALL_BOOKKEEPING)
                .await;
            match answer {
                Ok(term) => match super::typed::reply_bytes(&term) {
                    Ok(bytes) => reply(Ok(&bytes)),
                    Err(e) => reply(Err(e)),
                },
                Err(ErlCallError::Exit(reason)) if reason.is_atom("noproc") => reply(Err(
                    NetError::Remote(ergo_runtime::dist::RemoteError::NoProcess),
                )),
                Err(ErlCallError::Timeout(d)) => reply(Err(NetError::Timeout(d))),
                Err(_) => reply(Err(NetError::NoConnection(to.node()))),
            }
        });
        Ok(())
    }

    fn exit(&self, from: Pid, to: Pid, reason: Reason, linked: bool) {
        let Some((shared, conn)) = self.conn(to.node()) else {
            return;
        };
        let signal = if linked {
            // A link fired: the process `from` ended with `reason`.
            ctl(3, [pid_term(from), pid_term(to), reason_to_term(&reason)])
        } else {
            let reason = match reason {
                Reason::Kill => Term::atom("kill"),
                other => reason_to_term(&other),
            };
            ctl(8, [pid_term(from), pid_term(to), reason])
        };
        match conn {
            Some(conn) => {
                conn.send(&signal, None);
            }
            // A link exit needs a link, hence a connection; an exit signal connects
            // first, as `exit(Pid, Reason)` does on a BEAM node.
            None if !linked => shared.with_conn(
                &to.node().as_str(),
                move |_, conn| {
                    conn.send(&signal, None);
                },
                |_| {},
            ),
            None => {}
        }
    }

    fn link(&self, local: Pid, remote: Pid) {
        let Some((shared, _)) = self.conn(remote.node()) else {
            return;
        };
        // Connects first if needed; a node that cannot be reached breaks the link
        // with `noconnection`, as on a BEAM node.
        shared.with_conn(
            &remote.node().as_str(),
            move |_, conn| {
                conn.send(&ctl(1, [pid_term(local), pid_term(remote)]), None);
            },
            move |shared| {
                shared
                    .dist
                    .deliver_link_exit(remote, local, Reason::NoConnection);
            },
        );
    }

    fn unlink(&self, local: Pid, remote: Pid) {
        let Some((shared, Some(conn))) = self.conn(remote.node()) else {
            return;
        };
        if conn.flags & super::flags::UNLINK_ID != 0 {
            let id = shared.next_unlink.fetch_add(1, Ordering::Relaxed);
            conn.send(
                &ctl(
                    35,
                    [Term::Integer(id as i64), pid_term(local), pid_term(remote)],
                ),
                None,
            );
        } else {
            conn.send(&ctl(4, [pid_term(local), pid_term(remote)]), None);
        }
    }

    fn monitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref) {
        let Some((shared, _)) = self.conn(target.node()) else {
            return;
        };
        let (target_pid, proc_term) = match target {
            RemoteTarget::Pid(p) => (p, pid_term(p)),
            RemoteTarget::Name { name, node } => {
                (Pid::new(node, 0, 0), Term::Atom(name.as_str().to_string()))
            }
        };
        // Booked now, so a demonitor while the node is being connected cancels it.
        let erl_ref = shared.make_ref();
        shared.monitors_out.lock().insert(
            reference,
            OutMonitor {
                target: target_pid,
                erl_ref: erl_ref.clone(),
            },
        );
        shared
            .monitors_out_by_erl
            .lock()
            .insert(erl_ref.clone(), reference);
        shared.with_conn(
            &target.node().as_str(),
            move |shared, conn| {
                if shared.monitors_out.lock().contains_key(&reference) {
                    conn.send(
                        &ctl(19, [pid_term(watcher), proc_term, Term::Ref(erl_ref)]),
                        None,
                    );
                }
            },
            move |shared| {
                // The node cannot be reached: the monitor fires with `noconnection`.
                let Some(m) = shared.monitors_out.lock().remove(&reference) else {
                    return;
                };
                shared.monitors_out_by_erl.lock().remove(&m.erl_ref);
                shared.dist.deliver_down(Down {
                    monitor: reference,
                    pid: target_pid,
                    name: None,
                    reason: Reason::NoConnection,
                });
            },
        );
    }

    fn demonitor(&self, watcher: Pid, target: RemoteTarget, reference: Ref) {
        let Some((shared, conn)) = self.conn(target.node()) else {
            return;
        };
        let Some(m) = shared.monitors_out.lock().remove(&reference) else {
            return;
        };
        shared.monitors_out_by_erl.lock().remove(&m.erl_ref);
        let proc_term = match target {
            RemoteTarget::Pid(p) => pid_term(p),
            RemoteTarget::Name { name, .. } => Term::Atom(name.as_str().to_string()),
        };
        if let Some(conn) = conn {
            conn.send(
                &ctl(20, [pid_term(watcher), proc_term, Term::Ref(m.erl_ref)]),
                None,
            );
        }
    }

    fn down(&self, watcher: Pid, down: Down) {
        let Some((shared, conn)) = self.conn(watcher.node()) else {
            return;
        };
        let Some(m) = shared.monitors_in.lock().remove(&down.monitor) else {
            return;
        };
        shared.monitors_in_by_erl.lock().remove(&m.erl_ref);
        if let Some(conn) = conn {
            conn.send(
                &ctl(
                    21,
                    [
                        m.proc_term,
                        Term::Pid(m.watcher),
                        Term::Ref(m.erl_ref),
                        super::control::down_reason(&down.reason),
                    ],
                ),
                None,
            );
        }
    }

    fn send_any(
        &self,
        from: Option<Pid>,
        to: RemoteTarget,
        _priority: Priority,
        msg: Box<dyn Any + Send>,
    ) -> Result<(), SendError<Box<dyn Any + Send>>> {
        let Some((shared, conn)) = self.conn(to.node()) else {
            return Err(SendError::NoConnection(msg));
        };
        let msg = match msg.downcast::<Term>() {
            Ok(t) => *t,
            Err(other) => match other.downcast::<GenCast>() {
                Ok(c) => Term::tuple([Term::atom("$gen_cast"), c.0]),
                // Erlang distribution carries terms only.
                Err(other) => return Err(SendError::NotRemote(other)),
            },
        };
        let target = erl_target(to);
        let from = from.map_or_else(|| shared.node_pid(), ErlPid::from_pid);
        match conn {
            Some(conn) if conn.send_to(&target, &from, &msg) => Ok(()),
            Some(_) => Err(SendError::NoConnection(Box::new(msg))),
            // Connect first, as a BEAM node does (the message is dropped if that fails).
            None => {
                shared.with_conn(
                    &to.node().as_str(),
                    move |_, conn| {
                        conn.send_to(&target, &from, &msg);
                    },
                    |_| {},
                );
                Ok(())
            }
        }
    }

    fn lookup(&self, name: Atom, node: Atom) -> BoxFuture<Result<Option<(Pid, String)>, NetError>> {
        let Some((shared, conn)) = self.conn(node) else {
            return Box::pin(async move { Err(NetError::NoConnection(node)) });
        };
        if conn.is_none() && !shared.options.auto_connect {
            return Box::pin(async move { Err(NetError::NoConnection(node)) });
        }
        Box::pin(async move {
            // Asked of the peer's net_kernel: an ergo node answers, a BEAM node does not.
            let target = ErlTarget::Name {
                name: "net_kernel".into(),
                node: node.as_str().to_string(),
            };
            let req = super::typed::lookup_term(&name.as_str());
            match shared.call(target, req, LOOKUP_TIMEOUT).await {
                Ok(answer) => super::typed::found(&answer),
                Err(ErlCallError::Timeout(_)) => Err(unsupported(node)),
                Err(_) => Err(NetError::NoConnection(node)),
            }
        })
    }

    fn connected_nodes(&self) -> Vec<Atom> {
        self.0
            .upgrade()
            .map(|s| s.conns.lock().values().map(|c| c.peer_atom).collect())
            .unwrap_or_default()
    }

    fn peer_stats(&self) -> Vec<ergo_runtime::dist::PeerStats> {
        self.0
            .upgrade()
            .map(|s| s.conns.lock().values().map(|c| c.stats()).collect())
            .unwrap_or_default()
    }

    fn registrar(&self) -> Option<String> {
        self.0.upgrade().map(|s| {
            let served = if s.epmd_server.lock().is_some() {
                " (served by this node)"
            } else {
                ""
            };
            format!("epmd port {}{served}", s.options.epmd_port)
        })
    }

    fn disconnect(&self, node: Atom) -> bool {
        match self.conn(node) {
            Some((_, Some(conn))) => {
                conn.close();
                true
            }
            _ => false,
        }
    }

    fn shutdown(&self) {
        if let Some(shared) = self.0.upgrade() {
            super::Distribution(shared).stop();
        }
    }
}

/// How long a typed call's bookkeeping waits for an answer at most (the caller's own
/// timeout is usually far shorter).
const CALL_BOOKKEEPING: std::time::Duration = std::time::Duration::from_secs(300);

/// How long a typed lookup waits for the peer's answer (a BEAM node never answers).
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn erl_target(to: RemoteTarget) -> ErlTarget {
    match to {
        RemoteTarget::Pid(p) => ErlTarget::Pid(ErlPid::from_pid(p)),
        RemoteTarget::Name { name, node } => ErlTarget::Name {
            name: name.as_str().to_string(),
            node: node.as_str().to_string(),
        },
    }
}

fn unsupported(node: Atom) -> NetError {
    NetError::Unsupported {
        node,
        what: "typed lookups (the peer is not an ergo node: send it a `Term`)",
    }
}
