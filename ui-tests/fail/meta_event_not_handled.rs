use ergo::meta::tcp::TcpOptions;
use ergo::meta::MetaExt;
use ergo::prelude::*;

#[derive(Default)]
struct Server;

#[actor]
impl Server {
    // Starts a TCP server whose events it has no handler for.
    #[init]
    async fn init(&mut self, ctx: &mut Context<Self>) -> Result<(), ergo::meta::MetaError> {
        ctx.tcp_listen("127.0.0.1:0", TcpOptions::default()).await?;
        Ok(())
    }
}

fn main() {}
