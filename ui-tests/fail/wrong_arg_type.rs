use ergo::prelude::*;

#[derive(Default)]
struct Counter(u64);

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.0 += n;
        self.0
    }
}

async fn run(counter: ActorRef<Counter>) {
    let _ = counter.add("five").await;
}

fn main() {
    let _ = run;
}
