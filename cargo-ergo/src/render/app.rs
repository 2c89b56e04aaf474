//! An application (`src/apps/<app>/mod.rs`: its spec and root supervisor), its
//! supervisors (`supervisor!`), and the test that starts every application.

use std::fmt::Write;

use super::{krate, members, tree_text};
use crate::names::snake;
use crate::tree::{App, Project, Sup};

/// The body of a `supervisor!` for `parent`: one line per child, each with its restart
/// policy and its type (a sibling module of the application's folder).
fn children(p: &Project, parent: &str, path: &str) -> String {
    let (_, restart) = p.sup_kind(parent);
    let mut s = String::new();
    for child in p.children(parent) {
        let _ = writeln!(
            s,
            "        #[restart({})]\n        {}: {path}{}::{},",
            restart.word(),
            snake(child.name()),
            snake(child.name()),
            child.name()
        );
    }
    s
}

/// `src/apps/<app>/mod.rs`.
pub fn module(p: &Project, app: &App) -> String {
    let name = snake(&app.name);
    let tree = tree_text::app(p, &app.name);
    let mut s = format!(
        "//! The application `{name}`: its spec, and its root supervisor `{}` with the\n\
         //! processes under it:\n//!\n//! ```text\n",
        app.name
    );
    for line in &tree {
        let _ = writeln!(s, "//! {line}");
    }
    s.push_str("//! ```\n\nuse ergo::prelude::*;\n\n");
    let mut modules: Vec<String> = members(p, &app.name)
        .iter()
        .map(|m| snake(m.name()))
        .collect();
    modules.sort();
    for m in &modules {
        let _ = writeln!(s, "pub mod {m};");
    }
    if !modules.is_empty() {
        s.push('\n');
    }
    let mode = match app.mode {
        crate::tree::Restart::Temporary => "reported when it ends by itself; the node runs on",
        crate::tree::Restart::Transient => "the node stops if it fails",
        crate::tree::Restart::Permanent => "the node stops whenever it ends by itself",
    };
    let _ = write!(
        s,
        r#"/// The application's name on the node (and its root's id).
pub const NAME: &str = "{name}";

supervisor! {{
    /// The root of `{name}`: restarts a child that fails, alone.
    pub {ty}: one_for_one(intensity = 5, period = 5s) {{
{children}    }}
}}

/// What the node loads: `{name}`, started with its root `{ty}` ({mode}).
pub fn spec() -> ApplicationSpec {{
    ApplicationSpec::new(NAME, ChildSpec::new(NAME, || ({ty}::new(), ())))
        .description("the {ty} application")
        .mode(Restart::{variant})
}}
"#,
        ty = app.name,
        children = children(p, &app.name, ""),
        variant = app.mode.variant(),
    );
    s
}

/// `src/apps/<app>/<sup>.rs`.
pub fn supervisor(p: &Project, sup: &Sup) -> String {
    let app = p.app_of(&sup.name);
    let what = match sup.kind {
        crate::tree::Kind::OneForOne => "restarts a child that fails, alone".to_string(),
        crate::tree::Kind::AllForOne => "restarts all its children when one fails".to_string(),
        crate::tree::Kind::RestForOne => {
            "restarts a child that fails and the children after it".to_string()
        }
        crate::tree::Kind::SimpleOneForOne => {
            let template = &p.children(&sup.name)[0];
            format!(
                "starts `{}` instances on demand (`sup.{}(())`)",
                template.name(),
                p.accessor(*template)
            )
        }
    };
    format!(
        r#"//! `{ty}`: a supervisor of the application `{app}`, under `{parent}`.

use ergo::prelude::*;

supervisor! {{
    /// `{ty}` {what}.
    pub {ty}: {kind}(intensity = 5, period = 5s) {{
{children}    }}
}}
"#,
        ty = sup.name,
        app = snake(&app.name),
        parent = sup.parent,
        kind = sup.kind.word(),
        children = children(p, &sup.name, "super::"),
    )
}

/// `tests/apps.rs`: each application starts on a node of its own, with every child of
/// its root running.
pub fn test(p: &Project) -> String {
    let krate = krate(p);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"//! Each application starts on a node of its own, with every child of its root
//! running, and stops.

use std::time::Duration;

use ergo::prelude::*;
use ergo::testing::eventually;

/// Starts `spec` on a node of its own; checks that its root runs exactly `expected`.
async fn starts_with(node: &str, spec: ApplicationSpec, expected: &[&str]) {{
    let name = format!("{{node}}@127.0.0.1");
    let node = Node::builder(&name).start().await.unwrap();
    let name = spec.name();
    node.load_application(spec).unwrap();
    let root = node.start_application(name).await.unwrap();
    let sup = SupervisorRef::new(&node, root);
    let children = sup.which_children().await.unwrap();
    let ids: Vec<String> = children.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(ids, expected);
    assert!(children.iter().all(|c| c.pid.is_some()), "{{children:?}}");
    node.stop_application(name).await.unwrap();
    eventually(|| node.process_info(root).is_none())
        .within(Duration::from_secs(5))
        .await
        .unwrap();
    node.stop().await.unwrap();
}}
"#
    );
    for app in &p.apps {
        let m = snake(&app.name);
        let expected: Vec<String> = p
            .children(&app.name)
            .iter()
            .map(|c| format!("\"{}\"", snake(c.name())))
            .collect();
        let _ = write!(
            s,
            r#"
#[tokio::test]
async fn {m}_starts_with_its_tree() {{
    let spec = {krate}::apps::{m}::spec();
    let children{ty} = [{list}];
    starts_with("{m}_test", spec, &children).await;
}}
"#,
            ty = if expected.is_empty() {
                ": [&str; 0]"
            } else {
                ""
            },
            list = expected.join(", ")
        );
    }
    s
}
