use ergo::prelude::*;

struct Mailer;

#[actor]
impl Mailer {
    #[handle_cast]
    fn send(&mut self, to: String) {
        let _ = to;
    }

    #[handle_call]
    fn pid(&mut self) -> u32 {
        0
    }
}

fn main() {}
