use ergo::prelude::*;

#[derive(Default)]
struct Bank;

#[actor]
impl Bank {
    #[get("balance")]
    fn balance(&mut self) -> String {
        String::new()
    }

    #[post(42)]
    fn deposit(&mut self) -> String {
        String::new()
    }

    #[get("/a")]
    fn first(&mut self) -> String {
        String::new()
    }

    #[get("/a")]
    fn second(&mut self) -> String {
        String::new()
    }
}

fn main() {}
