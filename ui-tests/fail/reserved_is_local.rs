// `is_local` is a method of `ActorRef` itself: `actor_ref.is_local()` would never run
// the handler, so the macro refuses the name.
use ergo::prelude::*;

struct Locator;

#[actor]
impl Locator {
    #[handle_call]
    fn is_local(&mut self) -> bool {
        true
    }

    #[handle_cast]
    fn send_important(&mut self, note: String) {
        let _ = note;
    }
}

fn main() {}
