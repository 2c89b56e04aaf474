// A child whose init takes arguments needs `#[args(..)]`; the error points at it.
use ergo::prelude::*;

#[derive(Default)]
struct Pool {
    size: u64,
}

#[actor]
impl Pool {
    #[init]
    fn start(&mut self, size: u64) {
        self.size = size;
    }

    #[handle_call]
    fn size(&mut self) -> u64 {
        self.size
    }
}

supervisor! {
    Sup: one_for_one {
        #[args(4)] good: Pool,
        pool: Pool,
    }
}

fn main() {}
