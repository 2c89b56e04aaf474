use ergo::prelude::*;

struct Counter;

#[actor]
impl Counter {
    #[handle_call]
    fn add(n: u64) -> u64 {
        n
    }
}

fn main() {}
