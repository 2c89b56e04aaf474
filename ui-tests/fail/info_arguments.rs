use ergo::prelude::*;

struct Watcher;

#[actor]
impl Watcher {
    #[handle_info]
    fn nothing(&mut self) {}

    #[handle_info]
    fn two(&mut self, a: u32, b: u32) {
        let _ = (a, b);
    }
}

fn main() {}
