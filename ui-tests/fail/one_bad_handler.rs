// One handler breaks a rule: that one error is reported, and the calls to the valid
// handlers (a call, a cast, an info message, the init's arguments) still type-check.
use ergo::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Tick;

#[derive(Default)]
struct Counter(u64);

#[actor]
impl Counter {
    #[init]
    fn start(&mut self, n: u64) {
        self.0 = n;
    }

    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.0 += n;
        self.0
    }

    #[handle_cast]
    fn reset(&mut self) {
        self.0 = 0;
    }

    #[handle_info]
    fn tick(&mut self, _: Tick) {
        self.0 += 1;
    }

    #[handle_call]
    fn broken(&self) -> u64 {
        self.0
    }
}

async fn use_it(node: Node) -> Result<(), Box<dyn std::error::Error>> {
    let counter = node
        .spawn_with(Counter::default(), 5, SpawnOptions::new())
        .await?;
    let n: u64 = counter.add(1).await?;
    counter.reset()?;
    counter.send(Tick)?;
    let _ = n;
    Ok(())
}

fn main() {
    let _ = use_it;
}
