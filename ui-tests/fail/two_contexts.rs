use ergo::prelude::*;

struct Counter;

#[actor]
impl Counter {
    #[handle_cast]
    fn reset(&mut self, ctx: &mut Context<Self>, again: &mut Context<Self>) {
        let _ = (ctx, again);
    }
}

fn main() {}
