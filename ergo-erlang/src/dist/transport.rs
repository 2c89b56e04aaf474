//! [`ErlTransport`]: Erlang distribution as a [`Transport`] of the core, so that links,
//! monitors, exit signals and sends from Rust processes reach Erlang pids like local
//! ones (`ctx.link(erlang_pid)`, `ctx.monitor(erlang_pid)`).

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use ergo_runtime::dist::{Answer, BoxFuture, NetError, Payload, RemoteTarget, Transport};
use ergo_runtime::{Atom, Down, Pid, Priority, Reason, Ref, SendError};

use super::conn::Conn;
use super::reason::reason_to_term;
use super::{ctl, ErlTarget, GenCast, OutMonitor, Shared};
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
        self.0
            .upgrade()
            .is_some_and(|s| s.known.lock().contains(&node))
    }

    fn send(
        &self,
        _from: Option<Pid>,
        to: RemoteTarget,
        _priority: Priority,
        _payload: Payload<'_>,
        _ack: Option<Answer>,
    ) -> Result<(), NetError> {
        Err(unsupported(to.node()))
    }

    fn call(
        &self,
        _from: Option<Pid>,
        to: Pid,
        _priority: Priority,
        _payload: Payload<'_>,
        _reply: Answer,
    ) -> Result<(), NetError> {
        Err(unsupported(to.node()))
    }

    fn exit(&self, from: Pid, to: Pid, reason: Reason, linked: bool) {
        let Some((_, Some(conn))) = self.conn(to.node()) else {
            return;
        };
        if linked {
            // A link fired: the process `from` ended with `reason`.
            conn.send(
                &ctl(3, [pid_term(from), pid_term(to), reason_to_term(&reason)]),
                None,
            );
        } else {
            let reason = match reason {
                Reason::Kill => Term::atom("kill"),
                other => reason_to_term(&other),
            };
            conn.send(&ctl(8, [pid_term(from), pid_term(to), reason]), None);
        }
    }

    fn link(&self, local: Pid, remote: Pid) {
        let Some((shared, conn)) = self.conn(remote.node()) else {
            return;
        };
        match conn {
            Some(conn) => {
                conn.send(&ctl(1, [pid_term(local), pid_term(remote)]), None);
            }
            None => {
                shared
                    .dist
                    .deliver_link_exit(remote, local, Reason::NoConnection);
            }
        }
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
        let Some((shared, conn)) = self.conn(target.node()) else {
            return;
        };
        let (target_pid, proc_term) = match target {
            RemoteTarget::Pid(p) => (p, pid_term(p)),
            RemoteTarget::Name { name, node } => {
                (Pid::new(node, 0, 0), Term::Atom(name.as_str().to_string()))
            }
        };
        let Some(conn) = conn else {
            let _ = watcher;
            shared.dist.deliver_down(Down {
                monitor: reference,
                pid: target_pid,
                name: None,
                reason: Reason::NoConnection,
            });
            return;
        };
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
        conn.send(
            &ctl(19, [pid_term(watcher), proc_term, Term::Ref(erl_ref)]),
            None,
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
        let Some((shared, Some(conn))) = self.conn(to.node()) else {
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
        let target = match to {
            RemoteTarget::Pid(p) => ErlTarget::Pid(ErlPid::from_pid(p)),
            RemoteTarget::Name { name, node } => ErlTarget::Name {
                name: name.as_str().to_string(),
                node: node.as_str().to_string(),
            },
        };
        let from = from.map_or_else(|| shared.node_pid(), ErlPid::from_pid);
        if conn.send_to(&target, &from, &msg) {
            Ok(())
        } else {
            Err(SendError::NoConnection(Box::new(msg)))
        }
    }

    fn lookup(
        &self,
        _name: Atom,
        node: Atom,
    ) -> BoxFuture<Result<Option<(Pid, String)>, NetError>> {
        // An Erlang node has no actor types to check a typed handle against.
        Box::pin(async move { Err(unsupported(node)) })
    }

    fn connected_nodes(&self) -> Vec<Atom> {
        self.0
            .upgrade()
            .map(|s| s.conns.lock().values().map(|c| c.peer_atom).collect())
            .unwrap_or_default()
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

fn unsupported(node: Atom) -> NetError {
    NetError::Unsupported {
        node,
        what: "typed messages (Erlang distribution carries terms: send a `Term`)",
    }
}
