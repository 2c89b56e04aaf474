// An actor's state moves to the scheduler's threads: it must be `Send`. One error,
// at the actor, says so.
use std::rc::Rc;

use ergo::prelude::*;

#[derive(Default)]
struct Cache {
    shared: Rc<Vec<u8>>,
}

#[actor]
impl Cache {
    #[handle_call]
    fn len(&mut self) -> usize {
        self.shared.len()
    }

    #[handle_info]
    fn grow(&mut self, byte: u8) {
        let _ = byte;
    }
}

fn main() {}
