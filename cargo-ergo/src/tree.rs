//! The project a command line describes: the node, its applications, the supervision
//! trees under them, web workers and the Observer — built from the `--with-*` values
//! and checked as a whole, every problem reported at once.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use crate::flags::{self, Decl};
use crate::names;

/// What the command line said, before checking.
#[derive(Clone, Debug, Default)]
pub struct Input {
    /// `--name`: the node.
    pub node: String,
    /// `--with-app` values.
    pub apps: Vec<String>,
    /// `--with-sup` values.
    pub sups: Vec<String>,
    /// `--with-actor` values.
    pub actors: Vec<String>,
    /// `--with-web` values.
    pub webs: Vec<String>,
    /// `--with-observer`.
    pub observer: bool,
    /// `--ergo-path`: the `ergo` crate's folder (already resolved), or the published crate.
    pub ergo_path: Option<PathBuf>,
}

/// A checked project description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// The node's name (UpperCamelCase); the crate is its kebab-case form.
    pub node: String,
    /// Applications, in the order given (and started).
    pub apps: Vec<App>,
    /// Supervisors, in the order given.
    pub sups: Vec<Sup>,
    /// Actors, in the order given.
    pub actors: Vec<ActorDecl>,
    /// Web workers.
    pub webs: Vec<Web>,
    /// Whether the node runs the Observer.
    pub observer: bool,
    /// A path to the `ergo` crate, or `None` for the published one.
    pub ergo_path: Option<PathBuf>,
}

/// A restart policy (a supervisor's children) or start mode (an application).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// `temp`.
    Temporary,
    /// `trans` (the default, as in Go Ergo).
    Transient,
    /// `perm`.
    Permanent,
}

impl Restart {
    fn parse(value: &str) -> Option<Restart> {
        match value {
            "temp" | "temporary" => Some(Restart::Temporary),
            "trans" | "transient" => Some(Restart::Transient),
            "perm" | "permanent" => Some(Restart::Permanent),
            _ => None,
        }
    }

    /// The word `supervisor!` takes (`#[restart(transient)]`).
    pub fn word(self) -> &'static str {
        match self {
            Restart::Temporary => "temporary",
            Restart::Transient => "transient",
            Restart::Permanent => "permanent",
        }
    }

    /// The `ergo::supervisor::Restart` variant.
    pub fn variant(self) -> &'static str {
        match self {
            Restart::Temporary => "Temporary",
            Restart::Transient => "Transient",
            Restart::Permanent => "Permanent",
        }
    }
}

/// A supervisor's strategy (`type:` in Go Ergo's generator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `ofo` (the default).
    OneForOne,
    /// `sofo`.
    SimpleOneForOne,
    /// `afo`.
    AllForOne,
    /// `rfo`.
    RestForOne,
}

impl Kind {
    fn parse(value: &str) -> Option<Kind> {
        match value {
            "ofo" | "one_for_one" => Some(Kind::OneForOne),
            "sofo" | "simple_one_for_one" => Some(Kind::SimpleOneForOne),
            "afo" | "all_for_one" => Some(Kind::AllForOne),
            "rfo" | "rest_for_one" => Some(Kind::RestForOne),
            _ => None,
        }
    }

    /// The strategy's word in `supervisor!`.
    pub fn word(self) -> &'static str {
        match self {
            Kind::OneForOne => "one_for_one",
            Kind::SimpleOneForOne => "simple_one_for_one",
            Kind::AllForOne => "all_for_one",
            Kind::RestForOne => "rest_for_one",
        }
    }
}

/// An application: its root supervisor (one-for-one, of the same name) holds the
/// supervisors and actors declared with it as parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// The name (also the root supervisor's type).
    pub name: String,
    /// What the node does when the application ends by itself (`mode:`).
    pub mode: Restart,
}

/// A supervisor under an application or another supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sup {
    /// The type's name.
    pub name: String,
    /// Its parent (an application or a supervisor).
    pub parent: String,
    /// Its strategy (`type:`).
    pub kind: Kind,
    /// Its children's restart policy (`strategy:` or `restart:`).
    pub restart: Restart,
}

/// An actor under an application or a supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorDecl {
    /// The type's name.
    pub name: String,
    /// Its parent.
    pub parent: String,
}

