//! The supervision tree of an application drawn in text (for docs and the README).

use crate::names::snake;
use crate::tree::{Child, Kind, Project};

/// `MyApp` and everything under it, one line per process:
///
/// ```text
/// MyApp (application my_app, one_for_one)
/// ├─ MySup (one_for_one)
/// │  └─ MyActor
/// └─ Direct
/// ```
pub fn app(p: &Project, app: &str) -> Vec<String> {
    let mut lines = vec![format!("{app} (application {}, one_for_one)", snake(app))];
    below(p, app, "", &mut lines);
    lines
}

fn below(p: &Project, parent: &str, prefix: &str, lines: &mut Vec<String>) {
    let children = p.children(parent);
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let branch = if last { "└─ " } else { "├─ " };
        match child {
            Child::Sup(s) => {
                let kind = match s.kind {
                    Kind::SimpleOneForOne => "simple_one_for_one: instances started on demand",
                    k => k.word(),
                };
                lines.push(format!("{prefix}{branch}{} ({kind})", s.name));
                let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
                below(p, &s.name, &deeper, lines);
            }
            Child::Actor(a) => lines.push(format!("{prefix}{branch}{}", a.name)),
        }
    }
}
