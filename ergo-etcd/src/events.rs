//! Cluster events: what the etcd watch of the cluster's keys says, as typed values.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The name of the node event carrying [`ClusterEvent`]s (see `EtcdRegistrar::watch`).
pub const CLUSTER_EVENT: &str = "ergo_cluster";

/// Where a configuration value applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigScope {
    /// Every node of the cluster (weakest).
    Cluster,
    /// Nodes running this application.
    Application(String),
    /// This node only (strongest).
    Node(String),
}

/// Something that happened in the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterEvent {
    /// A node registered (or moved to another address).
    NodeJoined {
        /// The node.
        node: String,
        /// Where it accepts connections.
        addr: String,
    },
    /// A node left: it deregistered, or its lease expired.
    NodeLeft {
        /// The node.
        node: String,
    },
    /// A node announced an application.
    ApplicationStarted {
        /// The application.
        application: String,
        /// The node.
        node: String,
        /// Its weight.
        weight: u32,
    },
    /// A node no longer runs an application (or left).
    ApplicationStopped {
        /// The application.
        application: String,
        /// The node.
        node: String,
    },
    /// A configuration value was set or removed.
    ConfigChanged {
        /// Where it applies.
        scope: ConfigScope,
        /// The item.
        item: String,
        /// The new value (JSON), `None` when removed.
        value: Option<String>,
    },
}

/// The event of a change of `key` (relative to the cluster's root): `value` after
/// the change, `None` for a deletion.
pub fn event_of(key: &str, value: Option<&str>) -> Option<ClusterEvent> {
    let parts: Vec<&str> = key.split('/').collect();
    match (parts.as_slice(), value) {
        (["nodes", node], Some(addr)) => Some(ClusterEvent::NodeJoined {
            node: (*node).to_owned(),
            addr: addr.to_owned(),
        }),
        (["nodes", node], None) => Some(ClusterEvent::NodeLeft {
            node: (*node).to_owned(),
        }),
        (["routes", app, node], Some(weight)) => Some(ClusterEvent::ApplicationStarted {
            application: (*app).to_owned(),
            node: (*node).to_owned(),
            weight: weight.parse().ok()?,
        }),
        (["routes", app, node], None) => Some(ClusterEvent::ApplicationStopped {
            application: (*app).to_owned(),
            node: (*node).to_owned(),
        }),
        (["config", "cluster", item], value) => Some(ClusterEvent::ConfigChanged {
            scope: ConfigScope::Cluster,
            item: (*item).to_owned(),
            value: value.map(str::to_owned),
        }),
        (["config", "app", app, item], value) => Some(ClusterEvent::ConfigChanged {
            scope: ConfigScope::Application((*app).to_owned()),
            item: (*item).to_owned(),
            value: value.map(str::to_owned),
        }),
        (["config", "node", node, item], value) => Some(ClusterEvent::ConfigChanged {
            scope: ConfigScope::Node((*node).to_owned()),
            item: (*item).to_owned(),
            value: value.map(str::to_owned),
        }),
        _ => None,
    }
}

/// Turns the watch's changes into events until the watch ends.
pub(crate) async fn run(
    mut stream: etcd_client::WatchStream,
    root: String,
    events: broadcast::Sender<ClusterEvent>,
    token: Option<ergo_otp::events::EventToken<ClusterEvent>>,
) {
    loop {
        let answer = match stream.message().await {
            Ok(Some(answer)) => answer,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "etcd: the cluster watch failed");
                break;
            }
        };
        for change in answer.events() {
            let Some(kv) = change.kv() else { continue };
            let Some(key) = kv.key_str().ok().and_then(|k| k.strip_prefix(&root)) else {
                continue;
            };
            let value = match change.event_type() {
                etcd_client::EventType::Put => Some(kv.value_str().unwrap_or_default()),
                etcd_client::EventType::Delete => None,
            };
            if let Some(event) = event_of(key, value) {
                let _ = events.send(event.clone());
                if let Some(token) = &token {
                    let _ = token.publish(event);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_events() {
        assert_eq!(
            event_of("nodes/a@h", Some("10.0.0.1:7")),
            Some(ClusterEvent::NodeJoined {
                node: "a@h".into(),
                addr: "10.0.0.1:7".into()
            })
        );
        assert_eq!(
            event_of("routes/app/a@h", None),
            Some(ClusterEvent::ApplicationStopped {
                application: "app".into(),
                node: "a@h".into()
            })
        );
        assert_eq!(
            event_of("config/app/billing/pool", Some("3")),
            Some(ClusterEvent::ConfigChanged {
                scope: ConfigScope::Application("billing".into()),
                item: "pool".into(),
                value: Some("3".into())
            })
        );
        assert_eq!(event_of("elsewhere/x", Some("1")), None);
        assert_eq!(event_of("routes/app/a@h", Some("heavy")), None);
    }
}
