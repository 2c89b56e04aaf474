//! Timers: send-after and send-every deliver, cancel stops them, and a process's timers
//! die with it. Assertions are on counts and on the timer having finished, never on
//! how long anything took.

use std::time::Duration;

use ergo::{ActorRef, Reason, TimerRef};
use ergo_tests::{ask, eventually, guard, node, seen, Cmd, Event, Probe};
use tokio::sync::mpsc::UnboundedReceiver;

/// Waits until the probe reported `n` more numbers.
async fn wait_seen(events: &mut UnboundedReceiver<Event>, n: usize) {
    let mut got = 0;
    while got < n {
        match guard("a timer message", events.recv()).await {
            Some(Event::Seen(_)) => got += 1,
            Some(_) => {}
            None => panic!("the probe ended"),
        }
    }
}

/// A period long enough that a test never sees a tick it did not wait for.
const NEVER: Duration = Duration::from_secs(3600);
const TICK: Duration = Duration::from_millis(2);

#[tokio::test]
async fn send_after_delivers_once() {
    let node = node("send_after").await;
    let (probe, mut events) = Probe::new("p").events();
    let p = node.spawn(probe).await.unwrap();
    let timer = ask(&p, |_, ctx| ctx.send_after(&ctx.myself(), 42u64, TICK))
        .await
        .unwrap();
    wait_seen(&mut events, 1).await;
    eventually("the timer finished", || timer.is_finished()).await;
    assert!(!timer.cancel(), "a fired timer cannot be cancelled");
    assert_eq!(seen(&p).await, vec![42]);

    // A node-level timer, from outside any process.
    let timer = node.send_after(&p, 43u64, TICK);
    wait_seen(&mut events, 1).await;
    eventually("the timer finished", || timer.is_finished()).await;
    assert_eq!(seen(&p).await, vec![42, 43]);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_cancelled_send_after_never_fires() {
    let node = node("cancel_after").await;
    let p = node.spawn(Probe::new("p")).await.unwrap();
    let timer = ask(&p, |_, ctx| ctx.send_after(&ctx.myself(), 1u64, NEVER))
        .await
        .unwrap();
    assert!(!timer.is_finished());
    assert!(timer.cancel());
    // Finished without firing: it can never send now.
    eventually("the cancelled timer finished", || timer.is_finished()).await;
    assert!(!timer.cancel(), "cancelling twice");
    assert_eq!(seen(&p).await, Vec::<u64>::new());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn send_every_repeats_until_cancelled() {
    let node = node("send_every").await;
    let (probe, mut events) = Probe::new("p").events();
    let p = node.spawn(probe).await.unwrap();
    let timer = ask(&p, |_, ctx| ctx.send_every(&ctx.myself(), 7u64, TICK))
        .await
        .unwrap();
    wait_seen(&mut events, 3).await;
    assert!(!timer.is_finished());
    assert!(timer.cancel());
    eventually("the cancelled timer finished", || timer.is_finished()).await;
    // Every tick sent before it finished is queued ahead of this call.
    let count = seen(&p).await.len();
    assert!(count >= 3);
    // Many periods later, still nothing new (the timer task is gone, not just late).
    tokio::time::sleep(TICK * 20).await;
    assert_eq!(seen(&p).await.len(), count);
    node.stop().await.unwrap();
}

/// Has `owner` start a send-every to `target` and a far send-after, and hands both
/// timers out (they stay owned by `owner`).
async fn owned_timers(owner: &ActorRef<Probe>, target: &ActorRef<Probe>) -> (TimerRef, TimerRef) {
    let t = target.clone();
    ask(owner, move |_, ctx| {
        (
            ctx.send_every(&t, 1u64, TICK),
            ctx.send_after(&t, 2u64, NEVER),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn timers_die_with_their_owner() {
    let node = node("timer_owner").await;
    let (probe, mut events) = Probe::new("target").events();
    let target = node.spawn(probe).await.unwrap();
    let owner = node.spawn(Probe::new("owner")).await.unwrap();
    let (every, after) = owned_timers(&owner, &target).await;
    wait_seen(&mut events, 3).await;

    let monitor = node.monitor(owner.pid()).unwrap();
    owner.send(Cmd::Stop(Reason::Normal)).unwrap();
    guard("the owner's Down", monitor.down()).await;
    eventually("the owner's timers finished", || {
        every.is_finished() && after.is_finished()
    })
    .await;
    let count = seen(&target).await.len();
    assert!(count >= 3);
    tokio::time::sleep(TICK * 20).await;
    assert_eq!(
        seen(&target).await.len(),
        count,
        "no tick after the owner died"
    );
    assert!(target.is_alive());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn send_every_ends_when_its_target_is_gone() {
    let node = node("timer_target").await;
    let (probe, mut events) = Probe::new("target").events();
    let target = node.spawn(probe).await.unwrap();
    let owner = node.spawn(Probe::new("owner")).await.unwrap();
    let (every, after) = owned_timers(&owner, &target).await;
    wait_seen(&mut events, 2).await;

    let monitor = node.monitor(target.pid()).unwrap();
    target.send(Cmd::Stop(Reason::Normal)).unwrap();
    guard("the target's Down", monitor.down()).await;
    eventually("the send-every finished", || every.is_finished()).await;
    // The owner lives on, and so does its other timer.
    assert!(owner.is_alive());
    assert!(!after.is_finished());
    assert!(after.cancel());
    node.stop().await.unwrap();
}
