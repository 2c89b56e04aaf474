//! `global`'s locks seen from this node: its locker, which takes the cluster lock for
//! a new connection as OTP's locker does (so two ergo nodes synchronise with each
//! other), and `set_lock`/`del_lock` from Rust (`global:set_lock/3`, `del_lock/2`).

use std::sync::Arc;
use std::time::Duration;

use super::super::Shared;
use super::cast_msg;
use crate::term::{ErlPid, Term};

/// How many times this node's locker tries to lock for one connection.
const LOCKER_TRIES: u32 = 30;
/// How long this node's locker holds the lock waiting for the peer's `lock_set`.
const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// How long one `set_lock`/`del_lock` call to another node may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A pseudo-random number (no cryptographic use: spreading retries).
fn random(below: u64) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos().into());
    let mut x = STATE.fetch_add(nanos | 1, Ordering::Relaxed) ^ nanos;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x % below.max(1)
}

/// `global:random_sleep/1`: up to 1/8 s × 2^times, at most 8 s.
pub(crate) fn random_sleep(times: u32) -> Duration {
    let max_ms = if times > 5 {
        8000
    } else {
        (1u64 << times) * 1000 / 8
    };
    Duration::from_millis(1 + random(max_ms))
}

/// Erlang's order of two pids: by their number (serial, then id), then node name,
/// then creation.
fn pid_order(a: &ErlPid, b: &ErlPid) -> std::cmp::Ordering {
    (a.serial, a.id, &a.node, a.creation).cmp(&(b.serial, b.id, &b.node, b.creation))
}

/// `{global, lists:sort([Locker1, Locker2])}`: the lock both lockers of a connection
/// take (the same id on both sides, so neither refuses the other).
fn locker_lock_id(mine: &ErlPid, his: &ErlPid) -> Term {
    let (a, b) = if pid_order(mine, his).is_le() {
        (mine, his)
    } else {
        (his, mine)
    };
    Term::tuple([
        Term::atom("global"),
        Term::list([Term::Pid(a.clone()), Term::Pid(b.clone())]),
    ])
}

impl Shared {
    /// Starts this node's locker for the connection to `peer` (once both tags are
    /// known): after a pause (the peer's locker may go first, and this node answers
    /// it), it locks the boss, both ends and the nodes known here, then sends its
    /// `lock_set`; a refusal releases what it took and it tries again later.
    pub(super) fn global_start_locker(self: &Arc<Self>, peer: &str) {
        let shared = self.clone();
        let peer = peer.to_owned();
        self.runtime
            .spawn(async move { shared.global_locker(&peer).await });
    }

    async fn global_locker(self: &Arc<Self>, peer: &str) {
        for times in 1..=LOCKER_TRIES {
            tokio::time::sleep(if times == 1 {
                Duration::from_millis(50 + random(200))
            } else {
                random_sleep(times.min(4))
            })
            .await;
            let (my_tag, his_tag, his_locker, known) = {
                let g = self.global.lock();
                let Some(s) = g.sessions.get(peer) else {
                    return;
                };
                if s.lock_sent {
                    return;
                }
                let (Some(my), Some(his), Some(locker)) =
                    (s.my_tag.clone(), s.his_tag.clone(), s.his_locker.clone())
                else {
                    return;
                };
                (my, his, locker, g.known.iter().cloned().collect::<Vec<_>>())
            };
            let id = locker_lock_id(&self.locker_pid(), &his_locker);
            // The boss (the node that sorts last) first, as OTP's `lock_nodes_safely`.
            let mut nodes = known;
            nodes.push(self.name.clone());
            nodes.push(peer.to_owned());
            nodes.sort();
            nodes.dedup();
            nodes.rotate_right(1);
            tracing::debug!(peer, %id, ?nodes, "global: locker tries");
            let Some(locked) = self.lock_nodes(&id, &nodes).await else {
                tracing::debug!(peer, "global: locker refused");
                continue;
            };
            tracing::debug!(peer, "global: locker locked");
            let known_list = {
                let mut g = self.global.lock();
                match g.sessions.get_mut(peer) {
                    Some(s) if s.my_tag.as_ref() == Some(&my_tag) && !s.lock_sent => {
                        s.lock_sent = true;
                        s.my_lock = Some((id.clone(), locked.clone()));
                        Some(g.known_list())
                    }
                    _ => None,
                }
            };
            let Some(known) = known_list else {
                // The peer's locker went first (or the session ended) meanwhile.
                self.unlock_nodes(&id, &locked).await;
                return;
            };
            let lock_set = Term::tuple([
                Term::atom("lock_set"),
                Term::Pid(self.locker_pid()),
                Term::atom("true"),
                known,
                his_tag,
            ]);
            if let Some(c) = self.conn(peer) {
                c.send_to(
                    &self.global_server(peer),
                    &self.node_pid(),
                    &cast_msg(lock_set),
                );
            }
            // The peer answers with its `lock_set` (the names are exchanged and the
            // lock released when the session ends). A peer that does not answer (it
            // dropped this handshake) does not keep the cluster locked: the lock goes
            // and this locker tries again.
            if self.answered(peer, &my_tag).await {
                return;
            }
        }
        tracing::info!(
            peer,
            "global: could not take the cluster lock for this connection"
        );
    }

