//! ergo ⇄ a real Erlang/OTP node on 127.0.0.1: ping, gen_server calls and casts both
//! ways, a wrong cookie refused on both sides, monitors and links across with the
//! right reasons, a map of every common term type, and a node lost mid-call.

mod support;

use std::time::Duration;

use ergo::erlang::{Distribution, ErlCallError, ErlPid, Options, Term};
use ergo::prelude::*;
use support::{unique, Erl, GUARD};

/// The Rust side of the tests: conventions of `#[actor]` for Erlang callers.
#[derive(Default)]
struct Example {
    casts: Vec<Term>,
    downs: Vec<String>,
    exits: Vec<String>,
}

#[actor]
impl Example {
    /// `{add, N}` → N + 1.
    #[handle_call]
    fn add(&mut self, n: i64) -> i64 {
        n + 1
    }

    /// The atom `hi` → the binary "hello".
    #[handle_call]
    fn hi(&mut self) -> String {
        "hello".into()
    }

    /// `thread` → the name of the thread that runs this handler.
    #[handle_call]
    fn thread(&mut self) -> String {
        std::thread::current().name().unwrap_or("").to_owned()
    }

    /// `whoami` → this process's pid.
    #[handle_call]
    fn whoami(&mut self, ctx: &mut Context<Self>) -> Pid {
        ctx.pid()
    }

    /// `{watch, Pid}`: monitor an Erlang process.
    #[handle_call]
    fn watch(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.monitor(pid).is_ok()
    }

    /// `{link_to, Pid}`: link to an Erlang process, trapping exits.
    #[handle_call]
    fn link_to(&mut self, ctx: &mut Context<Self>, pid: Pid) -> bool {
        ctx.trap_exit(true);
        ctx.link(pid).is_ok()
    }

    /// What this actor saw: casts, downs, exits.
    #[handle_call(local)]
    fn seen(&mut self) -> (Vec<Term>, Vec<String>, Vec<String>) {
        (self.casts.clone(), self.downs.clone(), self.exits.clone())
    }

    /// Anything else: echoed.
    #[handle_call]
    fn echo(&mut self, term: Term) -> Term {
        term
    }

    /// `{die, Why}`: stop with `Why`.
    #[handle_cast]
    fn die(&mut self, ctx: &mut Context<Self>, why: String) {
        ctx.stop(Reason::Error(why));
    }

    /// Any other cast.
    #[handle_cast]
    fn note(&mut self, term: Term) {
        self.casts.push(term);
    }

    #[handle_info]
    fn down(&mut self, down: Down) {
        self.downs.push(down.reason.to_string());
    }

    #[handle_info]
    fn exited(&mut self, exit: Exit) {
        self.exits.push(exit.reason.to_string());
    }
}

struct Rust {
    node: Node,
    dist: Distribution,
    example: ActorRef<Example>,
}

async fn rust_node(cookie: &str) -> Rust {
    let name = format!("{}@127.0.0.1", unique("rs"));
    let node = Node::builder(&name).cookie(cookie).start().await.unwrap();
    // epmd is started by the support module before any node registers.
    support::ensure_ready();
    let dist = Distribution::start(&node, Options::default())
        .await
        .unwrap();
    let example = node
        .spawn_register("example", Example::default())
        .await
        .unwrap();
    Rust {
        node,
        dist,
        example,
    }
}

impl Rust {
    async fn stop(self) {
        self.dist.stop();
        self.node.stop().await.unwrap();
    }
}

fn atom(a: &str) -> Term {
    Term::atom(a)
}

