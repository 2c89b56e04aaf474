use ergo::prelude::*;

struct Bank;

impl Bank {
    #[get("/balance")]
    fn balance(&mut self) -> String {
        String::new()
    }
}

fn main() {}
