// `spawn` gives no init arguments: an actor whose init takes some is spawned with
// `spawn_with`, and the error says so.
use ergo::prelude::*;

struct Account {
    balance: u64,
}

#[actor]
impl Account {
    #[init]
    fn open(&mut self, deposit: u64) {
        self.balance = deposit;
    }

    #[handle_call]
    fn balance(&mut self) -> u64 {
        self.balance
    }
}

async fn open(node: Node) -> Result<(), Box<dyn std::error::Error>> {
    let account = node.spawn(Account { balance: 0 }).await?;
    let _ = account.balance().await?;
    Ok(())
}

fn main() {
    let _ = open;
}