/// A call from Erlang to an idle process runs its handler on the connection reader's
/// tokio worker (hand-off), not on a scheduler thread.
#[tokio::test(flavor = "multi_thread")]
async fn an_erlang_call_runs_on_the_connections_reader_worker() {
    let rust = rust_node("cookiehandoff").await;
    let n = rust.node.name();
    let eval = format!(
        "N = '{n}',
         [ergo_test:say(\"THREAD ~s\", [gen_server:call({{example, N}}, thread)])
          || _ <- [1, 2, 3]],
         halt()."
    );
    let mut erl = Erl::start(&unique("e"), "cookiehandoff", &eval);
    for _ in 0..3 {
        // A worker of the test's runtime, not one of ergo's schedulers.
        let line = erl.line("THREAD").await;
        assert!(line.starts_with("THREAD tokio-"), "{line}");
    }
    erl.exited().await;
    rust.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn erlang_pings_calls_and_casts_a_rust_actor() {
    let rust = rust_node("cookienomnom").await;
    let n = rust.node.name();
    let eval = format!(
        "N = '{n}',
         ergo_test:say(\"PING ~w\", [net_adm:ping(N)]),
         ergo_test:say(\"ADD ~w\", [gen_server:call({{example, N}}, {{add, 5}})]),
         ergo_test:say(\"HI ~p\", [gen_server:call({{example, N}}, hi)]),
         ergo_test:say(\"ECHO ~w\", [gen_server:call({{example, N}}, {{echo, 1, 2, 3}})]),
         ergo_test:say(\"NOPROC ~w\", [catch gen_server:call({{nobody, N}}, hi)]),
         gen_server:cast({{example, N}}, {{cast, 1, 2, 3}}),
         ergo_test:say(\"NODES ~w\", [nodes()]),
         halt()."
    );
    let mut erl = Erl::start(&unique("e"), "cookienomnom", &eval);
    assert_eq!(erl.line("PING").await, "PING pong");
    assert_eq!(erl.line("ADD").await, "ADD 6");
    assert_eq!(erl.line("HI").await, "HI <<\"hello\">>");
    assert_eq!(erl.line("ECHO").await, "ECHO {echo,1,2,3}");
    let noproc = erl.line("NOPROC").await;
    assert!(noproc.contains("noproc"), "{noproc}");
    assert_eq!(erl.line("NODES").await, format!("NODES ['{n}']"));
    erl.exited().await;
    let (casts, _, _) = seen_until(&rust.example, |(casts, _, _)| !casts.is_empty()).await;
    assert_eq!(
        casts,
        vec![Term::tuple([
            atom("cast"),
            Term::Integer(1),
            Term::Integer(2),
            Term::Integer(3)
        ])]
    );
    rust.stop().await;
}

type Seen = (Vec<Term>, Vec<String>, Vec<String>);

/// Asks the actor what it saw until `done` (bounded by the failure guard).
async fn seen_until(example: &ActorRef<Example>, done: impl Fn(&Seen) -> bool) -> Seen {
    tokio::time::timeout(GUARD, async {
        loop {
            let seen = example.seen().await.unwrap();
            if done(&seen) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the actor saw it in time")
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_calls_and_casts_an_erlang_gen_server() {
    let rust = rust_node("cookienomnom").await;
    let mut erl = Erl::start(
        &unique("e"),
        "cookienomnom",
        "ergo_test:start(), ergo_test:say(\"READY\", []), ergo_test:wait_forever().",
    );
    erl.line("READY").await;
    let erl_name = erl.name.clone();
    let server = ("erl_server", erl_name.as_str());
    let t = Duration::from_secs(10);
    let sum: i64 = rust
        .dist
        .call(
            server,
            Term::tuple([atom("add"), Term::Integer(2), Term::Integer(3)]),
            t,
        )
        .await
        .unwrap();
    assert_eq!(sum, 5);
    // A reply of the wrong type is a decode error, not a panic.
    let wrong = rust
        .dist
        .call::<String>(
            server,
            Term::tuple([atom("add"), Term::Integer(2), Term::Integer(3)]),
            t,
        )
        .await;
    assert!(matches!(wrong, Err(ErlCallError::Decode(_))), "{wrong:?}");
    // An unknown name: the callee's monitor answers noproc at once.
    let missing = rust
        .dist
        .call_term(("nobody", erl_name.as_str()), atom("hi"), t)
        .await;
    assert!(
        matches!(&missing, Err(ErlCallError::Exit(r)) if r.is_atom("noproc")),
        "{missing:?}"
    );
    // Every common term type, through Erlang and back.
    let map = Term::Map(vec![
        (atom("atom"), atom("hello")),
        (atom("utf8_atom"), atom("héllo_мир")),
        (atom("small"), Term::Integer(42)),
        (atom("int"), Term::Integer(-100_000)),
        (atom("big"), Term::Integer(i64::MAX)),
        (
            atom("bigger"),
            ergo::erlang::BigInt::into_term(true, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ),
        (atom("float"), Term::Float(3.25)),
        (atom("binary"), Term::binary("bytes")),
        (
            atom("bits"),
            Term::BitBinary {
                bytes: vec![0b1010_0000],
                bits: 3,
            },
        ),
        (
            atom("string"),
            Term::list("abc".bytes().map(|b| Term::Integer(b.into()))),
        ),
        (
            atom("list"),
            Term::list([Term::Integer(1), atom("two"), Term::Float(3.0)]),
        ),
        (
            atom("improper"),
            Term::ImproperList(vec![Term::Integer(1)], Box::new(atom("tail"))),
        ),
        (atom("nil"), Term::nil()),
        (atom("tuple"), Term::tuple([atom("a"), Term::tuple([])])),
        (atom("pid"), Term::Pid(rust.dist.pid())),
        (
            atom("nested"),
            Term::Map(vec![(Term::binary("k"), Term::Integer(1))]),
        ),
    ]);
    let back = rust.dist.call_term(server, map.clone(), t).await.unwrap();
    let Term::Map(mut got) = back else {
        panic!("not a map: {back}")
    };
    let Term::Map(mut want) = map else {
        unreachable!()
    };
    let key = |p: &(Term, Term)| p.0.to_string();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got, want);
    // Binaries large enough to be written from where they are cross whole.
    let big = Term::tuple([
        Term::Binary((0..100_000u32).map(|i| i as u8).collect()),
        Term::list([Term::Binary(vec![7; 20_000]), atom("end")]),
    ]);
    assert_eq!(
        rust.dist.call_term(server, big.clone(), t).await.unwrap(),
        big
    );
    // A cast arrives as the gen_server's handle_cast.
    rust.dist
        .cast(server, Term::tuple([atom("hello"), Term::Integer(7)]))
        .await
        .unwrap();
    assert_eq!(erl.line("CAST").await, "CAST {hello,7}");
    // A plain send arrives as handle_info.
    rust.dist.send(server, atom("ping")).await.unwrap();
    assert_eq!(erl.line("INFO").await, "INFO ping");
    rust.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_erlang_peer_is_reported_with_its_bytes_and_messages() {
    let rust = rust_node("cookienomnom").await;
    let mut erl = Erl::start(
        &unique("e"),
        "cookienomnom",
        "ergo_test:start(), ergo_test:say(\"READY\", []), ergo_test:wait_forever().",
    );
    erl.line("READY").await;
    let erl_name = erl.name.clone();
    let server = ("erl_server", erl_name.as_str());
    let t = Duration::from_secs(10);
    for i in 0..20 {
        let sum: i64 = rust
            .dist
            .call(
                server,
                Term::tuple([atom("add"), Term::Integer(i), Term::Integer(1)]),
                t,
            )
            .await
            .unwrap();
        assert_eq!(sum, i + 1);
    }
    let stats = rust.node.transport_stats();
    let erlang = stats
        .iter()
        .find(|s| s.transport == "erlang")
        .expect("the Erlang transport reports");
    assert!(
        erlang
            .registrar
            .as_deref()
            .is_some_and(|r| r.starts_with("epmd")),
        "{erlang:?}"
    );
    let peer = erlang
        .peers
        .iter()
        .find(|p| p.node.to_string() == erl_name)
        .unwrap_or_else(|| panic!("{erl_name} listed: {erlang:?}"));
    // 20 calls out and 20 replies in, at least (plus what the handshake and
    // monitors exchanged).
    assert!(
        peer.messages_out >= 20 && peer.messages_in >= 20,
        "{peer:?}"
    );
    assert!(peer.bytes_out > peer.messages_out && peer.bytes_in > peer.messages_in);
    assert_eq!((peer.connections, peer.pool_size), (1, 1));
    rust.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_cookie_is_refused_on_both_sides() {
    let rust = rust_node("right-cookie").await;
    let n = rust.node.name();
    let eval = format!(
        "ergo_test:say(\"PING ~w\", [net_adm:ping('{n}')]), ergo_test:say(\"UP\", []), ergo_test:wait_forever()."
    );
    let mut erl = Erl::start(&unique("e"), "wrong-cookie", &eval);
    assert_eq!(erl.line("PING").await, "PING pang");
    erl.line("UP").await;
    let r = rust.dist.connect(&erl.name).await;
    assert!(
        matches!(
            r,
            Err(ergo::erlang::DistError::Handshake(
                ergo::erlang::handshake::HandshakeError::BadCookie(_)
            ))
        ),
        "{r:?}"
    );
    assert!(rust.dist.nodes().is_empty());
    rust.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn monitors_and_links_work_across_in_both_directions() {
    let rust = rust_node("cookienomnom").await;
    let n = rust.node.name();
    let eval = format!(
        "N = '{n}', process_flag(trap_exit, true),
         Rust = gen_server:call({{example, N}}, whoami),
         Ref = erlang:monitor(process, Rust),
         true = link(Rust),
         P = spawn(fun() -> receive die -> exit(bye) end end),
         true = gen_server:call({{example, N}}, {{watch, P}}),
         Q = spawn(fun() -> receive die -> exit(bye2) end end),
         true = gen_server:call({{example, N}}, {{link_to, Q}}),
         P ! die, Q ! die,
         ergo_test:say(\"SENT\", []),
         receive {{'DOWN', Ref, process, Rust, R1}} -> ergo_test:say(\"DOWN ~w\", [R1]) end,
         receive {{'EXIT', Rust, R2}} -> ergo_test:say(\"EXIT ~w\", [R2]) end,
         halt()."
    );
    let mut erl = Erl::start(&unique("e"), "cookienomnom", &eval);
    erl.line("SENT").await;
    // Rust saw the Erlang processes die, with their reasons.
    let (_, downs, exits) =
        seen_until(&rust.example, |(_, d, e)| !d.is_empty() && !e.is_empty()).await;
    assert_eq!(downs, vec!["error: bye".to_string()]);
    assert_eq!(exits, vec!["error: bye2".to_string()]);
    // Erlang sees the Rust process die, with its reason, through both.
    rust.example.die("boom".to_string()).unwrap();
    assert_eq!(erl.line("DOWN").await, "DOWN boom");
    assert_eq!(erl.line("EXIT").await, "EXIT boom");
    erl.exited().await;
    rust.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_lost_mid_call_fails_the_call_and_fires_noconnection() {
    let rust = rust_node("cookienomnom").await;
    let mut erl = Erl::start(
        &unique("e"),
        "cookienomnom",
        "ergo_test:start(), ergo_test:say(\"READY\", []), ergo_test:wait_forever().",
    );
    erl.line("READY").await;
    let erl_name = erl.name.clone();
    let server = ("erl_server", erl_name.as_str());
    let t = Duration::from_secs(20);
    // A Rust process monitors the Erlang gen_server.
    let pid: ErlPid = rust.dist.call(server, atom("self_pid"), t).await.unwrap();
    assert!(rust.example.watch(pid.to_pid()).await.unwrap());
    // The Erlang node halts while handling our call: an error, not a hang.
    let r = rust.dist.call_term(server, atom("halt_node"), t).await;
    assert!(matches!(r, Err(ErlCallError::NoConnection(_))), "{r:?}");
    erl.exited().await;
    let (_, downs, _) = seen_until(&rust.example, |(_, d, _)| !d.is_empty()).await;
    assert_eq!(downs, vec!["noconnection".to_string()]);
    assert!(rust.dist.nodes().is_empty());
    rust.stop().await;
}

/// Item 8: terms OTP refuses (an atom over 255 characters, a map with a key twice) are
/// refused at encode time with a typed error, the connection left up; a term nested
/// deeper than the decoder's limit fails the call at once with a decode error, both
/// ways, instead of a silent drop and a timeout.
#[tokio::test(flavor = "multi_thread")]
async fn refused_and_too_deep_terms_get_clear_errors() {
    use ergo::erlang::etf::{DecodeError, EncodeError};
    use ergo::erlang::DistError;
    let rust = rust_node("cookienomnom").await;
    let n = rust.node.name();
    let eval = format!(
        "ergo_test:start(),
         Deep = lists:foldl(fun(_, T) -> {{T}} end, x, lists:seq(1, 600)),
         ergo_test:say(\"DEEP ~w\", [gen_server:call({{example, '{n}'}}, {{echo, Deep}}, 5000)]),
         ergo_test:say(\"AFTER ~w\", [gen_server:call({{example, '{n}'}}, {{add, 1}})]),
         ergo_test:wait_forever()."
    );
    let mut erl = Erl::start(&unique("e"), "cookienomnom", &eval);
    // Erlang's deep request: an error reply at once, the connection stays up.
    assert_eq!(erl.line("DEEP").await, "DEEP {error,{too_deep,512}}");
    assert_eq!(erl.line("AFTER").await, "AFTER 2");
    let erl_name = erl.name.clone();
    let server = ("erl_server", erl_name.as_str());
    let t = Duration::from_secs(10);
    let long = rust
        .dist
        .call_term(server, Term::atom(&"a".repeat(256)), t)
        .await;
    assert!(
        matches!(
            long,
            Err(ErlCallError::Dist(DistError::Encode(
                EncodeError::AtomTooLong(256)
            )))
        ),
        "{long:?}"
    );
    let dup = Term::Map(vec![(atom("k"), atom("a")), (atom("k"), atom("b"))]);
    let dup = rust.dist.call_term(server, dup, t).await;
    assert!(
        matches!(
            dup,
            Err(ErlCallError::Dist(DistError::Encode(
                EncodeError::DuplicateMapKey
            )))
        ),
        "{dup:?}"
    );
    // 255 characters (multi-byte ones included) are fine.
    let ok = Term::atom(&"é".repeat(255));
    assert_eq!(
        rust.dist.call_term(server, ok.clone(), t).await.unwrap(),
        ok
    );
    // A deep reply (Erlang echoes a deep request): a decode error, not a timeout.
    let deep = (0..600).fold(atom("x"), |t, _| Term::tuple([t]));
    let r = rust
        .dist
        .call_term(server, deep, Duration::from_secs(600))
        .await;
    assert!(
        matches!(
            r,
            Err(ErlCallError::Dist(DistError::Decode(DecodeError::TooDeep)))
        ),
        "{r:?}"
    );
    // The connection is still up.
    let sum: i64 = rust
        .dist
        .call(
            server,
            Term::tuple([atom("add"), Term::Integer(2), Term::Integer(3)]),
            t,
        )
        .await
        .unwrap();
    assert_eq!(sum, 5);
    rust.stop().await;
}
