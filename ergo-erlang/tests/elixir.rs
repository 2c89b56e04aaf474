//! Elixir client code against an ergo node and a control Elixir node, side by side:
//! `GenServer.call({:example, node}, ..)`, `GenServer.cast`, a call to a name nobody
//! registered, `GenServer.stop/2` with a reason, `:erpc.call` of an undefined function.
//! The Elixir client (`ex/client.exs`) runs the same code against both and the answers
//! must be equal; the control node runs `ex/example.exs`.

mod support;

use ergo::erlang::{Distribution, Options, Term};
use ergo::prelude::*;
use support::{unique, Erl};

/// The Rust twin of `Example` in `ex/example.exs`.
#[derive(Default)]
struct Example {
    notes: Vec<String>,
}

#[actor]
impl Example {
    #[handle_call]
    fn hi(&mut self) -> Term {
        Term::atom("hello")
    }

    #[handle_call]
    fn add(&mut self, a: i64, b: i64) -> i64 {
        a + b
    }

    #[handle_call]
    fn notes(&mut self) -> Vec<String> {
        self.notes.clone()
    }

    /// A new, unregistered `Example`.
    #[handle_call]
    async fn spawn(&mut self, ctx: &mut Context<Self>) -> Pid {
        ctx.spawn(Example::default()).await.unwrap().pid()
    }

    #[handle_cast]
    fn note(&mut self, x: String) {
        self.notes.push(x);
    }
}

const COOKIE: &str = "elixircookie";

#[tokio::test(flavor = "multi_thread")]
async fn elixir_client_code_gets_the_same_answers_from_ergo_as_from_elixir() {
    support::ensure_ready();
    let name = format!("{}@127.0.0.1", unique("rs"));
    let node = Node::builder(&name).cookie(COOKIE).start().await.unwrap();
    let dist = Distribution::start(&node, Options::default())
        .await
        .unwrap();
    node.spawn_register("example", Example::default())
        .await
        .unwrap();
    let mut control = Erl::elixir(&unique("ex"), COOKIE, &[], "example.exs", &[]);
    control.line("READY").await;
    let mut client = Erl::elixir(
        &unique("c"),
        COOKIE,
        &["--hidden"],
        "client.exs",
        &[&name, &control.name],
    );
    let ours = client.line("R rust ").await;
    let theirs = client.line("R elixir ").await;
    let ours = ours.strip_prefix("R rust ").unwrap();
    let theirs = theirs.strip_prefix("R elixir ").unwrap();
    eprintln!("ergo:   {ours}\nelixir: {theirs}");
    // Pids differ, so the client prints none; everything else must be the same.
    assert_eq!(ours, theirs);
    assert!(
        theirs.starts_with("{:hello, 42, [\"first\", \"second\"], true"),
        "{theirs}"
    );
    client.line("DONE").await;
    client.exited().await;
    dist.stop();
    node.stop().await.unwrap();
}
