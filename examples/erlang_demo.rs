//! The blog scenario (Go Ergo's "Cogito Ergo Creo" demo) with ergo: a node
//! `demo@127.0.0.1` that Erlang and Elixir nodes connect to, with a GenServer-like
//! process registered as `example`.
//!
//! ```sh
//! cargo run -p ergo-erlang --example erlang_demo      # cookie: $ERGO_COOKIE or cookienomnom
//! iex --name ergo-demo@127.0.0.1 --cookie cookienomnom
//! iex> Node.connect(:"demo@127.0.0.1")                             # true
//! iex> GenServer.call({:example, :"demo@127.0.0.1"}, :hi)          # ~c"hello"
//! iex> GenServer.call({:example, :"demo@127.0.0.1"}, {:echo, 1, 2, 3})  # {:echo, 1, 2, 3}
//! iex> GenServer.cast({:example, :"demo@127.0.0.1"}, {:cast, 1, 2, 3})  # :ok (logged here)
//! ```
//!
//! Runs until Ctrl-C.

use ergo::erlang::{Charlist, Distribution, Options, Term};
use ergo::prelude::*;

/// The demo process.
#[derive(Default)]
struct Demo;

#[actor]
impl Demo {
    /// The atom `hi` → the charlist "hello" (`~c"hello"` in iex, `"hello"` in erl).
    #[handle_call]
    fn hi(&mut self, ctx: &mut Context<Self>) -> Charlist {
        println!("[{}] HandleCall: hi", ctx.pid());
        Charlist("hello".into())
    }

    /// Any other request is echoed back.
    #[handle_call]
    fn echo(&mut self, ctx: &mut Context<Self>, message: Term) -> Term {
        println!("[{}] HandleCall: {message}", ctx.pid());
        message
    }

    /// Casts are logged; the atom `stop` stops the process.
    #[handle_cast]
    fn cast(&mut self, ctx: &mut Context<Self>, message: Term) {
        println!("[{}] HandleCast: {message}", ctx.pid());
        if message.is_atom("stop") {
            ctx.stop(Reason::error("stop they said"));
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cookie = std::env::var("ERGO_COOKIE").unwrap_or_else(|_| "cookienomnom".to_owned());
    let node = Node::builder("demo@127.0.0.1")
        .cookie(cookie.clone())
        .log_level(tracing::Level::INFO)
        .start()
        .await?;
    let dist = Distribution::start(&node, Options::default()).await?;
    node.spawn_register("example", Demo).await?;
    println!("node demo@127.0.0.1 is up (cookie {cookie:?}); the process `example` is registered.");
    println!("try: iex --name ergo-demo@127.0.0.1 --cookie {cookie}");
    println!("     GenServer.call({{:example, :\"demo@127.0.0.1\"}}, :hi)");
    println!("Ctrl-C stops the node.");
    node.wait().await?;
    dist.stop();
    Ok(())
}
