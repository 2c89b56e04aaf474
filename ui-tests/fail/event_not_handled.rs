use ergo::prelude::*;

#[derive(Clone)]
pub struct Price(u64);

#[derive(Default)]
struct Listener;

#[actor]
impl Listener {
    #[handle_call(local)]
    fn subscribe(&mut self, ctx: &mut Context<Self>) -> bool {
        // Listener has no `#[handle_info]` for `Event<Price>`.
        ctx.monitor_event::<Price>("prices").is_ok()
    }

    #[handle_info(local)]
    fn ended(&mut self, _down: EventDown) {}
}

fn main() {}
