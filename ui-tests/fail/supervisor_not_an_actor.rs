use ergo::prelude::*;

#[derive(Default)]
struct NotAnActor;

supervisor! {
    Sup: one_for_one {
        plain: NotAnActor,
    }
}

fn main() {}
