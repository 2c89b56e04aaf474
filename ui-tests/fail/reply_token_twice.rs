use ergo::prelude::*;

struct Counter(u64);

#[actor]
impl Counter {
    #[handle_call]
    fn get(&mut self, reply: ReplyTo<u64>) {
        reply.send(self.0);
        reply.send(self.0);
    }
}

fn main() {}
