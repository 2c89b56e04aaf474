//! A node that runs both the native network and Erlang distribution (with
//! `auto_connect`, which can try any `alive@host`) picks, for each peer, the transport
//! that knows it: an ergo node it has a static route to goes over the native network,
//! an Erlang node (known to no route) over Erlang distribution.

mod support;

use std::time::Duration;

use ergo::erlang::{Distribution, Options};
use ergo::net::{NetOptions, NetworkExt};
use ergo::prelude::*;
use support::{unique, Erl, GUARD};

#[derive(Default)]
struct Echo;

#[actor]
impl Echo {
    #[handle_call]
    fn echo(&mut self, n: u64) -> u64 {
        n
    }
}

const COOKIE: &str = "bothcookie";

#[tokio::test(flavor = "multi_thread")]
async fn each_peer_goes_over_the_transport_that_knows_it() {
    support::ensure_ready();
    // b: the native network only.
    let b_name = format!("{}@127.0.0.1", unique("nb"));
    let b = Node::builder(&b_name)
        .cookie(COOKIE)
        .network(NetOptions::new().registrar(None))
        .start()
        .await
        .unwrap();
    b.spawn_register("echo", Echo).await.unwrap();
    let b_addr = b.listen_addr().unwrap();
    // a: a static route to b, and Erlang distribution that would try b through epmd.
    let a_name = format!("{}@127.0.0.1", unique("na"));
    let a = Node::builder(&a_name)
        .cookie(COOKIE)
        .network(NetOptions::new().registrar(None).route(&b_name, b_addr))
        .start()
        .await
        .unwrap();
    let dist = Distribution::start(&a, Options::default()).await.unwrap();
    let echo: ActorRef<Echo> = tokio::time::timeout(GUARD, a.lookup_remote("echo", &b_name))
        .await
        .expect("in time")
        .expect("b is reached over the native network");
    assert_eq!(
        echo.echo(7).timeout(Duration::from_secs(10)).await.unwrap(),
        7
    );
    assert!(
        dist.nodes().is_empty(),
        "nothing went over Erlang distribution"
    );
    // An Erlang node, unknown to the native network: a send by name connects over
    // Erlang distribution first (both transports can only try; the specific one wins).
    let mut erl = Erl::start(
        &unique("e"),
        COOKIE,
        "ergo_test:start(), ergo_test:say(\"READY\", []), ergo_test:wait_forever().",
    );
    erl.line("READY").await;
    let target = Target::Remote {
        name: "erl_server".into(),
        node: erl.name.as_str().into(),
    };
    a.send(
        target,
        ergo::erlang::GenCast(ergo::erlang::Term::atom("hello")),
    )
    .unwrap();
    erl.line("CAST hello").await;
    assert_eq!(dist.nodes(), vec![erl.name.clone()]);
    dist.stop();
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