/// A web worker: a pool of `#[actor]` workers with `#[get]` handlers behind an HTTP server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Web {
    /// The worker type's name.
    pub name: String,
    /// The host it listens on (`host:`, default 127.0.0.1).
    pub host: String,
    /// The port (`port:`, default 9090, the next free one for a second web worker).
    pub port: u16,
}

/// One child of an application's root or of a supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child<'a> {
    /// A supervisor.
    Sup(&'a Sup),
    /// An actor.
    Actor(&'a ActorDecl),
}

impl<'a> Child<'a> {
    /// The child's type name.
    pub fn name(&self) -> &'a str {
        match self {
            Child::Sup(s) => &s.name,
            Child::Actor(a) => &a.name,
        }
    }
}

/// Everything wrong with a description, one line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<String>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The default web port (Go Ergo's) and the Observer's port.
const WEB_PORT: u16 = 9090;
const OBSERVER_PORT: u16 = 9911;

/// What one name is, for parent checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum What {
    App,
    Sup,
    Actor,
    Web,
}

impl What {
    fn word(self) -> &'static str {
        match self {
            What::App => "application",
            What::Sup => "supervisor",
            What::Actor => "actor",
            What::Web => "web worker",
        }
    }
}

impl Project {
    /// Checks `input` and builds the project, or says everything that is wrong.
    ///
    /// ```
    /// use cargo_ergo::{Input, Project};
    ///
    /// let input = Input {
    ///     node: "MyNode".into(),
    ///     apps: vec!["MyApp".into()],
    ///     sups: vec!["MyApp:MySup".into(), "Nope:Other".into()],
    ///     actors: vec!["MySup:MyActor".into(), "MySup:Type".into()],
    ///     ..Input::default()
    /// };
    /// let problems = Project::build(&input).unwrap_err().to_string();
    /// assert!(problems.contains("the parent `Nope` is not declared"));
    /// assert!(problems.contains("`type` is a Rust keyword"));
    ///
    /// let input = Input {
    ///     sups: vec!["MyApp:MySup".into()],
    ///     actors: vec!["MySup:MyActor".into()],
    ///     ..input
    /// };
    /// let project = Project::build(&input).unwrap();
    /// assert_eq!(project.app_of("MyActor").name, "MyApp");
    /// ```
    pub fn build(input: &Input) -> Result<Project, Problems> {
        let mut problems = Vec::new();
        if let Err(e) = names::check_node_name(&input.node) {
            problems.push(e);
        }
        let mut decls: Vec<(What, Decl)> = Vec::new();
        let groups = [
            (What::App, "--with-app", &input.apps),
            (What::Sup, "--with-sup", &input.sups),
            (What::Actor, "--with-actor", &input.actors),
            (What::Web, "--with-web", &input.webs),
        ];
        for (what, flag, values) in groups {
            for value in values {
                match flags::parse(flag, value) {
                    Ok(d) => decls.push((what, d)),
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }

        let kinds = declare(&decls, &mut problems);
        place(&decls, &kinds, &mut problems);
        let project = lower(&decls, input, &mut problems);
        if problems.is_empty() {
            project.check_tree(&mut problems);
        }
        if problems.is_empty() {
            Ok(project)
        } else {
            Err(Problems(problems))
        }
    }

    /// Nesting without cycles, `simple_one_for_one` with one child, reachable accessors.
    fn check_tree(&self, problems: &mut Vec<String>) {
        for sup in &self.sups {
            let mut chain = vec![sup.name.as_str()];
            let mut at = sup.parent.as_str();
            while let Some(up) = self.sups.iter().find(|s| s.name == at) {
                chain.push(at);
                if up.name == sup.name {
                    problems.push(format!(
                        "supervisor `{}` is nested in itself ({}): every supervisor must lead up to an application",
                        sup.name,
                        chain.join(" → ")
                    ));
                    break;
                }
                if chain.len() > self.sups.len() + 1 {
                    break; // a cycle above this one, reported for its own members
                }
                at = up.parent.as_str();
            }
        }
        if !problems.is_empty() {
            return;
        }
        for sup in &self.sups {
            let children = self.children(&sup.name);
            if sup.kind == Kind::SimpleOneForOne && children.len() != 1 {
                problems.push(format!(
                    "supervisor `{}` is simple_one_for_one (type:sofo): it needs exactly one child, the template of the instances it starts, and has {}",
                    sup.name,
                    children.len()
                ));
            }
        }
        for child in self
            .sups
            .iter()
            .map(Child::Sup)
            .chain(self.actors.iter().map(Child::Actor))
        {
            let what = match child {
                Child::Sup(_) => "supervisor",
                Child::Actor(_) => "actor",
            };
            if let Err(e) = names::check_accessor(child.name(), &self.accessor(child), what) {
                problems.push(e);
            }
        }
    }

    /// The children of the application or supervisor `parent`: supervisors first, then
    /// actors, each in the order given.
    pub fn children(&self, parent: &str) -> Vec<Child<'_>> {
        let sups = self
            .sups
            .iter()
            .filter(|s| s.parent == parent)
            .map(Child::Sup);
        let actors = self
            .actors
            .iter()
            .filter(|a| a.parent == parent)
            .map(Child::Actor);
        sups.chain(actors).collect()
    }

    /// The application a supervisor or actor belongs to (following parents up).
    pub fn app_of(&self, name: &str) -> &App {
        let mut at = name;
        loop {
            if let Some(app) = self.apps.iter().find(|a| a.name == at) {
                return app;
            }
            let parent = self
                .sups
                .iter()
                .find(|s| s.name == at)
                .map(|s| s.parent.as_str())
                .or_else(|| {
                    self.actors
                        .iter()
                        .find(|a| a.name == at)
                        .map(|a| a.parent.as_str())
                });
            at = parent.expect("a checked project: every parent leads to an application");
        }
    }

    /// The supervisor `name` (an application's root is one-for-one, transient children).
    pub fn sup_kind(&self, name: &str) -> (Kind, Restart) {
        match self.sups.iter().find(|s| s.name == name) {
            Some(s) => (s.kind, s.restart),
            None => (Kind::OneForOne, Restart::Transient),
        }
    }

    /// The parent of a child.
    pub fn parent_of<'a>(&self, child: Child<'a>) -> &'a str {
        match child {
            Child::Sup(s) => &s.parent,
            Child::Actor(a) => &a.parent,
        }
    }

    /// The method of its supervisor's handle that reaches `child`.
    pub fn accessor(&self, child: Child<'_>) -> String {
        let snake = names::snake(child.name());
        match self.sup_kind(self.parent_of(child)).0 {
            Kind::SimpleOneForOne => format!("start_{snake}"),
            _ => snake,
        }
    }
}

