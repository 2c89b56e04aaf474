//! [`ErlRouter`]: the runtime's [`RemoteRouter`] for Erlang nodes, so that links,
//! monitors, exit signals and sends from Rust processes reach Erlang pids like local
//! ones (`ctx.link(erlang_pid)`, `ctx.monitor(erlang_pid)`).

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use ergo_runtime::{Atom, Down, Pid, Reason, Ref, RemoteRouter, RemoteTarget};

use super::conn::Conn;
use super::reason::reason_to_term;
use super::{ctl, ErlTarget, GenCast, OutMonitor, Shared};
use crate::term::{ErlPid, Term};

/// Routes to the Erlang nodes a [`super::Distribution`] has been connected to.
pub(crate) struct ErlRouter(Weak<Shared>);

impl ErlRouter {
    pub(crate) fn new(shared: &Arc<Shared>) -> ErlRouter {
        ErlRouter(Arc::downgrade(shared))
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

impl RemoteRouter for ErlRouter {
    fn reaches(&self, node: Atom) -> bool {
        self.0
            .upgrade()
            .is_some_and(|s| s.known.lock().contains(&node))
    }

    fn send_exit(&self, from: Pid, to: Pid, reason: Reason) {
        let Some((shared, Some(conn))) = self.conn(to.node()) else {
            return;
        };
        let linked = shared.links.lock().remove(&(from, to));
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
                shared.links.lock().insert((local, remote));
                conn.send(&ctl(1, [pid_term(local), pid_term(remote)]), None);
            }
            None => {
                shared
                    .node
                    .deliver_exit(remote, local, Reason::NoConnection);
            }
        }
    }

    fn unlink(&self, local: Pid, remote: Pid) {
        let Some((shared, Some(conn))) = self.conn(remote.node()) else {
            return;
        };
        shared.links.lock().remove(&(local, remote));
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
            shared.node.deliver_down(
                watcher,
                Down {
                    monitor: reference,
                    pid: target_pid,
                    name: None,
                    reason: Reason::NoConnection,
                },
            );
            return;
        };
        let erl_ref = shared.make_ref();
        shared.monitors_out.lock().insert(
            reference,
            OutMonitor {
                watcher,
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

    fn send_down(&self, watcher: Pid, down: Down) {
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
        msg: Box<dyn Any + Send>,
    ) -> Result<(), Box<dyn Any + Send>> {
        let Some((shared, Some(conn))) = self.conn(to.node()) else {
            return Err(msg);
        };
        let msg = match msg.downcast::<Term>() {
            Ok(t) => *t,
            Err(other) => match other.downcast::<GenCast>() {
                Ok(c) => Term::tuple([Term::atom("$gen_cast"), c.0]),
                Err(other) => return Err(other),
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
            Err(Box::new(msg))
        }
    }
}
