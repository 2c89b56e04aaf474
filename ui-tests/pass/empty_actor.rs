// An actor without handlers is still an actor (it can be spawned, monitored, stopped).
#![deny(warnings)]

use ergo::prelude::*;

pub struct Idle;

#[actor]
impl Idle {}

fn main() {
    fn is_actor<A: Actor<Args = ()>>() {}
    is_actor::<Idle>();
}
