//! A supervision tree restarting what crashes, printed as a tree before and after.
//!
//! `myapp` is an application whose root `mysup` (one-for-one) supervises a `counter`
//! and `workers` (rest-for-one) with two workers. The example crashes the counter and
//! a worker; the tree is printed after each restart, with the new pids.
//!
//! Run it with `cargo run -p ergo --example supervision`. It ends by itself.

use ergo::prelude::*;
use ergo::supervisor::{ChildKind, SupervisorRef};

/// A counter that can be made to crash.
#[derive(Default)]
pub struct Counter(u64);

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.0 += n;
        self.0
    }

    #[handle_cast]
    fn crash(&mut self) {
        panic!("counter crashed on purpose");
    }
}

/// A worker that can be made to fail.
#[derive(Default)]
pub struct Worker;

#[actor]
impl Worker {
    #[handle_cast]
    fn fail(&mut self) -> Result<(), String> {
        Err("worker failed on purpose".into())
    }
}

supervisor! {
    /// Two workers: when the first fails, the second restarts too.
    pub Workers: rest_for_one(intensity = 5, period = 5s) {
        worker1: Worker,
        worker2: Worker,
    }
}

supervisor! {
    /// The application's root.
    pub MySup: one_for_one(intensity = 5, period = 5s) {
        counter: Counter,
        workers: Workers,
    }
}

/// Prints the children of `sup` under `prefix`, recursing into supervisors.
async fn print_children(node: &Node, sup: Pid, prefix: &str) -> Result<(), SupervisorError> {
    let children = SupervisorRef::new(node, sup).which_children().await?;
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let pid = child
            .pid
            .map_or("(not running)".to_string(), |p| p.to_string());
        println!(
            "{prefix}{} {} {pid}",
            if last { "└─" } else { "├─" },
            child.id
        );
        if let (ChildKind::Supervisor, Some(pid)) = (child.kind, child.pid) {
            let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
            Box::pin(print_children(node, pid, &deeper)).await?;
        }
    }
    Ok(())
}

async fn print_tree(node: &Node, title: &str) -> Result<(), SupervisorError> {
    println!("\n{title}\n{}", node.name());
    for app in node.running_applications() {
        let Some(root) = app.pid else { continue };
        println!("└─ {} ({:?})", app.name, app.mode);
        println!("   └─ mysup {root}");
        print_children(node, root, "      ").await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Crashes here are on purpose: each is logged once, as one line.
    let node = Node::builder("mynode@127.0.0.1")
        .log_level(tracing::Level::ERROR)
        .start()
        .await?;
    node.load_application(
        ApplicationSpec::new("myapp", ChildSpec::new("mysup", || (MySup::new(), ())))
            .description("a counter and two workers")
            .mode(Restart::Transient)
            .role("counting", "counter"),
    )?;
    let root = node.start_application("myapp").await?;
    let sup = node.actor_ref::<MySup>(root).ok_or("the root is running")?;
    print_tree(&node, "started:").await?;

    // Crash the counter: one-for-one restarts just it, under the same name.
    let counter = sup.counter();
    counter.get()?.add(41).await?;
    let down = node.monitor(counter.pid().ok_or("counter running")?)?;
    counter.get()?.crash()?;
    println!("\ncounter crashed: {}", down.down().await.reason);
    sup.count_children().await?; // answered once the restart is done
    println!(
        "counter after its restart: {}",
        counter.get()?.add(1).await?
    );
    print_tree(&node, "after the counter's restart:").await?;

    // Fail worker1: rest-for-one restarts it and worker2 after it.
    let workers = sup.workers().get()?;
    let worker1 = workers.worker1();
    let down = node.monitor(worker1.pid().ok_or("worker1 running")?)?;
    worker1.get()?.fail()?;
    println!("\nworker1 failed: {}", down.down().await.reason);
    workers.count_children().await?;
    print_tree(&node, "after worker1's restart (worker2 restarted too):").await?;

    node.stop_application("myapp").await?;
    node.stop().await?;
    println!("\nnode stopped");
    Ok(())
}
