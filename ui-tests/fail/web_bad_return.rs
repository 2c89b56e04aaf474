use ergo::prelude::*;

#[derive(Default)]
struct Bank;

#[actor]
impl Bank {
    #[get("/balance/:id")]
    fn balance(&mut self, id: u64) -> u64 {
        id
    }
}

fn main() {}
