// A syntax error inside the block is reported once, by rustc, where it is.
use ergo::prelude::*;

struct Counter(u64);

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.0 += n
        self.0
    }
}

fn main() {}
