use ergo::prelude::*;

#[derive(Default)]
struct Counter(u64);

#[actor]
impl Counter {
    #[handle_cast]
    fn reset(&mut self) {
        self.0 = 0;
    }
}

async fn run(counter: ActorRef<Counter>) {
    // A cast has no reply: it returns at once, there is nothing to await.
    let _ = counter.reset().await;
}

fn main() {
    let _ = run;
}
