// A private actor with private message types, inside a module: no warning.
#![deny(warnings)]

mod inner {
    use ergo::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Secret(u32);

    #[derive(Default)]
    struct Hidden;

    #[actor]
    impl Hidden {
        #[handle_call]
        fn reveal(&mut self, s: Secret) -> u32 {
            s.0
        }
    }

    pub async fn run(node: Node) -> u32 {
        let hidden = node.spawn(Hidden).await.unwrap();
        hidden.reveal(Secret(7)).await.unwrap()
    }
}

fn main() {
    let _ = inner::run;
}
