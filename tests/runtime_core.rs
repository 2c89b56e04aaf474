//! Runtime core behaviour.

use ergo::Priority;
use ergo_tests::{node, Recorder};

#[tokio::test]
async fn send_and_call() {
    let node = node("smoke").await;
    let r = node.spawn(Recorder::default()).await.unwrap();
    for i in 0..10u64 {
        r.send(i).unwrap();
    }
    assert_eq!(r.request(()).await.unwrap(), (0..10).collect::<Vec<_>>());
    let _ = Priority::Normal;
    node.stop().await.unwrap();
}
