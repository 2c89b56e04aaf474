use ergo::prelude::*;

struct Logger;

#[actor]
impl Logger {
    #[handle_cast]
    fn log(&mut self, line: &str) {
        println!("{line}");
    }
}

fn main() {}
