use ergo::prelude::*;

#[derive(Default)]
struct Bank;

#[actor]
impl Bank {
    // The path names `:id`, the method takes `account`.
    #[get("/balance/:id")]
    fn balance(&mut self, account: u64) -> String {
        account.to_string()
    }
}

fn main() {}