/// Each name: well formed, placed as its kind requires, declared once. Returns what
/// each declared name is.
fn declare<'a>(decls: &'a [(What, Decl)], problems: &mut Vec<String>) -> HashMap<&'a str, What> {
    let mut kinds: HashMap<&str, What> = HashMap::new();
    let mut modules: HashMap<String, &str> = HashMap::new();
    for (what, d) in decls {
        let (what, name) = (*what, d.name.as_str());
        // A bad name is still declared: its children do not report a missing parent.
        let bad_name = names::check_type_name(name, what.word())
            .map_err(|e| problems.push(format!("{} `{name}`: {e}", d.flag)))
            .is_err();
        match (what, &d.parent) {
                (What::App | What::Web, Some(parent)) => problems.push(format!(
                    "{} `{parent}:{name}`: {} {} has no parent (it belongs to the node): write `{name}`",
                    d.flag,
                    article(what.word()),
                    what.word()
                )),
                (What::Sup | What::Actor, None) => problems.push(format!(
                    "{} `{name}`: {} {} needs a parent: `Parent:{name}`, where `Parent` is an application (--with-app) or a supervisor (--with-sup)",
                    d.flag,
                    article(what.word()),
                    what.word()
                )),
                _ => {}
            }
        if let Some(&before) = kinds.get(name) {
            problems.push(format!(
                "`{name}` is declared twice (as {} {} and as {} {}): names must be unique",
                article(before.word()),
                before.word(),
                article(what.word()),
                what.word()
            ));
            continue;
        }
        kinds.insert(name, what);
        if bad_name {
            continue;
        }
        let module = names::snake(name);
        if let Some(other) = modules.insert(module.clone(), name) {
            problems.push(format!(
                    "`{other}` and `{name}` would both be the module `{module}`: choose names that differ by more than capitals"
                ));
        }
    }
    let mut names: Vec<&str> = kinds.keys().copied().collect();
    names.sort_unstable();
    for name in names {
        for suffix in names::GENERATED_SUFFIXES {
            let taken = format!("{name}{suffix}");
            if kinds.contains_key(taken.as_str()) {
                problems.push(format!(
                        "`{taken}` clashes with the `{taken}` type generated for `{name}`: choose another name"
                    ));
            }
        }
    }

    kinds
}

