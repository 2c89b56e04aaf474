//! Model checks of the wake-up handshake: in every interleaving, a message pushed while
//! the runner goes idle is either taken by the runner or wins the process for its
//! sender. Run with `RUSTFLAGS="--cfg ergo_loom" cargo test -p ergo-runtime --lib --release loom`.

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

use super::{Mailbox, Pop, Priority, Pushed};

/// The runner drains, then tries to go idle, as `Cell::turn` does. Returns how many
/// messages it took.
fn run_until_idle(mb: &Mailbox<u32>, awaiting: bool) -> usize {
    let mut taken = 0;
    loop {
        match mb.pop() {
            Pop::Item(_) => taken += 1,
            Pop::Busy => thread::yield_now(),
            Pop::Empty => {
                if awaiting {
                    mb.take_woken();
                }
                if !mb.try_idle(awaiting) {
                    return taken;
                }
            }
        }
    }
}

#[test]
fn loom_push_while_going_idle_is_never_lost() {
    loom::model(|| {
        let mb = Arc::new(Mailbox::new(0));
        mb.activate();
        mb.push(Priority::Normal, 0);
        mb.begin_run(); // the runner holds the process
        let scheduled = Arc::new(AtomicBool::new(false));
        let producer = {
            let (mb, scheduled) = (mb.clone(), scheduled.clone());
            thread::spawn(move || {
                if mb.push(Priority::Normal, 1) == Pushed::Schedule {
                    scheduled.store(true, Ordering::SeqCst);
                }
            })
        };
        let taken = run_until_idle(&mb, false);
        producer.join().unwrap();
        // Either the runner took both, or the sender must schedule it for the second.
        assert!(
            taken == 2 || scheduled.load(Ordering::SeqCst),
            "lost wake-up"
        );
    });
}

#[test]
fn loom_two_senders_one_wins() {
    loom::model(|| {
        let mb = Arc::new(Mailbox::new(0));
        mb.activate();
        mb.begin_run();
        let wins = Arc::new(AtomicUsize::new(0));
        let senders: Vec<_> = (0..2)
            .map(|i| {
                let (mb, wins) = (mb.clone(), wins.clone());
                thread::spawn(move || {
                    if mb.push(Priority::Normal, i) == Pushed::Schedule {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        let taken = run_until_idle(&mb, false);
        for s in senders {
            s.join().unwrap();
        }
        let wins = wins.load(Ordering::SeqCst);
        assert!(wins <= 1, "two senders scheduled the same process");
        assert!(taken == 2 || wins == 1, "lost wake-up");
    });
}

#[test]
fn loom_waker_of_an_async_handler_is_never_lost() {
    loom::model(|| {
        let mb = Arc::new(Mailbox::<u32>::new(0));
        mb.activate();
        mb.begin_run();
        let scheduled = Arc::new(AtomicBool::new(false));
        let waker = {
            let (mb, scheduled) = (mb.clone(), scheduled.clone());
            thread::spawn(move || {
                if mb.wake() == Pushed::Schedule {
                    scheduled.store(true, Ordering::SeqCst);
                }
            })
        };
        // The runner polled the handler (Pending) and goes idle waiting for its waker.
        let resumed = mb.try_idle(true);
        waker.join().unwrap();
        assert!(resumed || scheduled.load(Ordering::SeqCst), "lost wake-up");
    });
}
