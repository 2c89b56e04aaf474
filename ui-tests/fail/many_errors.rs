// Every mistake is reported in one compile, each at its own span.
use ergo::prelude::*;

struct Counter(u64);

#[actor]
impl Counter {
    #[handle_call]
    fn get(&self) -> u64 {
        self.0
    }

    #[handle_call]
    fn add<T>(&mut self, n: T) {
        let _ = n;
    }

    #[terminate]
    async fn bye(&mut self) {}

    #[init]
    fn one(&mut self) {}

    #[init]
    fn two(&mut self) {}
}

fn main() {}
