//! Erlang distribution throughput, side by side with a BEAM node on the same machine:
//! this program starts epmd, an `erl` server node and an `erl` client node; the client
//! runs the same workload against the ergo node's `echo` actor and against the BEAM
//! server's `echo` gen_server, and the ergo node calls the BEAM server as the client
//! does. Each figure is printed for both, with the ratio ergo / BEAM; then the client
//! workload again over TLS (`erlang_tls.rs`), beside the clear-text figures.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ergo::erlang::{Distribution, Options, Term};
use ergo::prelude::*;

pub(crate) const COOKIE: &str = "ergo_bench_cookie";
pub(crate) const CASTS: u64 = 200_000;
pub(crate) const CALLS: u64 = 20_000;
pub(crate) const ECHOES: u64 = 2_000;
const ECHO_BYTES: usize = 100_000;

/// The BEAM side: the `echo` gen_server (counts casts, echoes calls) and the client.
const ERL_MODULE: &str = r#"
-module(ergo_bench_erl).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2, client/4]).
start() -> {ok, _} = gen_server:start({local, echo}, ?MODULE, 0, []), ok.
init(N) -> {ok, N}.
handle_call(count, _From, N) -> {reply, N, N};
handle_call(X, _From, N) -> {reply, X, N}.
handle_cast(_, N) -> {noreply, N + 1}.
wait_count(T, Want, 0) -> exit({count_not_reached, T, Want});
wait_count(T, Want, Left) ->
    case gen_server:call(T, count, 60000) >= Want of
        true -> ok;
        false -> timer:sleep(1), wait_count(T, Want, Left - 1)
    end.
client(Node, Casts, Calls, Echoes) ->
    T = {echo, Node},
    warm = gen_server:call(T, warm),
    C0 = gen_server:call(T, count),
    {CastUs, _} = timer:tc(fun() ->
        lists:foreach(fun(I) -> gen_server:cast(T, {c, I}) end, lists:seq(1, Casts)),
        wait_count(T, C0 + Casts, 600000) end),
    {CallUs, _} = timer:tc(fun() ->
        lists:foreach(fun(I) -> {e, I} = gen_server:call(T, {e, I}) end, lists:seq(1, Calls)) end),
    Bin = binary:copy(<<7>>, 100000),
    {EchoUs, _} = timer:tc(fun() ->
        lists:foreach(fun(_) -> Bin = gen_server:call(T, Bin) end, lists:seq(1, Echoes)) end),
    io:format("R ~s ~w ~w ~w~n", [Node, CastUs, CallUs, EchoUs]).
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

pub(crate) struct Figures {
    casts_per_s: f64,
    calls_per_s: f64,
    echo_mb_per_s: f64,
}

