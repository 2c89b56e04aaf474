use ergo::prelude::*;

struct Cache;
struct Counter;

#[actor]
impl Cache {}

#[actor]
impl Counter {
    #[handle_cast]
    fn reset(&mut self, ctx: &mut Context<Cache>) {
        let _ = ctx;
    }
}

fn main() {}
