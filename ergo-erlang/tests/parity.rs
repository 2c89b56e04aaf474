//! ergo behaves like a BEAM node: the same Erlang client code (`ergo_twin:run/4` in
//! `erl/ergo_twin.erl`) runs against the ergo node's `Twin` actor and against a control
//! BEAM node's `ergo_twin` gen_server, in the same test, and the two answers must be
//! equal. Plus the signals a BEAM node refuses, and a node that comes back under the
//! same name, checked with a scripted peer against both.

mod support;

use std::time::Duration;

use ergo::erlang::{Distribution, FromTerm, Options, Term, TermError};
use ergo::prelude::*;
use support::{unique, Erl};

/// Any term as one handler argument (a lone `Term` parameter would catch every message).
#[derive(serde::Serialize, serde::Deserialize)]
struct Any(Term);

impl FromTerm for Any {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        Ok(Any(term.clone()))
    }
}

/// The Rust twin of `ergo_twin`'s gen_server.
#[derive(Default)]
struct Twin {
    seen: Vec<Term>,
}

#[actor]
impl Twin {
    #[handle_call]
    fn self_pid(&mut self, ctx: &mut Context<Self>) -> Pid {
        ctx.pid()
    }

    /// A new, unregistered twin.
    #[handle_call]
    async fn fresh(&mut self, ctx: &mut Context<Self>) -> Pid {
        ctx.spawn(Twin::default()).await.unwrap().pid()
    }

    /// `{slow, Ms, X}`: answers X after Ms milliseconds (a deferred reply).
    #[handle_call]
    fn slow(&mut self, ctx: &mut Context<Self>, ms: i64, x: Term, reply: ReplyTo<Term>) {
        ctx.spawn_blocking_reply(reply, move || {
            std::thread::sleep(Duration::from_millis(ms as u64));
            x
        });
    }

    /// A handler that panics.
    #[handle_call]
    fn crash(&mut self) -> Term {
        panic!("boom")
    }

    /// `{stop_with, R}`: stops with the reason R without replying (`{stop, R, S}`).
    #[handle_call]
    fn stop_with(&mut self, ctx: &mut Context<Self>, why: Any, reply: ReplyTo<Term>) {
        ctx.stop(Reason::from(why.0));
        drop(reply);
    }

    #[handle_call]
    fn link_to(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.trap_exit(true);
        ctx.link(pid).is_ok()
    }

    #[handle_call]
    fn monitor_pid(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.monitor(pid).is_ok()
    }

    #[handle_call]
    fn monitor_name(&mut self, ctx: &mut Context<Self>, name: String, node: String) -> bool {
        let target = Target::Remote {
            name: name.as_str().into(),
            node: node.as_str().into(),
        };
        ctx.monitor(target).is_ok()
    }

    #[handle_call]
    fn send_name(
        &mut self,
        ctx: &mut Context<Self>,
        name: String,
        node: String,
        msg: Term,
    ) -> bool {
        let target = Target::Remote {
            name: name.as_str().into(),
            node: node.as_str().into(),
        };
        ctx.send(target, msg).is_ok()
    }

    /// What this twin saw: `{exit, Reason}` and `{down, Reason}`, in order.
    #[handle_call]
    fn seen(&mut self) -> Term {
        Term::list(self.seen.clone())
    }

    /// `{exit_with, R}`: stops with the reason R.
    #[handle_cast]
    fn exit_with(&mut self, ctx: &mut Context<Self>, why: Any) {
        ctx.stop(Reason::from(why.0));
    }

    #[handle_info]
    fn exited(&mut self, exit: Exit) {
        let reason = ergo::erlang::reason::reason_to_term(&exit.reason);
        self.seen.push(Term::tuple([Term::atom("exit"), reason]));
    }

    #[handle_info]
    fn down(&mut self, down: Down) {
        let reason = ergo::erlang::reason::reason_to_term(&down.reason);
        self.seen.push(Term::tuple([Term::atom("down"), reason]));
    }
}

struct Rust {
    node: Node,
    dist: Distribution,
}

async fn rust_node(cookie: &str) -> Rust {
    support::ensure_ready();
    let name = format!("{}@127.0.0.1", unique("rs"));
    let node = Node::builder(&name).cookie(cookie).start().await.unwrap();
    let dist = Distribution::start(&node, Options::default())
        .await
        .unwrap();
    node.spawn_register("twin", Twin::default()).await.unwrap();
    Rust { node, dist }
}

impl Rust {
    async fn stop(self) {
        self.dist.stop();
        self.node.stop().await.unwrap();
    }
}

const COOKIE: &str = "paritycookie";

/// A control BEAM node running the `twin` gen_server.
async fn beam_node() -> Erl {
    let mut erl = Erl::start(
        &unique("beam"),
        COOKIE,
        "ergo_twin:start(), ergo_test:say(\"READY\", []), ergo_test:wait_forever().",
    );
    erl.line("READY").await;
    erl
}

/// Runs the scenarios from a hidden client node against both and asserts that every
/// answer of the ergo node equals the control node's.
async fn same_answers(scenarios: &[&str]) {
    let rust = rust_node(COOKIE).await;
    let beam = beam_node().await;
    let mut third = Erl::start(
        &unique("d"),
        COOKIE,
        "ergo_test:say(\"READY\", []), ergo_test:wait_forever().",
    );
    third.line("READY").await;
    let list: Vec<String> = scenarios.iter().map(|s| format!("\"{s}\"")).collect();
    let eval = format!(
        "ergo_twin:run([{}], '{}', '{}', '{}'), halt().",
        list.join(","),
        rust.node.name(),
        beam.name,
        third.name
    );
    let mut client = Erl::start_with(&unique("c"), COOKIE, &["-hidden"], &eval);
    for s in scenarios {
        let ours = client.line(&format!("S {s} rust")).await;
        let theirs = client.line(&format!("S {s} beam")).await;
        let ours = ours.strip_prefix(&format!("S {s} rust ")).unwrap();
        let theirs = theirs.strip_prefix(&format!("S {s} beam ")).unwrap();
        assert_eq!(
            ours, theirs,
            "scenario {s}: ergo answered {ours}, BEAM {theirs}"
        );
    }
    client.line("DONE").await;
    client.exited().await;
    rust.stop().await;
}

/// Item 1: a reply after the caller's timeout is dropped (the reply goes to the
/// caller's alias), a reply in time arrives.
#[tokio::test(flavor = "multi_thread")]
async fn a_late_reply_is_dropped_as_by_a_beam_node() {
    same_answers(&["alias"]).await;
}

/// Item 2: a handler that crashes makes the call exit with the process's exit reason;
/// a handler that stops without replying makes it exit with the stop reason.
#[tokio::test(flavor = "multi_thread")]
async fn a_crashing_call_exits_with_the_crash_reason_as_on_a_beam_node() {
    same_answers(&["crash", "stop_in_call"]).await;
}

/// Item 3: exit reasons keep their shape both ways through links and monitors.
#[tokio::test(flavor = "multi_thread")]
async fn exit_reasons_keep_their_shape_as_on_a_beam_node() {
    same_answers(&["reasons_to_erlang", "killed", "reasons_from_erlang"]).await;
}