/// Parents: declared, able to hold children.
fn place(decls: &[(What, Decl)], kinds: &HashMap<&str, What>, problems: &mut Vec<String>) {
    for (what, d) in decls {
        let (Some(parent), What::Sup | What::Actor) = (&d.parent, what) else {
            continue;
        };
        match kinds.get(parent.as_str()) {
                None => problems.push(format!(
                    "{} `{parent}:{}`: the parent `{parent}` is not declared: declare it with --with-app {parent} or --with-sup <Parent>:{parent}",
                    d.flag, d.name
                )),
                Some(k @ (What::Actor | What::Web)) => problems.push(format!(
                    "{} `{parent}:{}`: the parent `{parent}` is {} {}: only applications and supervisors hold children",
                    d.flag,
                    d.name,
                    article(k.word()),
                    k.word()
                )),
                Some(_) => {}
            }
    }
}

/// The project, with each declaration's parameters read (web ports assigned).
fn lower(decls: &[(What, Decl)], input: &Input, problems: &mut Vec<String>) -> Project {
    let mut project = Project {
        node: input.node.clone(),
        apps: Vec::new(),
        sups: Vec::new(),
        actors: Vec::new(),
        webs: Vec::new(),
        observer: input.observer,
        ergo_path: input.ergo_path.clone(),
    };
    let mut explicit_ports: HashMap<u16, String> = HashMap::new();
    let mut webs_without_port = Vec::new();
    for (what, d) in decls {
        let params = Params::new(d);
        match what {
            What::App => {
                let mode = params.restart("mode", problems);
                params.done(&["mode"], problems);
                project.apps.push(App {
                    name: d.name.clone(),
                    mode,
                });
            }
            What::Sup => {
                let kind = params.kind(problems);
                let restart = match params.get("restart") {
                    Some(_) => params.restart("restart", problems),
                    None => params.restart("strategy", problems),
                };
                params.done(&["type", "strategy", "restart"], problems);
                project.sups.push(Sup {
                    name: d.name.clone(),
                    parent: d.parent.clone().unwrap_or_default(),
                    kind,
                    restart,
                });
            }
            What::Actor => {
                params.done(&[], problems);
                project.actors.push(ActorDecl {
                    name: d.name.clone(),
                    parent: d.parent.clone().unwrap_or_default(),
                });
            }
            What::Web => {
                let host = params.get("host").unwrap_or("127.0.0.1").to_string();
                let host_chars = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
                if !host.chars().all(host_chars) {
                    problems.push(format!(
                        "{} `{}`: `host:{host}` is not a host name or an IP address (an IPv6 one in brackets)",
                        d.flag, d.name
                    ));
                }
                let port = params.get("port").map(|p| match p.parse::<u16>() {
                    Ok(port) if port > 0 => port,
                    _ => {
                        problems.push(format!(
                            "{} `{}`: `port:{p}` is not a port number (1-65535)",
                            d.flag, d.name
                        ));
                        WEB_PORT
                    }
                });
                params.done(&["host", "port"], problems);
                match port {
                    Some(port) => {
                        if let Some(other) = explicit_ports.insert(port, d.name.clone()) {
                            problems.push(format!(
                                "web workers `{other}` and `{}` both listen on port {port}",
                                d.name
                            ));
                        } else if input.observer && port == OBSERVER_PORT {
                            problems.push(format!(
                                "web worker `{}` listens on port {port}, the Observer's",
                                d.name
                            ));
                        }
                    }
                    None => webs_without_port.push(project.webs.len()),
                }
                project.webs.push(Web {
                    name: d.name.clone(),
                    host,
                    port: port.unwrap_or(WEB_PORT),
                });
            }
        }
    }
    let mut next = WEB_PORT;
    for i in webs_without_port {
        while explicit_ports.contains_key(&next) || next == OBSERVER_PORT {
            next += 1;
        }
        project.webs[i].port = next;
        next += 1;
    }
    project
}

/// A declaration's parameters: read by key; `done` reports the keys nobody reads.
struct Params<'a> {
    decl: &'a Decl,
}

