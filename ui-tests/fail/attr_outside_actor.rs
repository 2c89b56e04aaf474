use ergo::prelude::*;

struct Counter(u64);

impl Counter {
    #[handle_call]
    fn get(&mut self) -> u64 {
        self.0
    }
}

#[handle_info]
fn free_function(_msg: u64) {}

fn main() {}
