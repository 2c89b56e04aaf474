//! Supervision trees: each running application's, and those of supervisors outside
//! any application, read from the supervisors themselves (`which_children`).

use std::collections::{HashMap, HashSet};

use ergo_otp::supervisor::{ChildInfo, ChildKind, SupervisorRef};
use ergo_otp::ApplicationExt;
use ergo_runtime::{Node, Pid};
use serde::Serialize;

/// Supervisor depth shown at most.
const MAX_DEPTH: usize = 16;

/// One process of a tree.
#[derive(Clone, Debug, Serialize)]
pub struct TreeNode {
    /// The child's id in its supervisor (the application's name at a root).
    pub id: String,
    /// Its pid, while it runs.
    pub pid: Option<String>,
    /// Its local id (for links to its page).
    pub local_id: Option<u64>,
    /// Its actor type.
    pub actor: String,
    /// `worker` or `supervisor`.
    pub kind: &'static str,
    /// Its restart policy.
    pub restart: String,
    /// Its children, for a supervisor.
    pub children: Vec<TreeNode>,
}

/// The tree under the supervisor `pid` (children only; empty if it is no supervisor).
pub(super) async fn children(node: &Node, pid: Pid, depth: usize) -> Vec<TreeNode> {
    if depth >= MAX_DEPTH {
        return Vec::new();
    }
    let Ok(list) = SupervisorRef::new(node, pid).which_children().await else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(list.len());
    for child in list {
        out.push(Box::pin(child_node(node, child, depth + 1)).await);
    }
    out
}

async fn child_node(node: &Node, child: ChildInfo, depth: usize) -> TreeNode {
    let children = match (child.kind, child.pid) {
        (ChildKind::Supervisor, Some(pid)) => children(node, pid, depth).await,
        _ => Vec::new(),
    };
    TreeNode {
        id: child.id.to_string(),
        pid: child.pid.map(|p| p.to_string()),
        local_id: child.pid.map(|p| p.id()),
        actor: child.actor.to_string(),
        kind: match child.kind {
            ChildKind::Worker => "worker",
            ChildKind::Supervisor => "supervisor",
        },
        restart: format!("{:?}", child.restart).to_lowercase(),
        children,
    }
}

/// A root: an application's supervisor, or a supervisor no other supervisor holds.
#[derive(Clone, Debug, Serialize)]
pub(super) struct Root {
    pub application: Option<String>,
    pub tree: TreeNode,
}

async fn root(node: &Node, pid: Pid, id: String) -> TreeNode {
    let kind = node.process_info(pid).map_or("", |i| i.kind);
    TreeNode {
        id,
        pid: Some(pid.to_string()),
        local_id: Some(pid.id()),
        actor: kind.to_string(),
        kind: "supervisor",
        restart: String::new(),
        children: children(node, pid, 0).await,
    }
}

/// Every tree of the node.
pub(super) async fn all(node: &Node) -> Vec<Root> {
    let mut roots = Vec::new();
    let mut shown: HashSet<Pid> = HashSet::new();
    for app in node.running_applications() {
        if let Some(pid) = app.pid {
            shown.insert(pid);
            roots.push(Root {
                application: Some(app.name.to_string()),
                tree: root(node, pid, app.name.to_string()).await,
            });
        }
    }
    // Supervisors outside applications: every supervisor answers `which_children`
    // (others refuse the request at once); roots are those no supervisor lists.
    let probes: Vec<_> = node
        .process_summaries()
        .into_iter()
        .map(|p| {
            let node = node.clone();
            async move {
                let kids = SupervisorRef::new(&node, p.pid)
                    .which_children()
                    .await
                    .ok()?;
                Some((p.pid, p.name, kids))
            }
        })
        .collect();
    let supervisors: Vec<_> = futures_util::future::join_all(probes)
        .await
        .into_iter()
        .flatten()
        .collect();
    let held: HashSet<Pid> = supervisors
        .iter()
        .flat_map(|(_, _, kids)| kids.iter().filter_map(|c| c.pid))
        .collect();
    let in_apps = reachable(&supervisors, &shown);
    for (pid, name, _) in &supervisors {
        if !held.contains(pid) && !in_apps.contains(pid) {
            let id = name.map_or_else(|| pid.to_string(), |n| n.to_string());
            roots.push(Root {
                application: None,
                tree: root(node, *pid, id).await,
            });
        }
    }
    roots
}

/// The supervisors under the roots already shown.
fn reachable(
    supervisors: &[(Pid, Option<ergo_runtime::Atom>, Vec<ChildInfo>)],
    roots: &HashSet<Pid>,
) -> HashSet<Pid> {
    let by_pid: HashMap<Pid, &Vec<ChildInfo>> =
        supervisors.iter().map(|(p, _, k)| (*p, k)).collect();
    let mut seen: HashSet<Pid> = roots.clone();
    let mut todo: Vec<Pid> = roots.iter().copied().collect();
    while let Some(p) = todo.pop() {
        for c in by_pid.get(&p).map(|k| k.iter()).into_iter().flatten() {
            if let Some(pid) = c.pid {
                if seen.insert(pid) {
                    todo.push(pid);
                }
            }
        }
    }
    seen
}
