// A call is a request to await: used with `?` before `.await`, the error says to
// await it.
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

async fn run(counter: ActorRef<Counter>) -> Result<u64, CallError> {
    let n = counter.add(1)?;
    Ok(n)
}

fn main() {
    let _ = run;
}
