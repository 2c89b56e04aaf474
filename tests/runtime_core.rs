//! Runtime core smoke test: spawn, send, call, stop. The topics have their own files
//! (mailbox, messaging, names, links_monitors, lifecycle, timers, shutdown).

use ergo_tests::{node, Recorder};

#[tokio::test]
async fn send_and_call() {
    let node = node("smoke").await;
    let r = node.spawn(Recorder::default()).await.unwrap();
    for i in 0..10u64 {
        r.send(i).unwrap();
    }
    assert_eq!(r.request(()).await.unwrap(), (0..10).collect::<Vec<_>>());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn untyped_calls_by_name_reach_the_typed_handler() {
    let node = node("untyped_call").await;
    let r = node
        .spawn_register("recorder", Recorder::default())
        .await
        .unwrap();
    r.send(7u64).unwrap();
    let reply = node
        .call_any::<Vec<u64>>("recorder", Box::new(()), std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(*reply.downcast::<Vec<u64>>().unwrap(), vec![7]);
    // A request of a type the actor does not take is refused, not lost.
    let err = node
        .call_any::<()>(
            "recorder",
            Box::new("nope"),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ergo::CallError::BadRequest(_)), "{err:?}");
    node.stop().await.unwrap();
}
