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
    Sup: one_for_one {
        worker: Worker,
        worker: Worker,
    }
}

fn main() {}
