use ergo::prelude::*;

#[actor]
struct Counter {
    count: u64,
}

fn main() {}
