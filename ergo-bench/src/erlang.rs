//! Erlang distribution throughput, side by side with a BEAM node on the same machine:
//! this program starts epmd, an `erl` server node and an `erl` client node, both
//! running the `echo` gen_server. In each of [`ROUNDS`] rounds the client runs every
//! workload against the ergo node's `echo` actor and against the BEAM server's (the
//! order alternating between rounds), and the ergo node calls the BEAM server while the
//! client does the same. Each figure is printed for both (median over the rounds) with
//! the median of the rounds' ratios ergo / BEAM: a round's two runs are close in time,
//! so the ratio holds up better than the absolute figures on a loaded machine.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ergo::erlang::{Distribution, Options, Term};
use ergo::prelude::*;

const COOKIE: &str = "ergo_bench_cookie";
const ROUNDS: u64 = 5;
const CASTS: u64 = 200_000;
const CALLS: u64 = 20_000;
const ECHOES: u64 = 2_000;
const ECHO_BYTES: usize = 100_000;

/// The BEAM side: the `echo` gen_server (counts casts, echoes calls) on both BEAM
/// nodes; `{drive, Workload, Count, Node}` runs a workload against `{echo, Node}` and
/// answers the microseconds it took.
const ERL_MODULE: &str = r#"
-module(ergo_bench_erl).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2]).
start() -> {ok, _} = gen_server:start({local, echo}, ?MODULE, 0, []), ok.
init(N) -> {ok, N}.
handle_call(count, _From, N) -> {reply, N, N};
handle_call({drive, What, Count, Node}, From, N) ->
    spawn(fun() -> gen_server:reply(From, drive(What, Count, {echo, Node})) end),
    {noreply, N};
handle_call(X, _From, N) -> {reply, X, N}.
handle_cast(_, N) -> {noreply, N + 1}.
wait_count(T, Want, 0) -> exit({count_not_reached, T, Want});
wait_count(T, Want, Left) ->
    case gen_server:call(T, count, 60000) >= Want of
        true -> ok;
        false -> timer:sleep(1), wait_count(T, Want, Left - 1)
    end.
drive(casts, Count, T) ->
    C0 = gen_server:call(T, count),
    {Us, _} = timer:tc(fun() ->
        lists:foreach(fun(I) -> gen_server:cast(T, {c, I}) end, lists:seq(1, Count)),
        wait_count(T, C0 + Count, 600000) end),
    Us;
drive(calls, Count, T) ->
    {Us, _} = timer:tc(fun() ->
        lists:foreach(fun(I) -> {e, I} = gen_server:call(T, {e, I}) end, lists:seq(1, Count)) end),
    Us;
drive(echo, Count, T) ->
    Bin = binary:copy(<<7>>, 100000),
    {Us, _} = timer:tc(fun() ->
        lists:foreach(fun(_) -> Bin = gen_server:call(T, Bin) end, lists:seq(1, Count)) end),
    Us.
"#;

/// The ergo side of the workload.
#[derive(Default)]
pub struct Echo {
    casts: i64,
}

#[actor]
impl Echo {
    #[handle_call]
    fn count(&mut self) -> i64 {
        self.casts
    }

    /// Any other call: echoed.
    #[handle_call]
    fn echo(&mut self, term: Term) -> Term {
        term
    }

    /// Any cast: counted.
    #[handle_cast]
    fn note(&mut self, _term: Term) {
        self.casts += 1;
    }
}

