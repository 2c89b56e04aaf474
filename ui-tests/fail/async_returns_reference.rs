use ergo::prelude::*;

struct Greeter {
    name: String,
}

#[actor]
impl Greeter {
    #[handle_call]
    async fn name(&mut self) -> &str {
        &self.name
    }
}

fn main() {}
