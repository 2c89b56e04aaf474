use ergo::prelude::*;

#[derive(Debug)]
struct Oops;

struct Starter;

#[actor]
impl Starter {
    #[init]
    fn start(&mut self) -> Result<(), Oops> {
        Err(Oops)
    }
}

fn main() {}