/// Starts a BEAM node running the `echo` gen_server.
fn beam_node(name: &str, dir: &std::path::Path, hidden: bool) -> Child {
    let mut cmd = Command::new("erl");
    cmd.args(["-name", name, "-setcookie", COOKIE, "-noshell"]);
    if hidden {
        cmd.arg("-hidden");
    }
    cmd.arg("-pa")
        .arg(dir)
        .args([
            "-eval",
            "ergo_bench_erl:start(), receive after infinity -> ok end.",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("erl starts")
}

/// Calls `req` on the `echo` of `node` (bounded wait for a node that is starting).
async fn call(dist: &Distribution, node: &str, req: Term, wait: Duration) -> Term {
    let deadline = Instant::now() + wait;
    loop {
        match dist
            .call_term(("echo", node), req.clone(), Duration::from_secs(600))
            .await
        {
            Ok(t) => return t,
            Err(e) => {
                assert!(Instant::now() < deadline, "{node} does not answer: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The client runs `what` (`count` times) against `{echo, target}`: microseconds.
async fn drive(dist: &Distribution, client: &str, what: &str, count: u64, target: &str) -> f64 {
    let req = Term::tuple([
        Term::atom("drive"),
        Term::atom(what),
        Term::Integer(count as i64),
        Term::atom(target),
    ]);
    match call(dist, client, req, Duration::ZERO).await {
        Term::Integer(us) => us as f64,
        other => panic!("the client answered {other}"),
    }
}

/// This node calls the BEAM server `count` times: microseconds.
async fn calls_out(dist: &Distribution, server: &str, count: u64) -> f64 {
    let start = Instant::now();
    for i in 0..count {
        let req = Term::tuple([Term::atom("e"), Term::Integer(i as i64)]);
        dist.call_term(("echo", server), req, Duration::from_secs(30))
            .await
            .unwrap();
    }
    start.elapsed().as_secs_f64() * 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub async fn run() {
    let dir = std::env::temp_dir().join(format!("ergo-bench-erl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ergo_bench_erl.erl"), ERL_MODULE).unwrap();
    let ok = Command::new("erlc")
        .arg("-o")
        .arg(&dir)
        .arg(dir.join("ergo_bench_erl.erl"))
        .status()
        .expect("erlc is installed (apt-get install erlang-base)");
    assert!(ok.success(), "erlc failed");
    let _ = Command::new("epmd")
        .args(["-daemon", "-address", "127.0.0.1"])
        .status();

    let node = Node::builder("ergo_bench@127.0.0.1")
        .cookie(COOKIE)
        .start()
        .await
        .unwrap();
    let dist = Distribution::start(&node, Options::default())
        .await
        .unwrap();
    node.spawn_register("echo", Echo::default()).await.unwrap();
    let me = node.name().to_string();

    let server = "ergo_bench_srv@127.0.0.1";
    let client = "ergo_bench_cli@127.0.0.1";
    let mut beams = [
        beam_node(server, &dir, false),
        beam_node(client, &dir, true),
    ];
    for n in [server, client] {
        call(&dist, n, Term::atom("warm"), Duration::from_secs(30)).await;
    }
    // Warm-up: every path once.
    for target in [me.as_str(), server] {
        drive(&dist, client, "calls", 200, target).await;
        drive(&dist, client, "echo", 20, target).await;
    }
    calls_out(&dist, server, 200).await;

    // (name, unit, per-operation size in units, operations per round)
    let rows: [(&str, &str, f64, u64); 4] = [
        ("Erlang → node casts", "msgs/s", 1.0, CASTS / ROUNDS),
        (
            "Erlang → node sequential calls",
            "calls/s",
            1.0,
            CALLS / ROUNDS,
        ),
        (
            "Erlang → node 100 KB echo",
            "MB/s",
            ECHO_BYTES as f64 * 2.0 / 1e6,
            ECHOES / ROUNDS,
        ),
        (
            "node → Erlang sequential calls",
            "calls/s",
            1.0,
            CALLS / ROUNDS,
        ),
    ];
    let mut figures: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); rows.len()];
    for round in 0..ROUNDS {
        for (i, &(_, _, size, count)) in rows.iter().enumerate() {
            let what = ["casts", "calls", "echo", "calls"][i];
            let ergo_first = round % 2 == 0;
            let mut us = [0.0; 2]; // [ergo, BEAM]
            for turn in 0..2 {
                let ergo = (turn == 0) == ergo_first;
                let t = if i == 3 {
                    // The ergo node calls the BEAM server; the client does the same.
                    if ergo {
                        calls_out(&dist, server, count).await
                    } else {
                        drive(&dist, client, what, count, server).await
                    }
                } else {
                    drive(&dist, client, what, count, if ergo { &me } else { server }).await
                };
                us[usize::from(!ergo)] = t;
            }
            let rate = |us: f64| count as f64 * size / (us / 1e6);
            figures[i].0.push(rate(us[0]));
            figures[i].1.push(rate(us[1]));
        }
    }

    for b in &mut beams {
        let _ = b.kill();
        let _ = b.wait();
    }
    dist.stop();
    node.stop().await.unwrap();

    println!("| figure | ergo | BEAM | ergo / BEAM (median of {ROUNDS} rounds, min–max) |");
    println!("|---|--:|--:|--:|");
    let keys = [
        ("erlang_casts_in", "beam_casts_in"),
        ("erlang_calls_in", "beam_calls_in"),
        ("erlang_echo_100k", "beam_echo_100k"),
        ("erlang_calls_out", "beam_calls_out"),
    ];
    for (i, (name, unit, _, _)) in rows.iter().enumerate() {
        let (ergo, beam) = &figures[i];
        let ratios: Vec<f64> = ergo.iter().zip(beam).map(|(e, b)| e / b).collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let (e, b, r) = (median(ergo.clone()), median(beam.clone()), median(ratios));
        println!("| {name} | {e:.0} {unit} | {b:.0} {unit} | {r:.2} ({lo:.2}–{hi:.2}) |");
        println!("BENCH {} {e:.1} {unit}", keys[i].0);
        println!("BENCH {} {b:.1} {unit}", keys[i].1);
        println!("BENCH {}_ratio {r:.3}", keys[i].0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