impl<'a> Params<'a> {
    fn new(decl: &'a Decl) -> Self {
        Params { decl }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.decl
            .params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn restart(&self, key: &str, problems: &mut Vec<String>) -> Restart {
        match self.get(key) {
            None => Restart::Transient,
            Some(v) => Restart::parse(v).unwrap_or_else(|| {
                problems.push(format!(
                    "{} `{}`: `{key}:{v}` is not one of `temp`, `trans`, `perm`",
                    self.decl.flag, self.decl.name
                ));
                Restart::Transient
            }),
        }
    }

    fn kind(&self, problems: &mut Vec<String>) -> Kind {
        match self.get("type") {
            None => Kind::OneForOne,
            Some(v) => Kind::parse(v).unwrap_or_else(|| {
                problems.push(format!(
                    "{} `{}`: `type:{v}` is not one of `ofo`, `sofo`, `afo`, `rfo`",
                    self.decl.flag, self.decl.name
                ));
                Kind::OneForOne
            }),
        }
    }

    /// Reports the parameters not in `known`.
    fn done(&self, known: &[&str], problems: &mut Vec<String>) {
        for (key, _) in &self.decl.params {
            if !known.contains(&key.as_str()) {
                let expected = if known.is_empty() {
                    "it takes none".to_string()
                } else {
                    format!("expected {}", known.join(", "))
                };
                problems.push(format!(
                    "{} `{}`: unknown parameter `{key}` ({expected})",
                    self.decl.flag, self.decl.name
                ));
            }
        }
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(apps: &[&str], sups: &[&str], actors: &[&str], webs: &[&str]) -> Input {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect();
        Input {
            node: "MyNode".into(),
            apps: v(apps),
            sups: v(sups),
            actors: v(actors),
            webs: v(webs),
            observer: true,
            ergo_path: None,
        }
    }

    fn problems(i: Input) -> Vec<String> {
        Project::build(&i).unwrap_err().0
    }

    fn one_problem(i: Input, needle: &str) {
        let p = problems(i);
        assert!(
            p.len() == 1 && p[0].contains(needle),
            "expected one problem containing {needle:?}, got {p:#?}"
        );
    }

    #[test]
    fn a_full_tree_is_built_with_go_ergos_defaults() {
        let p = Project::build(&input(
            &["MyApp", "Other{mode:perm}"],
            &[
                "MyApp:MySup",
                "MySup:Inner{type:rfo,strategy:temp}",
                "Other:Jobs{type:sofo}",
            ],
            &["MySup:MyActor", "MyApp:Direct", "Inner:Deep", "Jobs:Job"],
            &["MyWeb", "Admin{port:8080,host:0.0.0.0}", "Third"],
        ))
        .unwrap();
        assert_eq!(p.apps[0].mode, Restart::Transient);
        assert_eq!(p.apps[1].mode, Restart::Permanent);
        assert_eq!(p.sups[0].kind, Kind::OneForOne);
        assert_eq!(p.sups[1].kind, Kind::RestForOne);
        assert_eq!(p.sups[1].restart, Restart::Temporary);
        let names = |c: Vec<Child<'_>>| c.iter().map(|c| c.name().to_string()).collect::<Vec<_>>();
        assert_eq!(names(p.children("MyApp")), ["MySup", "Direct"]);
        assert_eq!(names(p.children("MySup")), ["Inner", "MyActor"]);
        assert_eq!(p.app_of("Deep").name, "MyApp");
        assert_eq!(p.app_of("Job").name, "Other");
        assert_eq!(p.accessor(p.children("Jobs")[0]), "start_job");
        let ports: Vec<u16> = p.webs.iter().map(|w| w.port).collect();
        assert_eq!(ports, [9090, 8080, 9091]);
        assert_eq!(p.webs[1].host, "0.0.0.0");
    }

    #[test]
    fn a_node_alone_is_a_project() {
        let p = Project::build(&input(&[], &[], &[], &[])).unwrap();
        assert!(p.apps.is_empty() && p.observer);
    }

    #[test]
    fn duplicates_are_refused() {
        one_problem(
            input(&["MyApp"], &["MyApp:Same"], &["MyApp:Same"], &[]),
            "`Same` is declared twice (as a supervisor and as an actor)",
        );
        one_problem(
            input(&["MyApp", "MyApp"], &[], &[], &[]),
            "`MyApp` is declared twice",
        );
        one_problem(
            input(
                &["MyApp"],
                &[],
                &["MyApp:HttpServer", "MyApp:HTTPServer"],
                &[],
            ),
            "would both be the module `http_server`",
        );
        one_problem(
            input(
                &["MyApp"],
                &[],
                &["MyApp:Counter", "MyApp:CounterHandle"],
                &[],
            ),
            "`CounterHandle` clashes with the `CounterHandle` type generated for `Counter`",
        );
    }

    #[test]
    fn parents_must_exist_and_hold_children() {
        one_problem(
            input(&["MyApp"], &["Nope:MySup"], &[], &[]),
            "the parent `Nope` is not declared",
        );
        one_problem(
            input(&["MyApp"], &[], &["MyApp:A", "A:B"], &[]),
            "the parent `A` is an actor: only applications and supervisors hold children",
        );
        one_problem(
            input(&[], &[], &["MyWeb:A"], &["MyWeb"]),
            "the parent `MyWeb` is a web worker",
        );
        one_problem(
            input(&["MyApp"], &["MySup"], &[], &[]),
            "a supervisor needs a parent",
        );
        one_problem(
            input(&["MyApp"], &[], &["MyActor"], &[]),
            "an actor needs a parent",
        );
        one_problem(
            input(&["MyApp", "X:Other"], &[], &[], &[]),
            "an application has no parent",
        );
    }

    #[test]
    fn supervisors_may_not_nest_in_themselves() {
        let p = problems(input(&["MyApp"], &["A:B", "B:A"], &[], &[]));
        assert!(
            p.iter()
                .any(|l| l.contains("`A` is nested in itself (A → B → A)")),
            "{p:#?}"
        );
        assert!(
            p.iter().any(|l| l.contains("`B` is nested in itself")),
            "{p:#?}"
        );
    }

    #[test]
    fn simple_one_for_one_needs_exactly_one_child() {
        one_problem(
            input(&["MyApp"], &["MyApp:Jobs{type:sofo}"], &[], &[]),
            "needs exactly one child, the template of the instances it starts, and has 0",
        );
        one_problem(
            input(
                &["MyApp"],
                &["MyApp:Jobs{type:sofo}"],
                &["Jobs:A", "Jobs:B"],
                &[],
            ),
            "and has 2",
        );
    }

    #[test]
    fn bad_names_and_parameters_are_reported_together() {
        let p = problems(input(
            &["my_app", "Good{mode:forever}"],
            &["Good:Sup{type:xyz,color:red}"],
            &["Good:Type", "Good:Stop"],
            &["Web{port:99999}", "Other{port:80}", "Third{port:80}"],
        ));
        let expect = [
            "--with-app `my_app`: the application name `my_app` must start with an uppercase",
            "`mode:forever` is not one of `temp`, `trans`, `perm`",
            "`type:xyz` is not one of `ofo`, `sofo`, `afo`, `rfo`",
            "unknown parameter `color` (expected type, strategy, restart)",
            "its module and child name `type` is a Rust keyword",
            "`port:99999` is not a port number",
            "web workers `Other` and `Third` both listen on port 80",
        ];
        for e in expect {
            assert!(p.iter().any(|l| l.contains(e)), "missing {e:?} in {p:#?}");
        }
        assert_eq!(p.len(), expect.len(), "{p:#?}");
        // The accessor check runs once the rest is right.
        one_problem(
            input(&["Good"], &[], &["Good:Stop"], &[]),
            "its supervisor's accessor `sup.stop(..)`",
        );
    }

    #[test]
    fn web_hosts_are_host_names_or_addresses() {
        let p = Project::build(&input(
            &[],
            &[],
            &[],
            &["A{host:[::1]}", "B{host:my-host.lan}"],
        ));
        assert_eq!(p.unwrap().webs[0].host, "[::1]");
        one_problem(
            input(&[], &[], &[], &[r#"A{host:a"b}"#]),
            "is not a host name or an IP address",
        );
    }

    #[test]
    fn the_observers_port_is_not_given_to_a_web_worker() {
        one_problem(input(&[], &[], &[], &["W{port:9911}"]), "the Observer's");
        let mut i = input(&[], &[], &[], &["A{port:9090}", "B"]);
        i.observer = false;
        let p = Project::build(&i).unwrap();
        assert_eq!(p.webs[1].port, 9091);
    }

    #[test]
    fn problems_print_one_per_line() {
        let p = Project::build(&input(&["a", "b"], &[], &[], &[])).unwrap_err();
        assert_eq!(p.to_string().lines().count(), 2);
        assert!(p.to_string().starts_with("error: --with-app `a`"));
    }
}
