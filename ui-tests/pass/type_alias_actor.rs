// Generic actors are rejected; a type alias fixing the parameters is a concrete actor.
#![deny(warnings)]

use ergo::prelude::*;

pub struct Store<T> {
    items: Vec<T>,
}

pub type Numbers = Store<u64>;

#[actor]
impl Numbers {
    #[handle_call]
    fn push(&mut self, n: u64) -> usize {
        self.items.push(n);
        self.items.len()
    }
}

async fn run(node: Node) -> Result<usize, Box<dyn std::error::Error>> {
    let numbers: ActorRef<Numbers> = node.spawn(Store { items: Vec::new() }).await?;
    Ok(numbers.push(1).await?)
}

fn main() {
    let _ = run;
}
