// Every handler form the DSL accepts, with no warning in the generated code.
#![deny(warnings)]

use ergo::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Tick;

#[derive(Serialize, Deserialize, Debug)]
pub struct Oops;

impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oops")
    }
}

#[derive(Default)]
pub struct Everything {
    n: u64,
}

#[actor]
impl Everything {
    #[init]
    async fn start(&mut self, ctx: &mut Context<Self>, n: u64, name: String) -> Result<(), Oops> {
        let _ = (ctx.pid(), name);
        self.n = n;
        Ok(())
    }

    #[handle_call]
    fn plain(&mut self) -> u64 {
        self.n
    }

    #[handle_call]
    fn unit(&mut self) {}

    #[handle_call]
    fn with_ctx(&mut self, n: u64, ctx: &mut Context<Self>) -> Pid {
        self.n = n;
        ctx.pid()
    }

    #[handle_call]
    fn fallible(&mut self, a: u8, b: (u16, String), c: Vec<u32>) -> Result<String, Oops> {
        let _ = (a, b, c);
        Err(Oops)
    }

    #[handle_call]
    async fn awaits(&mut self, ctx: &mut Context<Everything>) -> Option<String> {
        let _ = ctx;
        None
    }

    #[handle_call]
    fn deferred(&mut self, reply: ReplyTo<Result<u64, Oops>>) {
        reply.send(Ok(self.n));
    }

    #[handle_call]
    async fn deferred_async(&mut self, ctx: &mut Context<Self>, reply: ReplyTo<u64>) {
        let _ = ctx;
        reply.send(1);
    }

    #[handle_cast]
    fn cast(&mut self, n: u64) {
        self.n = n;
    }

    #[handle_cast]
    async fn cast_async(&mut self, ctx: &mut Context<Self>) -> Result<(), Oops> {
        ctx.stop(Reason::Normal);
        Ok(())
    }

    #[handle_info]
    fn tick(&mut self, _tick: Tick) {}

    #[handle_info]
    fn down(&mut self, ctx: &mut Context<Self>, down: Down) {
        let _ = (ctx, down);
    }

    #[handle_info]
    async fn exit(&mut self, exit: Exit) -> Result<(), String> {
        Err(exit.reason.to_string())
    }

    #[terminate]
    fn end(&mut self, ctx: &mut Context<Self>, reason: &Reason) {
        let _ = (ctx, reason);
    }

    /// Not a handler: an ordinary method.
    fn helper(&self) -> u64 {
        self.n
    }
}

async fn use_it(node: Node) -> Result<(), Box<dyn std::error::Error>> {
    let e = node
        .spawn_with(Everything::default(), (1, "e".to_string()), SpawnOptions::new())
        .await?;
    let _: u64 = e.plain().await?;
    let () = e.unit().await?;
    let _: Pid = e.with_ctx(2).await?;
    let _: Result<String, CallError<Oops>> = e.fallible(1, (2, "x".into()), vec![3]).await;
    let _: Option<String> = e.awaits().priority(Priority::High).await?;
    let _: Result<u64, CallError<Oops>> = e.deferred().timeout(std::time::Duration::from_secs(1)).await;
    let _: u64 = e.deferred_async().await?;
    e.cast(3)?;
    e.cast_async()?;
    e.send(Tick)?;
    let _ = Everything::default().helper();
    Ok(())
}

fn main() {
    let _ = use_it;
}
