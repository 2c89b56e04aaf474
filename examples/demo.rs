//! The Go Ergo framework's blog demo, in ergo's DSL: a process registered as
//! `example` that logs the casts it receives, stops with a reason on a `stop` cast,
//! answers a `hi` call with "hello" and echoes any other call. The process runs under a
//! supervisor (`DemoSup`), which restarts it under the same name after it stops.
//!
//! Run it with `cargo run -p ergo --example demo`. It ends by itself.

use ergo::prelude::*;

/// The demo's actor.
pub struct Example;

#[actor]
impl Example {
    #[init]
    fn init(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(pid = %ctx.pid(), "example: started");
    }

    /// Any cast is logged; `stop` stops the process with a reason.
    #[handle_cast]
    fn cast(&mut self, ctx: &mut Context<Self>, msg: String) {
        tracing::info!(%msg, "example: received cast");
        if msg == "stop" {
            ctx.stop(Reason::Error("stopped by a 'stop' cast".into()));
        }
    }

    /// `hi` gets "hello"; anything else is echoed.
    #[handle_call]
    fn call(&mut self, request: String) -> String {
        tracing::info!(%request, "example: received call");
        if request == "hi" {
            "hello".to_string()
        } else {
            request
        }
    }

    #[terminate]
    fn terminate(&mut self, reason: &Reason) {
        tracing::info!(%reason, "example: terminated");
    }
}

supervisor! {
    /// Keeps `example` running: a restart gets a new pid under the same name.
    pub DemoSup: one_for_one(intensity = 3, period = 5s) {
        example: Example = Example,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::builder("demo@127.0.0.1")
        .cookie("cookienomnom")
        .log_level(tracing::Level::INFO)
        .start()
        .await?;
    println!("node {} started", node.name());

    let sup = node.spawn(DemoSup::new()).await?;
    let example = sup.example().get()?;
    println!(
        "supervisor {} started 'example' as {}",
        sup.pid(),
        example.pid()
    );
    let monitor = node.monitor(example.pid())?;

    let answer = example.call("hi".to_string()).await?;
    println!("call 'hi' -> {answer:?}");
    let answer = example.call("echo me".to_string()).await?;
    println!("call 'echo me' -> {answer:?}");

    example.cast("hello, cast".to_string())?;
    println!("cast 'hello, cast' sent");
    example.cast("stop".to_string())?;
    println!("cast 'stop' sent");

    let down = monitor.down().await;
    println!("'example' ({}) stopped: {}", down.pid, down.reason);

    match example.call("anyone there?".to_string()).await {
        Ok(answer) => println!("unexpected answer {answer:?}"),
        Err(err) => println!("call after stop -> {err}"),
    }

    // The supervisor restarted it: the name leads to the new instance.
    sup.count_children().await?; // answered once the restart is done
    let restarted = sup.example().get()?;
    println!("the supervisor restarted 'example' as {}", restarted.pid());
    let answer = restarted.call("hi".to_string()).await?;
    println!("call 'hi' to the restarted 'example' -> {answer:?}");

    node.stop().await?;
    println!("node stopped");
    Ok(())
}
