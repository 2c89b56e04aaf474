//! What `sys:get_state/1` reads of an `#[actor]`: the state as a term for an actor that
//! implements `StateTerm`, its `Debug` text for one that implements `Debug`, nothing
//! for one that does neither (Erlang then sees `undefined`).

use ergo::erlang::{StateTerm, Term};
use ergo::prelude::*;
use ergo::system::{StateView, SystemReply, SystemRequest};

#[derive(Debug, Default)]
struct Shown {
    n: i64,
}

#[actor]
impl Shown {
    #[handle_call]
    fn get(&mut self) -> i64 {
        self.n
    }
}

#[derive(Default)]
struct AsTerm {
    n: i64,
}

impl StateTerm for AsTerm {
    fn state_term(&self) -> Term {
        Term::tuple([Term::atom("n"), Term::Integer(self.n)])
    }
}

#[actor]
impl AsTerm {
    #[handle_call]
    fn get(&mut self) -> i64 {
        self.n
    }
}

#[derive(Default)]
struct Opaque;

#[actor]
impl Opaque {
    #[handle_call]
    fn get(&mut self) -> i64 {
        0
    }
}

async fn state_of(node: &Node, pid: Pid) -> StateView {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let answer = Box::new(move |reply: SystemReply| {
        if let SystemReply::State(view) = reply {
            let _ = tx.send(view);
        }
    });
    assert!(node.system_request(pid, SystemRequest::GetState, answer));
    rx.await.expect("an answer")
}

#[tokio::test]
async fn the_state_is_a_term_where_the_actor_offers_one_else_its_debug_text() {
    let node = Node::builder("state_term@127.0.0.1").start().await.unwrap();
    let shown = node.spawn(Shown { n: 3 }).await.unwrap();
    let as_term = node.spawn(AsTerm { n: 4 }).await.unwrap();
    let opaque = node.spawn(Opaque).await.unwrap();

    let s = state_of(&node, shown.pid()).await;
    assert_eq!(s.debug.as_deref(), Some("Shown { n: 3 }"));
    assert!(s.value.is_none());

    let s = state_of(&node, as_term.pid()).await;
    let term = s
        .value
        .expect("a value")
        .downcast::<Term>()
        .expect("a term");
    assert_eq!(*term, Term::tuple([Term::atom("n"), Term::Integer(4)]));

    let s = state_of(&node, opaque.pid()).await;
    assert!(s.debug.is_none() && s.value.is_none());
    node.stop().await.unwrap();
}
