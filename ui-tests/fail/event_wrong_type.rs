use ergo::events::EventToken;

#[derive(Clone)]
pub struct Price(u64);

fn publish(token: &EventToken<Price>) {
    // The token of an event of prices publishes prices only.
    let _ = token.publish("ten".to_string());
}

fn main() {}
