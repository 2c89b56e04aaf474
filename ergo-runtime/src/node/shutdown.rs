//! Graceful shutdown: children before parents, each level told `Shutdown` and awaited;
//! stragglers logged every 5 s; an error, not a hang, once the timeout passes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;
use tokio::time::Instant;

use crate::error::NodeError;
use crate::info::ProcessInfo;
use crate::pid::Pid;
use crate::process::core::{AnyProcess, Signal};
use crate::reason::Reason;

use super::Node;

/// How often processes still alive during shutdown are logged.
pub const STUCK_LOG_INTERVAL: Duration = Duration::from_secs(5);

impl Node {
    /// Stops the node gracefully: every process terminates with `Shutdown`, children
    /// before their parents; waits up to the shutdown timeout (default 3 minutes).
    pub async fn stop(&self) -> Result<(), NodeError> {
        self.stop_with_timeout(self.0.shutdown_timeout).await
    }

    /// [`Node::stop`] with an explicit timeout. On timeout, returns the processes still
    /// alive; they are left running.
    pub async fn stop_with_timeout(&self, timeout: Duration) -> Result<(), NodeError> {
        self.0.stopping.store(true, Ordering::SeqCst);
        tracing::info!(node = %self.name(), "node stopping");
        let deadline = Instant::now() + timeout;
        let result = self.stop_processes(deadline, timeout).await;
        // Even after a timeout the network closes and `wait()` returns.
        self.shutdown_transports();
        self.0.logs.flush();
        self.0.stopped.send_replace(true);
        if let Some(clock) = &self.0.clock {
            clock.close();
        }
        result?;
        tracing::info!(node = %self.name(), "node stopped");
        Ok(())
    }

    async fn stop_processes(&self, deadline: Instant, timeout: Duration) -> Result<(), NodeError> {
        // New processes may have been spawned by the ones we stopped: repeat until empty.
        for _ in 0..16 {
            let all = self.all_processes();
            if all.is_empty() {
                break;
            }
            for level in levels(all) {
                self.stop_level(level, deadline, timeout).await?;
            }
        }
        Ok(())
    }

    async fn stop_level(
        &self,
        level: Vec<Arc<dyn AnyProcess>>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), NodeError> {
        let mut waiting = Vec::with_capacity(level.len());
        for process in level {
            let pid = process.core().pid();
            if let Ok(monitor) = self.monitor(pid) {
                process.signal(Signal::Stop(Reason::Shutdown));
                waiting.push((pid, monitor));
            }
        }
        for (pid, monitor) in waiting {
            let mut down = std::pin::pin!(monitor.down());
            loop {
                let tick = (Instant::now() + STUCK_LOG_INTERVAL).min(deadline);
                tokio::select! {
                    _ = &mut down => break,
                    _ = tokio::time::sleep_until(tick) => {
                        let stuck: Vec<Pid> = self.processes();
                        if Instant::now() >= deadline {
                            self.log_stuck(&stuck);
                            return Err(NodeError::ShutdownTimeout { timeout, stuck });
                        }
                        let _ = pid;
                        self.log_stuck(&stuck);
                    }
                }
            }
        }
        Ok(())
    }

    fn log_stuck(&self, stuck: &[Pid]) {
        for pid in stuck.iter().take(10) {
            if let Some(info) = self.process_info(*pid) {
                let ProcessInfo {
                    state,
                    queue_lengths,
                    kind,
                    ..
                } = info;
                tracing::warn!(%pid, ?state, ?queue_lengths, kind, "still alive during shutdown");
            }
        }
    }

    /// Resolves once the node has stopped (unlike [`Node::wait`], Ctrl-C does not
    /// stop it): for servers and tasks that end with the node.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopped = self.0.stopped.subscribe();
        async move {
            let _ = stopped.wait_for(|s| *s).await.map(drop);
        }
    }

    /// Waits until the node has stopped; Ctrl-C (SIGINT) starts a graceful stop.
    pub async fn wait(&self) -> Result<(), NodeError> {
        let mut stopped = self.0.stopped.subscribe();
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => Ok(()),
            _ = tokio::signal::ctrl_c() => self.stop().await,
        }
    }
}

/// Groups processes by depth in the parent tree, deepest first.
fn levels(all: Vec<Arc<dyn AnyProcess>>) -> Vec<Vec<Arc<dyn AnyProcess>>> {
    let parents: FxHashMap<Pid, Option<Pid>> = all
        .iter()
        .map(|p| {
            let parent = p.core().side().and_then(|s| s.lock().parent);
            (p.core().pid(), parent)
        })
        .collect();
    let depth = |mut pid: Pid| {
        let mut d = 0usize;
        while let Some(Some(parent)) = parents.get(&pid) {
            d += 1;
            pid = *parent;
            if d > parents.len() {
                break;
            }
        }
        d
    };
    let mut by_depth: Vec<Vec<Arc<dyn AnyProcess>>> = Vec::new();
    for process in all {
        let d = depth(process.core().pid());
        if by_depth.len() <= d {
            by_depth.resize_with(d + 1, Vec::new);
        }
        by_depth[d].push(process);
    }
    by_depth.reverse();
    by_depth
}
