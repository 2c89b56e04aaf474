use ergo::prelude::*;

#[derive(Default)]
struct Counter(u64);

#[actor]
impl Counter {
    #[handle_info]
    fn tick(&mut self, n: u64) {
        self.0 += n;
    }
}

struct Unrelated;

fn run(counter: ActorRef<Counter>) {
    counter.send(5u64).unwrap();
    let _ = counter.send(Unrelated);
}

fn main() {
    let _ = run;
}