pub(crate) fn parse(line: &str) -> Figures {
    let us: Vec<f64> = line
        .split_whitespace()
        .skip(2)
        .map(|v| v.parse().expect("a number"))
        .collect();
    Figures {
        casts_per_s: CASTS as f64 / (us[0] / 1e6),
        calls_per_s: CALLS as f64 / (us[1] / 1e6),
        echo_mb_per_s: (ECHOES as f64 * ECHO_BYTES as f64 * 2.0 / 1e6) / (us[2] / 1e6),
    }
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

    let server_name = "ergo_bench_srv@127.0.0.1";
    let mut server = Command::new("erl")
        .args([
            "-name",
            server_name,
            "-setcookie",
            COOKIE,
            "-noshell",
            "-pa",
        ])
        .arg(&dir)
        .args([
            "-eval",
            "ergo_bench_erl:start(), io:format(\"READY~n\"), receive after infinity -> ok end.",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("erl starts");
    // The server is up once ergo reaches its gen_server.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = dist
            .call_term(
                ("echo", server_name),
                Term::atom("warm"),
                Duration::from_secs(1),
            )
            .await;
        if up.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the BEAM server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Erlang client → ergo and → BEAM, in one client node, one after the other.
    let eval = format!(
        "ergo_bench_erl:client('{}', {CASTS}, {CALLS}, {ECHOES}), \
         ergo_bench_erl:client('{server_name}', {CASTS}, {CALLS}, {ECHOES}), halt().",
        node.name()
    );
    let client = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            Command::new("erl")
                .args(["-name", "ergo_bench_cli@127.0.0.1", "-setcookie", COOKIE])
                .args(["-noshell", "-hidden", "-pa"])
                .arg(&dir)
                .args(["-eval", &eval])
                .output()
                .expect("erl starts")
        }
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&client.stdout).into_owned();
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("R ")).collect();
    assert_eq!(lines.len(), 2, "client output: {out}");
    let to_ergo = parse(lines[0]);
    let to_beam = parse(lines[1]);

    // ergo → BEAM sequential calls.
    let start = Instant::now();
    for i in 0..CALLS {
        let req = Term::tuple([Term::atom("e"), Term::Integer(i as i64)]);
        dist.call_term(("echo", server_name), req, Duration::from_secs(30))
            .await
            .unwrap();
    }
    let ergo_calls = CALLS as f64 / start.elapsed().as_secs_f64();

    let _ = server.kill();
    let _ = server.wait();
    dist.stop();
    node.stop().await.unwrap();
    let tls = super::erlang_tls::run(&dir).await;

    println!("| figure | ergo | BEAM | ergo / BEAM |");
    println!("|---|--:|--:|--:|");
    let row = |name: &str, ergo: f64, beam: f64, unit: &str| {
        println!(
            "| {name} | {ergo:.0} {unit} | {beam:.0} {unit} | {:.2} |",
            ergo / beam
        );
    };
    row(
        "Erlang → node casts",
        to_ergo.casts_per_s,
        to_beam.casts_per_s,
        "msgs/s",
    );
    row(
        "Erlang → node sequential calls",
        to_ergo.calls_per_s,
        to_beam.calls_per_s,
        "calls/s",
    );
    row(
        "Erlang → node 100 KB echo",
        to_ergo.echo_mb_per_s,
        to_beam.echo_mb_per_s,
        "MB/s",
    );
    row(
        "node → Erlang sequential calls",
        ergo_calls,
        to_beam.calls_per_s,
        "calls/s",
    );
    println!();
    println!("| over TLS (inet_tls_dist client, mutual TLS) | ergo TLS | ergo clear text | TLS / clear |");
    println!("|---|--:|--:|--:|");
    row(
        "Erlang → node casts",
        tls.casts_per_s,
        to_ergo.casts_per_s,
        "msgs/s",
    );
    row(
        "Erlang → node sequential calls",
        tls.calls_per_s,
        to_ergo.calls_per_s,
        "calls/s",
    );
    row(
        "Erlang → node 100 KB echo",
        tls.echo_mb_per_s,
        to_ergo.echo_mb_per_s,
        "MB/s",
    );
    println!("BENCH erlang_casts_in {:.0} msgs/s", to_ergo.casts_per_s);
    println!("BENCH beam_casts_in {:.0} msgs/s", to_beam.casts_per_s);
    println!("BENCH erlang_calls_in {:.0} calls/s", to_ergo.calls_per_s);
    println!("BENCH beam_calls_in {:.0} calls/s", to_beam.calls_per_s);
    println!("BENCH erlang_echo_100k {:.1} MB/s", to_ergo.echo_mb_per_s);
    println!("BENCH beam_echo_100k {:.1} MB/s", to_beam.echo_mb_per_s);
    println!("BENCH erlang_calls_out {ergo_calls:.0} calls/s");
    println!("BENCH erlang_tls_casts_in {:.0} msgs/s", tls.casts_per_s);
    println!("BENCH erlang_tls_calls_in {:.0} calls/s", tls.calls_per_s);
    println!("BENCH erlang_tls_echo_100k {:.1} MB/s", tls.echo_mb_per_s);
    let _ = std::fs::remove_dir_all(&dir);
}
