use ergo::prelude::*;

#[derive(Default)]
struct Worker;

#[actor]
impl Worker {
    #[handle_call]
    fn ping(&mut self) -> u32 {
        1
    }
}

supervisor! {
    Sup: one_for_one(intensity = 3, period = 5 seconds) {
        worker: Worker,
    }
}

supervisor! {
    Sup2: one_for_one(period = 5h) {
        worker: Worker,
    }
}

fn main() {}
