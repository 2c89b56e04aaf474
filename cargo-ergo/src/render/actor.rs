//! An actor (`#[actor]`, in its application's folder) and its test.

use super::krate;
use crate::names::snake;
use crate::tree::{ActorDecl, Project};

/// `src/apps/<app>/<actor>.rs`: a starting point with one cast and one call.
pub fn module(p: &Project, a: &ActorDecl) -> String {
    let app = p.app_of(&a.name);
    format!(
        r#"//! `{ty}`: an actor of the application `{app}`, under `{parent}`.

use ergo::prelude::*;

/// Counts the greetings it gets and tells who sent the last one.
#[derive(Default, Debug)]
pub struct {ty} {{
    greetings: u64,
    last: Option<String>,
}}

#[actor]
impl {ty} {{
    #[init]
    fn init(&mut self, ctx: &mut Context<Self>) {{
        tracing::info!(pid = %ctx.pid(), "{snake} started");
    }}

    /// A greeting from `from` (a cast: the sender does not wait).
    #[handle_cast]
    fn greet(&mut self, from: String) {{
        self.greetings += 1;
        self.last = Some(from);
    }}

    /// How many greetings so far, and who sent the last one (a call: answered).
    #[handle_call]
    fn greetings(&mut self) -> (u64, Option<String>) {{
        (self.greetings, self.last.clone())
    }}
}}
"#,
        ty = a.name,
        app = snake(&app.name),
        parent = a.parent,
        snake = snake(&a.name),
    )
}

/// `use` lines for `paths`, sorted as rustfmt sorts them.
fn uses(paths: &[String]) -> String {
    let mut paths = paths.to_vec();
    paths.sort();
    paths.iter().map(|p| format!("use {p};\n")).collect()
}

/// `tests/<actor>.rs`: the actor on a node of its own, driven by casts and a call.
pub fn test(p: &Project, a: &ActorDecl) -> String {
    let m = snake(&a.name);
    format!(
        r#"//! `{ty}` on a node of its own: it counts greetings and tells who sent the last.

use std::time::Duration;

{uses}
#[tokio::test]
async fn {m}_counts_greetings() {{
    let node = Node::builder("test@127.0.0.1").start().await.unwrap();
    let actor = node.spawn({ty}::default()).await.unwrap();

    actor.greet("alice".to_string()).unwrap();
    actor.greet("bob".to_string()).unwrap();
    // Casts return at once: wait until both are handled.
    wait_handled(&node, actor.pid(), 2)
        .within(Duration::from_secs(5))
        .await
        .unwrap();
    let greetings = actor.greetings().await.unwrap();
    assert_eq!(greetings, (2, Some("bob".to_string())));

    node.stop().await.unwrap();
}}
"#,
        ty = a.name,
        uses = uses(&[
            "ergo::prelude::*".to_string(),
            "ergo::testing::wait_handled".to_string(),
            format!(
                "{}::apps::{}::{m}::{}",
                krate(p),
                snake(&p.app_of(&a.name).name),
                a.name
            ),
        ]),
    )
}
