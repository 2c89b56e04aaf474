use ergo::prelude::*;

struct Counter(u64);

#[actor]
impl Counter {
    #[handle_cast]
    fn bump(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

fn main() {}
