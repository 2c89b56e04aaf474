//! Behaviour tests of the `#[actor]` DSL.
use ergo::prelude::*;

#[derive(Default)]
pub struct Counter {
    count: u64,
}

#[actor]
impl Counter {
    #[handle_call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }
    #[handle_cast]
    fn reset(&mut self) {
        self.count = 0;
    }
}

#[tokio::test]
async fn smoke() {
    let node = Node::builder("t@127.0.0.1").start().await.unwrap();
    let c = node.spawn(Counter::default()).await.unwrap();
    assert_eq!(c.add(5).await.unwrap(), 5);
    c.reset().unwrap();
    assert_eq!(c.add(1).await.unwrap(), 1);
    node.stop().await.unwrap();
}
