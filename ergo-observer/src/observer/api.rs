//! The Observer's JSON API: the node, the last minute, a page of the process list
//! (filtered and sorted on the server, so it stays fast over 100,000 processes), one
//! process, the trees, the network, events, logs; and the actions: kill, exit, send a
//! text message, set a process's log level.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ergo_runtime::system::{SystemReply, SystemRequest};
use ergo_runtime::{Node, Pid, ProcessState, ProcessSummary, Reason};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tracing::level_filters::LevelFilter;

use super::history::{History, Sample};
use super::tree;
use crate::log;

/// Rows per page at most.
pub const MAX_PAGE: usize = 500;

#[derive(Clone)]
struct Api {
    node: Node,
    history: Arc<History>,
}

pub(super) fn router(node: Node, history: Arc<History>) -> Router {
    Router::new()
        .route("/api/node", get(node_info))
        .route("/api/history", get(history_samples))
        .route("/api/processes", get(processes))
        .route("/api/process/{id}", get(process))
        .route("/api/process/{id}/kill", post(kill))
        .route("/api/process/{id}/exit", post(exit))
        .route("/api/process/{id}/send", post(send))
        .route("/api/process/{id}/log_level", post(log_level))
        .route("/api/tree", get(trees))
        .route("/api/network", get(network))
        .route("/api/events", get(events))
        .route("/api/logs", get(logs))
        .with_state(Api { node, history })
}

type ApiError = (StatusCode, String);

fn not_found(id: u64) -> ApiError {
    (StatusCode::NOT_FOUND, format!("no process {id}"))
}

fn pid_of(node: &Node, id: u64) -> Pid {
    Pid::new(node.name(), id, node.creation())
}

fn state_name(s: ProcessState) -> &'static str {
    match s {
        ProcessState::Init => "init",
        ProcessState::Idle => "idle",
        ProcessState::Scheduled => "scheduled",
        ProcessState::Running => "running",
        ProcessState::Awaiting => "awaiting",
        ProcessState::Terminated => "terminated",
    }
}

async fn node_info(State(api): State<Api>) -> Json<Value> {
    let node = &api.node;
    let info = node.info();
    let s = Sample::take(node);
    Json(json!({
        "name": info.name.to_string(),
        "uptime": info.uptime.as_secs_f64(),
        "processes": info.processes,
        "registered_names": info.registered_names,
        "aliases": info.aliases,
        "memory": s.memory,
        "messages_in": s.messages_in,
        "messages_out": s.messages_out,
        "queued": s.queued,
        "peers": node.connected_nodes().len(),
        "run_time_accounting": node.run_time_accounting(),
        "latency_tracking": node.latency_tracking(),
    }))
}

async fn history_samples(State(api): State<Api>) -> Json<Vec<Sample>> {
    Json(api.history.samples())
}

/// A process list query.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    offset: usize,
    limit: Option<usize>,
    sort: Option<String>,
    order: Option<String>,
    filter: Option<String>,
}

#[derive(Serialize)]
struct Row {
    id: u64,
    pid: String,
    name: Option<String>,
    kind: &'static str,
    state: &'static str,
    queues: [u32; 4],
    mailbox: u64,
    messages_in: u64,
    messages_out: u64,
    reductions: u64,
    run_time_us: u64,
    latency_us: u64,
}

fn row(p: &ProcessSummary) -> Row {
    Row {
        id: p.pid.id(),
        pid: p.pid.to_string(),
        name: p.name.map(|n| n.to_string()),
        kind: p.kind,
        state: state_name(p.state),
        queues: p.queue_lengths,
        mailbox: p.queue_length(),
        messages_in: p.messages_in,
        messages_out: p.messages_out,
        reductions: p.reductions(),
        run_time_us: p.run_time.as_micros() as u64,
        latency_us: p.latency.as_micros() as u64,
    }
}

fn matches(p: &ProcessSummary, needle: &str) -> bool {
    let lower = |s: &str| s.to_lowercase().contains(needle);
    lower(p.kind)
        || p.name.is_some_and(|n| lower(&n.as_str()))
        || p.pid.to_string().to_lowercase().contains(needle)
}

