use ergo::prelude::*;

struct Counter(u64);

#[actor]
impl Counter {
    #[handle_call]
    fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
