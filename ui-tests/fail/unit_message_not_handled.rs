use ergo::prelude::*;
use ergo::testing::unit::Unit;

#[derive(Default)]
pub struct Ledger;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Audit;

#[actor]
impl Ledger {
    #[handle_cast]
    fn record(&mut self, amount: u64) {
        let _ = amount;
    }

    #[handle_info]
    fn audit(&mut self, _: Audit) {}
}

pub struct Refund(pub u64);

#[derive(Default)]
pub struct Shop;

#[actor]
impl Shop {
    #[handle_cast]
    fn buy(&mut self) {}
}

fn main() {
    let unit = Unit::start(Shop);
    let ledger = unit.stub::<Ledger>();
    // The ledger handles no `Refund`: nothing the shop sends it can be one.
    unit.should_send().to(&ledger).message(Refund(5)).never();
}