async fn processes(State(api): State<Api>, Query(q): Query<ListQuery>) -> Json<Value> {
    let all = api.node.process_summaries();
    let total = all.len();
    let needle = q.filter.unwrap_or_default().trim().to_lowercase();
    let mut list: Vec<ProcessSummary> = if needle.is_empty() {
        all
    } else {
        all.into_iter().filter(|p| matches(p, &needle)).collect()
    };
    let key = q.sort.as_deref().unwrap_or("id");
    let by = |p: &ProcessSummary| -> u64 {
        match key {
            "mailbox" => p.queue_length(),
            "messages_in" => p.messages_in,
            "messages_out" => p.messages_out,
            "reductions" => p.reductions(),
            "run_time" => p.run_time.as_nanos() as u64,
            "latency" => p.latency.as_nanos() as u64,
            _ => p.pid.id(),
        }
    };
    if key == "name" {
        list.sort_by_cached_key(|p| p.name.map(|n| n.as_str().to_string()));
    } else {
        list.sort_by_cached_key(by);
    }
    let descending = match q.order.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => key != "id" && key != "name",
    };
    if descending {
        list.reverse();
    }
    let matched = list.len();
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let rows: Vec<Row> = list.iter().skip(q.offset).take(limit).map(row).collect();
    Json(json!({
        "total": total,
        "matched": matched,
        "offset": q.offset,
        "limit": limit,
        "sort": key,
        "order": if descending { "desc" } else { "asc" },
        "rows": rows,
    }))
}

async fn state_text(node: &Node, pid: Pid) -> Option<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let asked = node.system_request(
        pid,
        SystemRequest::GetState,
        Box::new(move |reply| drop(tx.send(reply))),
    );
    if !asked {
        return None;
    }
    match tokio::time::timeout(Duration::from_millis(500), rx).await {
        Ok(Ok(SystemReply::State(view))) => view.debug,
        _ => None,
    }
}

async fn process(State(api): State<Api>, Path(id): Path<u64>) -> Result<Json<Value>, ApiError> {
    let node = &api.node;
    let pid = pid_of(node, id);
    let info = node.process_info(pid).ok_or_else(|| not_found(id))?;
    let children = tree::children(node, pid, 0).await;
    let events: Vec<Value> = ergo_otp::events::names(node)
        .into_iter()
        .filter_map(|n| ergo_otp::events::info(node, n))
        .filter(|e| e.owner == pid)
        .map(|e| json!({"name": e.name.to_string(), "published": e.published, "subscribers": e.subscribers}))
        .collect();
    let text =
        |p: &Pid| json!({"pid": p.to_string(), "id": p.id(), "local": p.node() == node.name()});
    Ok(Json(json!({
        "id": id,
        "pid": pid.to_string(),
        "name": info.name.map(|n| n.to_string()),
        "kind": info.kind,
        "state": state_name(info.state),
        "queues": {"urgent": info.queue_lengths[0], "system": info.queue_lengths[1], "main": info.queue_lengths[2], "log": info.queue_lengths[3]},
        "messages_in": info.messages_in,
        "messages_out": info.messages_out,
        "reductions": info.reductions,
        "run_time_us": info.run_time.as_micros() as u64,
        "latency_us": info.latency.as_micros() as u64,
        "latency_tracking": node.latency_tracking(),
        "uptime": info.uptime.as_secs_f64(),
        "trap_exit": info.trap_exit,
        "parent": info.parent.as_ref().map(text),
        "links": info.links.iter().map(text).collect::<Vec<_>>(),
        "monitors": info.monitors.iter().map(|(r, p)| json!({"ref": r.to_string(), "target": text(p)})).collect::<Vec<_>>(),
        "monitored_by": info.monitored_by.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "aliases": info.aliases.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "env": info.env,
        "actor_state": state_text(node, pid).await,
        "children": children,
        "events": events,
        "log_level": log::process_level(pid).map(|l| l.to_string()),
        "logs": log::recent(Some(pid), 100),
    })))
}

fn live(node: &Node, id: u64) -> Result<Pid, ApiError> {
    let pid = pid_of(node, id);
    node.process_info(pid)
        .map(|_| pid)
        .ok_or_else(|| not_found(id))
}