    /// Waits (bounded) for the peer's answer to this node's `lock_set`: true once it
    /// came or the session ended; false after [`ANSWER_WAIT`] without one (the lock
    /// taken is released, the session ready for another attempt).
    async fn answered(self: &Arc<Self>, peer: &str, my_tag: &Term) -> bool {
        let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
        loop {
            {
                let g = self.global.lock();
                match g.sessions.get(peer) {
                    Some(s) if s.my_tag.as_ref() == Some(my_tag) && !s.locked => {}
                    _ => return true,
                }
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let lock = {
            let mut g = self.global.lock();
            match g.sessions.get_mut(peer) {
                Some(s) if s.my_tag.as_ref() == Some(my_tag) && !s.locked => {
                    s.lock_sent = false;
                    s.my_lock.take()
                }
                _ => return true,
            }
        };
        if let Some((id, nodes)) = lock {
            self.unlock_nodes(&id, &nodes).await;
        }
        false
    }

    /// `set_lock` of `id` on each node in turn, held by this node's pid: all of them
    /// (the nodes locked), or none (what was taken is released).
    pub(crate) async fn lock_nodes(
        self: &Arc<Self>,
        id: &Term,
        nodes: &[String],
    ) -> Option<Vec<String>> {
        let me = self.node_pid();
        let mut locked = Vec::new();
        for n in nodes {
            let ok = if *n == self.name {
                self.global.lock().set_lock(id, &me)
            } else {
                let req = Term::tuple([Term::atom("set_lock"), id.clone()]);
                matches!(
                    self.call(self.global_server(n), req, CALL_TIMEOUT).await,
                    Ok(t) if t.is_atom("true")
                )
            };
            if !ok {
                self.unlock_nodes(id, &locked).await;
                return None;
            }
            locked.push(n.clone());
        }
        Some(locked)
    }

    /// `del_lock` of `id` (held by this node's pid) on each node.
    pub(crate) async fn unlock_nodes(self: &Arc<Self>, id: &Term, nodes: &[String]) {
        let me = self.node_pid();
        for n in nodes {
            if *n == self.name {
                self.global.lock().del_lock(id, &me);
            } else {
                let req = Term::tuple([Term::atom("del_lock"), id.clone()]);
                let _ = self.call(self.global_server(n), req, CALL_TIMEOUT).await;
            }
        }
    }

    /// `global:set_lock(Id, Nodes, Retries)` held by this node: true once `id` is
    /// locked on every node; false after `retries` refused attempts (`None`: retry
    /// until it is), with OTP's random pause between attempts.
    pub(crate) async fn set_lock(
        self: &Arc<Self>,
        id: &Term,
        nodes: &[String],
        retries: Option<u32>,
    ) -> bool {
        let mut times = 1;
        loop {
            if self.lock_nodes(id, nodes).await.is_some() {
                return true;
            }
            if retries.is_some_and(|r| times > r) {
                return false;
            }
            tokio::time::sleep(random_sleep(times)).await;
            times += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(node: &str, id: u32, serial: u32) -> ErlPid {
        ErlPid {
            node: node.into(),
            id,
            serial,
            creation: 1,
        }
    }

    #[test]
    fn both_lockers_compute_the_same_lock_id() {
        let a = pid("a@h", 0, 1);
        let b = pid("b@h", 50, 0);
        assert_eq!(locker_lock_id(&a, &b), locker_lock_id(&b, &a));
        // Number before node name, as the BEAM compares pids.
        let Term::Tuple(t) = locker_lock_id(&a, &b) else {
            panic!()
        };
        assert_eq!(t[1], Term::list([Term::Pid(b), Term::Pid(a)]));
    }

    #[test]
    fn random_sleep_stays_within_otps_bounds() {
        for times in 1..10 {
            let max = if times > 5 {
                8000
            } else {
                (1 << times) * 1000 / 8
            };
            let d = random_sleep(times);
            assert!(d >= Duration::from_millis(1) && d <= Duration::from_millis(max + 1));
        }
    }
}
