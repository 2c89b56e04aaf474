// A child's accessor would be hidden by a method of the supervisor's `ActorRef`.
use ergo::prelude::*;

#[derive(Default)]
struct Worker;

#[actor]
impl Worker {
    #[handle_call]
    fn ping(&mut self) {}
}

supervisor! {
    Sup: one_for_one {
        stop: Worker,
        is_local: Worker,
    }
}

fn main() {}
