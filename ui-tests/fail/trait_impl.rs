use ergo::prelude::*;

struct Counter;

trait Named {
    fn name(&self) -> &'static str;
}

#[actor]
impl Named for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }
}

fn main() {}
