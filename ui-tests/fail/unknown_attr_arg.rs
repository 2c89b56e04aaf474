use ergo::prelude::*;

struct Counter(u64);

#[actor(name = "counter")]
impl Counter {
    #[handle_call(timeout = 5)]
    fn get(&mut self) -> u64 {
        self.0
    }

    #[init(local)]
    fn start(&mut self) {}
}

fn main() {}
