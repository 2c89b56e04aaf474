use ergo::prelude::*;

type Result<T> = std::result::Result<T, String>;

struct Parser;

#[actor]
impl Parser {
    #[handle_call]
    fn parse(&mut self, text: String) -> Result<u64> {
        text.parse().map_err(|_| "not a number".to_string())
    }
}

fn main() {}
