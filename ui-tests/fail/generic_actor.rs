use ergo::prelude::*;

struct Store<T> {
    items: Vec<T>,
}

#[actor]
impl<T: Send + 'static> Store<T> {
    #[handle_call]
    fn len(&mut self) -> usize {
        self.items.len()
    }
}

fn main() {}
