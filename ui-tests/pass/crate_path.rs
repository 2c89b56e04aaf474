// `#[actor(crate = path)]` for a renamed `ergo`; the attributes by full path.
#![deny(warnings)]

use ergo as actors;

pub struct Renamed;

#[actors::actor(crate = actors)]
impl Renamed {
    #[actors::handle_call(local)]
    fn ping(&mut self) -> &'static str {
        "pong"
    }
}

fn main() {
    fn is_actor<A: actors::Actor>() {}
    is_actor::<Renamed>();
}
