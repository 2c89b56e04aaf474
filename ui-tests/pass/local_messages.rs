// `local` handlers take types that cannot be serialized (a reply token, an Rc-free
// but non-serde struct); their variants are skipped by serde.
#![deny(warnings)]

use ergo::prelude::*;

pub struct Job {
    pub reply: ReplyTo<u64>,
}

pub struct Plain(pub u64);

pub struct Pool;

#[actor]
impl Pool {
    #[handle_cast(local)]
    fn run(&mut self, job: Job) {
        job.reply.send(1);
    }

    #[handle_info(local)]
    fn plain(&mut self, msg: Plain) {
        let _ = msg.0;
    }

    #[handle_call(local)]
    fn hand_out(&mut self, what: Plain) -> Plain {
        what
    }
}

fn main() {
    fn serde<T: serde::Serialize + serde::de::DeserializeOwned>() {}
    serde::<PoolMessage>();
    serde::<PoolCall>();
    serde::<PoolReply>();
}
