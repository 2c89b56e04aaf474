use ergo::prelude::*;

struct Counter;

#[actor]
impl Counter {
    #[handle_cast]
    fn finish(self) {}
}

fn main() {}
