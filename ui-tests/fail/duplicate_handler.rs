use ergo::prelude::*;

struct Counter(u64);

#[actor]
impl Counter {
    #[handle_call]
    fn get(&mut self) -> u64 {
        self.0
    }

    #[handle_cast]
    fn get(&mut self) {}
}

fn main() {}
