use std::rc::Rc;

use ergo::prelude::*;

struct Shared;

#[actor]
impl Shared {
    #[handle_call(local)]
    fn share(&mut self) -> Rc<u32> {
        Rc::new(1)
    }
}

fn main() {}
