//! Turns a checked [`Project`] into the files of the generated crate, one module per
//! kind of file: the manifest and README, the node, an application, a supervisor, an
//! actor, a web worker, and their tests.

mod actor;
mod app;
mod manifest;
mod node;
mod tree_text;
mod web;

use std::path::PathBuf;

use crate::tree::{Child, Project};

/// One generated file: its path inside the project and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// Relative to the project's folder.
    pub path: PathBuf,
    /// The whole text.
    pub text: String,
}

impl File {
    fn new(path: impl Into<PathBuf>, text: String) -> File {
        File {
            path: path.into(),
            text,
        }
    }
}

/// Every file of the project; `cookie` is the node's cookie (random per project).
pub fn project(p: &Project, cookie: &str) -> Vec<File> {
    let mut files = vec![
        File::new("Cargo.toml", manifest::cargo_toml(p)),
        File::new(".gitignore", "/target\n".to_string()),
        File::new("README.md", manifest::readme(p)),
        File::new("src/main.rs", node::main_rs(p, cookie)),
        File::new("src/lib.rs", node::lib_rs(p)),
        File::new("src/apps/mod.rs", node::apps_rs(p)),
    ];
    if !p.apps.is_empty() {
        files.push(File::new("tests/apps.rs", app::test(p)));
    }
    for a in &p.apps {
        let dir = format!("src/apps/{}", crate::names::snake(&a.name));
        files.push(File::new(format!("{dir}/mod.rs"), app::module(p, a)));
        for member in members(p, &a.name) {
            let file = format!("{dir}/{}.rs", crate::names::snake(member.name()));
            match member {
                Child::Sup(s) => files.push(File::new(file, app::supervisor(p, s))),
                Child::Actor(x) => {
                    files.push(File::new(file, actor::module(p, x)));
                    files.push(File::new(
                        format!("tests/{}.rs", crate::names::snake(&x.name)),
                        actor::test(p, x),
                    ));
                }
            }
        }
    }
    for w in &p.webs {
        let snake = crate::names::snake(&w.name);
        files.push(File::new(format!("src/{snake}.rs"), web::module(p, w)));
        files.push(File::new(format!("tests/{snake}.rs"), web::test(p, w)));
    }
    files
}

/// Every supervisor and actor of the application `app`, at any depth, depth first.
fn members<'a>(p: &'a Project, app: &str) -> Vec<Child<'a>> {
    let mut out = Vec::new();
    let mut stack = p.children(app);
    stack.reverse();
    while let Some(c) = stack.pop() {
        out.push(c);
        if let Child::Sup(s) = c {
            let mut below = p.children(&s.name);
            below.reverse();
            stack.extend(below);
        }
    }
    out
}

/// `text` as `//!` lines of at most 88 columns.
fn doc(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("//!");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > 88 && line != "//!" {
            out.push_str(&line);
            out.push('\n');
            line = String::from("//!");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `ergo`'s features the project needs at run time.
fn features(p: &Project) -> Vec<&'static str> {
    let mut f = vec!["net"];
    if !p.webs.is_empty() {
        f.push("web");
    }
    if p.observer {
        f.push("observer");
    }
    f
}

/// The crate's library name (`my_node`).
fn krate(p: &Project) -> String {
    crate::names::snake(&p.node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Input;

    fn build(apps: &[&str], sups: &[&str], actors: &[&str], webs: &[&str]) -> Project {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect();
        Project::build(&Input {
            node: "MyNode".into(),
            apps: v(apps),
            sups: v(sups),
            actors: v(actors),
            webs: v(webs),
            observer: false,
            ergo_path: None,
        })
        .unwrap()
    }

    fn paths(files: &[File]) -> Vec<String> {
        files.iter().map(|f| f.path.display().to_string()).collect()
    }

    #[test]
    fn a_node_alone_has_a_binary_a_library_and_no_tests() {
        let files = project(&build(&[], &[], &[], &[]), "cookie");
        assert_eq!(
            paths(&files),
            [
                "Cargo.toml",
                ".gitignore",
                "README.md",
                "src/main.rs",
                "src/lib.rs",
                "src/apps/mod.rs"
            ]
        );
        let apps = &files[5].text;
        assert!(apps.contains("vec![]"), "{apps}");
        let manifest = &files[0].text;
        assert!(manifest.contains(
            r#"ergo = { version = "0.1", default-features = false, features = ["net"] }"#
        ));
    }

    #[test]
    fn members_of_an_application_are_listed_depth_first_with_one_test_per_actor() {
        let p = build(&["A"], &["A:S", "S:T"], &["T:X", "S:Y", "A:Z"], &["W"]);
        let names: Vec<&str> = members(&p, "A").iter().map(|c| c.name()).collect();
        assert_eq!(names, ["S", "T", "X", "Y", "Z"]);
        let files = paths(&project(&p, "c"));
        for f in [
            "tests/x.rs",
            "tests/y.rs",
            "tests/z.rs",
            "tests/w.rs",
            "tests/apps.rs",
        ] {
            assert!(files.contains(&f.to_string()), "{f} in {files:?}");
        }
        assert!(!files.contains(&"tests/s.rs".to_string()));
    }

    #[test]
    fn module_docs_wrap_at_88_columns() {
        let text = "word ".repeat(40);
        let out = doc(&text);
        assert!(out.lines().all(|l| l.starts_with("//! ") && l.len() <= 88));
        assert_eq!(out.split_whitespace().filter(|w| *w == "word").count(), 40);
    }
}
