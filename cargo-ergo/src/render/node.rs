//! The node: `src/main.rs` (the binary), `src/lib.rs` and `src/apps/mod.rs`.

use std::fmt::Write;

use super::krate;
use crate::names::snake;
use crate::tree::Project;

/// `src/main.rs`: starts the node with the native network, its applications, web
/// workers and the Observer, and stops it on Ctrl-C.
pub fn main_rs(p: &Project, cookie: &str) -> String {
    let krate = krate(p);
    let mut what = vec!["its applications".to_string()];
    what.extend(
        p.webs
            .iter()
            .map(|w| format!("the web worker `{}`", w.name)),
    );
    if p.observer {
        what.push("the Observer".into());
    }
    let mut s = super::doc(&format!(
        "The `{}` node: starts {} and runs until Ctrl-C.",
        p.node,
        and_list(&what),
    ));
    s.push('\n');
    s.push_str("use ergo::net::NetOptions;\n");
    if p.observer {
        s.push_str("use ergo::observer::{ObserverExt, ObserverOptions};\n");
    }
    s.push_str("use ergo::prelude::*;\n\n");
    let _ = write!(
        s,
        r#"#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {{
    let node = Node::builder("{krate}@127.0.0.1")
        .cookie("{cookie}")
        .log_level(tracing::Level::INFO)
        .network(NetOptions::new())
        .start()
        .await?;
    println!("node {{}} started", node.name());

    for spec in {krate}::apps::all() {{
        let name = spec.name();
        node.load_application(spec)?;
        let root = node.start_application(name).await?;
        println!("application {{name}} started, its root is {{root}}");
    }}
"#
    );
    for w in &p.webs {
        let m = snake(&w.name);
        let _ = write!(
            s,
            r#"
    let {m} = {krate}::{m}::start(&node, {krate}::{m}::ADDR).await?;
    println!("{name} on http://{{}}/", {m}.addr);
"#,
            name = w.name
        );
    }
    if p.observer {
        s.push_str(
            r#"
    let observer = node.start_observer(ObserverOptions::new()).await?;
    println!("Observer on {}", observer.url());
"#,
        );
    }
    s.push_str(
        r#"
    println!("Ctrl-C stops the node");
    tokio::signal::ctrl_c().await?;
    node.stop().await?;
    Ok(())
}
"#,
    );
    s
}

/// `src/lib.rs`: the applications and web workers, for the binary and the tests.
pub fn lib_rs(p: &Project) -> String {
    let mut s = super::doc(&format!(
        "The `{}` node's code: its applications (`apps`){}. `src/main.rs` starts them; \
         `tests/` tests them.",
        p.node,
        if p.webs.is_empty() {
            ""
        } else {
            " and web workers"
        }
    ));
    s.push('\n');
    let mut modules: Vec<String> = p.webs.iter().map(|w| snake(&w.name)).collect();
    modules.push("apps".into());
    modules.sort();
    for m in modules {
        let _ = writeln!(s, "pub mod {m};");
    }
    s
}

/// `src/apps/mod.rs`: the list of applications the node starts.
pub fn apps_rs(p: &Project) -> String {
    let mut s = String::from(
        "//! The node's applications: each a supervision tree the node loads and starts.\n\n\
         use ergo::ApplicationSpec;\n\n",
    );
    let mut modules: Vec<String> = p.apps.iter().map(|a| snake(&a.name)).collect();
    modules.sort();
    for m in &modules {
        let _ = writeln!(s, "pub mod {m};");
    }
    if !modules.is_empty() {
        s.push('\n');
    }
    let specs: Vec<String> = p
        .apps
        .iter()
        .map(|a| format!("{}::spec()", snake(&a.name)))
        .collect();
    let _ = write!(
        s,
        "/// Every application of the node, in the order they start.\n\
         pub fn all() -> Vec<ApplicationSpec> {{\n    vec![{}]\n}}\n",
        specs.join(", ")
    );
    s
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