async fn kill(State(api): State<Api>, Path(id): Path<u64>) -> Result<Json<Value>, ApiError> {
    let pid = live(&api.node, id)?;
    api.node.kill(pid);
    tracing::info!(%pid, "killed from the Observer");
    Ok(Json(json!({"killed": pid.to_string()})))
}

#[derive(Deserialize)]
struct ExitBody {
    reason: String,
}

fn parse_reason(text: &str) -> Reason {
    match text {
        "normal" => Reason::Normal,
        "shutdown" => Reason::Shutdown,
        "kill" => Reason::Kill,
        other => Reason::Error(other.to_owned()),
    }
}

async fn exit(
    State(api): State<Api>,
    Path(id): Path<u64>,
    Json(body): Json<ExitBody>,
) -> Result<Json<Value>, ApiError> {
    let pid = live(&api.node, id)?;
    let reason = parse_reason(body.reason.trim());
    tracing::info!(%pid, %reason, "exit signal from the Observer");
    api.node.send_exit(pid, reason);
    Ok(Json(json!({"exit": pid.to_string()})))
}

#[derive(Deserialize)]
struct SendBody {
    text: String,
}

async fn send(
    State(api): State<Api>,
    Path(id): Path<u64>,
    Json(body): Json<SendBody>,
) -> Result<Json<Value>, ApiError> {
    let pid = live(&api.node, id)?;
    match api.node.send(pid, body.text) {
        Ok(()) => Ok(Json(json!({"sent": pid.to_string()}))),
        Err(ergo_runtime::SendError::Unhandled(_)) => Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "this process does not accept text messages".to_owned(),
        )),
        Err(e) => Err((StatusCode::CONFLICT, e.to_string())),
    }
}

#[derive(Deserialize)]
struct LevelBody {
    level: Option<String>,
}

async fn log_level(
    State(api): State<Api>,
    Path(id): Path<u64>,
    Json(body): Json<LevelBody>,
) -> Result<Json<Value>, ApiError> {
    let pid = live(&api.node, id)?;
    let level = match body.level.as_deref().map(str::trim) {
        None | Some("") | Some("default") => None,
        Some(l) => Some(
            l.parse::<LevelFilter>()
                .map_err(|_| (StatusCode::BAD_REQUEST, format!("unknown level {l:?}")))?,
        ),
    };
    log::set_process_level(pid, level);
    Ok(Json(
        json!({"pid": pid.to_string(), "level": level.map(|l| l.to_string())}),
    ))
}

async fn trees(State(api): State<Api>) -> Json<Value> {
    Json(json!(tree::all(&api.node).await))
}

async fn network(State(api): State<Api>) -> Json<Value> {
    let node = &api.node;
    let peers: Vec<String> = node
        .connected_nodes()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let transports: Vec<Value> = node
        .transport_stats()
        .iter()
        .map(|t| {
            json!({
                "transport": t.transport,
                "registrar": t.registrar,
                "peers": t.peers.iter().map(|p| json!({
                    "node": p.node.to_string(),
                    "bytes_in": p.bytes_in,
                    "bytes_out": p.bytes_out,
                    "messages_in": p.messages_in,
                    "messages_out": p.messages_out,
                    "connections": p.connections,
                    "pool_size": p.pool_size,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({"node": node.name().to_string(), "peers": peers, "transports": transports}))
}

async fn events(State(api): State<Api>) -> Json<Value> {
    let node = &api.node;
    let list: Vec<Value> = ergo_otp::events::names(node)
        .into_iter()
        .filter_map(|n| ergo_otp::events::info(node, n))
        .map(|e| {
            json!({
                "name": e.name.to_string(),
                "owner": e.owner.to_string(),
                "owner_id": e.owner.id(),
                "kind": e.kind,
                "published": e.published,
                "delivered": e.delivered,
                "subscribers": e.subscribers,
                "nodes": e.nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!(list))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogQuery {
    id: Option<u64>,
    limit: Option<usize>,
}

async fn logs(State(api): State<Api>, Query(q): Query<LogQuery>) -> Json<Value> {
    let pid = q.id.map(|id| pid_of(&api.node, id));
    Json(json!(log::recent(
        pid,
        q.limit.unwrap_or(200).min(log::KEPT_RECORDS)
    )))
}
