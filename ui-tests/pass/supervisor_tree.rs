//! A declared tree with every option: strategies, intensity, period, auto-shutdown,
//! child attributes, nested supervisors, a simple-one-for-one pool.

use ergo::prelude::*;

#[derive(Default)]
pub struct Worker;

#[actor]
impl Worker {
    #[handle_call]
    fn ping(&mut self) -> u32 {
        1
    }
}

pub struct Sized {
    n: u64,
}

#[actor]
impl Sized {
    #[init]
    fn init(&mut self, n: u64) {
        self.n = n;
    }

    #[handle_call]
    fn n(&mut self) -> u64 {
        self.n
    }
}

supervisor! {
    /// Workers.
    pub Workers: all_for_one(intensity = 2, period = 500ms, auto_shutdown = any_significant) {
        a: Worker,
        #[restart(transient)] #[significant] #[shutdown(brutal_kill)]
        b: Worker,
        #[restart(temporary)] #[shutdown(infinity)]
        c: Worker,
    }
}

supervisor! {
    pub Pool: simple_one_for_one {
        member: Sized = Sized { n: 0 },
    }
}

supervisor! {
    pub Top: rest_for_one(period = 1m) {
        #[args(3)] #[shutdown(2s)]
        sized: Sized = Sized { n: 0 },
        workers: Workers,
        pool: Pool,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::builder("ui@127.0.0.1").start().await?;
    let top = node.spawn(Top::new()).await?;
    let sized: ChildRef<Sized> = top.sized();
    assert_eq!(sized.get()?.n().await?, 3);
    let workers: ActorRef<Workers> = top.workers().get()?;
    assert_eq!(workers.a().get()?.ping().await?, 1);
    let pool = top.pool().get()?;
    let member: ActorRef<Sized> = pool.start_member(7).await?;
    assert_eq!(member.n().await?, 7);
    top.stop().await?;
    node.stop().await?;
    Ok(())
}
