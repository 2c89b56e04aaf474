//! Local workloads: which figures there are, what each measures, and one run of one
//! figure in a fresh node (the harness starts each run as its own process).

use ergo::Node;

use crate::harness::{self, Figure};
use crate::{calls, spawn, stream};

/// The local figures, in the order they run; spawn last (a million processes leave the
/// allocator warm and fragmented, though each run is its own process now).
pub const FIGURES: &[Figure] = &[
    Figure {
        group: "local_1_1",
        names: &["local_1_1"],
    },
    Figure {
        group: "local_1_1_latency",
        names: &["local_1_1_latency"],
    },
    Figure {
        group: "local_n_n",
        names: &["local_n_n"],
    },
    Figure {
        group: "pairs",
        names: &["pairs"],
    },
    Figure {
        group: "ping_pong",
        names: &["ping_pong"],
    },
    Figure {
        group: "call_rtt",
        names: &["call_rtt"],
    },
    Figure {
        group: "call_concurrent",
        names: &["call_concurrent"],
    },
    Figure {
        group: "node_call_rtt",
        names: &["node_call_rtt"],
    },
    Figure {
        group: "peer_lost",
        names: &["peer_lost", "peer_lost_slowest_call"],
    },
    Figure {
        group: "spawn_rate",
        names: &["spawn_rate", "idle_process_bytes"],
    },
];

/// Prints the workload, then runs the selected figures through the harness.
pub fn run(only: Option<&str>) {
    let cores = harness::nproc();
    println!(
        "# workload: local_1_1 = 1 sender process -> 1 receiver process, {} async u64 messages; \
         local_1_1_latency = the same with mailbox latency tracking on; \
         local_n_n = {cores} pairs x {}; pairs = {} pairs of processes x {} round trips each, \
         2 msgs per round trip; ping_pong = {} round trips between two processes; \
         call_rtt = {} sequential calls process->process; call_concurrent = {} caller processes \
         -> 1 server, {} sequential calls each; node_call_rtt = {} sequential calls from outside \
         any process; spawn_rate/idle_process_bytes = {} idle processes (state u64), RSS delta / \
         count incl. table entry; peer_lost = a peer holding {} monitors on 100 local processes, \
         with {} node-level monitors of its processes, lost (time of connection_lost; the slowest \
         call between two other processes meanwhile); nproc = {cores}",
        stream::ONE_TO_ONE,
        stream::PER_PAIR,
        stream::PAIRS,
        stream::PAIR_ROUND_TRIPS,
        stream::ROUND_TRIPS,
        calls::CALLS,
        calls::CALLERS,
        calls::PER_CALLER,
        calls::CALLS,
        spawn::SPAWNS,
        crate::peer_lost::PEER_MONITORS,
        crate::peer_lost::LOCAL_MONITORS,
    );
    harness::run("local-once", FIGURES, only);
}

/// One run of one figure group, printing its `BENCH <name> <value> <unit>` lines.
pub async fn once(group: &str) {
    let node = Node::builder("bench@127.0.0.1")
        .start()
        .await
        .expect("node");
    match group {
        "local_1_1" => {
            let rate = stream::one_to_one(&node, 1, stream::ONE_TO_ONE).await;
            println!("BENCH local_1_1 {rate:.0} msgs/s");
        }
        "local_1_1_latency" => {
            node.set_latency_tracking(true);
            let rate = stream::one_to_one(&node, 1, stream::ONE_TO_ONE).await;
            println!("BENCH local_1_1_latency {rate:.0} msgs/s");
        }
        "local_n_n" => {
            let rate = stream::one_to_one(&node, harness::nproc(), stream::PER_PAIR).await;
            println!("BENCH local_n_n {rate:.0} msgs/s");
        }
        "pairs" => {
            let rate = stream::pairs(&node, stream::PAIRS, stream::PAIR_ROUND_TRIPS).await;
            println!("BENCH pairs {:.0} msgs/s", rate * 2.0);
        }
        "ping_pong" => {
            let rate = stream::pairs(&node, 1, stream::ROUND_TRIPS).await;
            println!("BENCH ping_pong {rate:.0} round_trips/s");
        }
        "call_rtt" => {
            let rtt = calls::call_rtt(&node).await;
            println!("BENCH call_rtt {:.3} us", rtt.as_secs_f64() * 1e6);
        }
        "call_concurrent" => {
            let rate = calls::call_concurrent(&node).await;
            println!("BENCH call_concurrent {rate:.0} calls/s");
        }
        "node_call_rtt" => {
            let rtt = calls::node_call_rtt(&node).await;
            println!("BENCH node_call_rtt {:.3} us", rtt.as_secs_f64() * 1e6);
        }
        "peer_lost" => {
            let (took, slowest) = crate::peer_lost::run(&node).await;
            println!("BENCH peer_lost {:.1} ms", took.as_secs_f64() * 1e3);
            println!(
                "BENCH peer_lost_slowest_call {:.0} us",
                slowest.as_secs_f64() * 1e6
            );
        }
        "spawn_rate" => {
            let (rate, bytes) = spawn::spawn_idle(&node).await;
            println!("BENCH spawn_rate {rate:.0} spawns/s");
            println!("BENCH idle_process_bytes {bytes:.0} bytes");
        }
        other => {
            eprintln!("unknown local figure {other:?}");
            std::process::exit(2);
        }
    }
    node.stop().await.expect("stop");
}
