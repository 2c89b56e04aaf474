//! The names a project is described with: each must be a Rust type name in
//! UpperCamelCase whose snake_case form (module, file, child and application name) is a
//! usable identifier too, and none may clash with what the generated code uses.

use heck::{ToKebabCase, ToSnakeCase};

/// Rust's keywords (strict, reserved and weak ones that cannot name a module or a
/// field): a name whose snake_case form is one of them cannot name a module or a child.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Type names the generated code uses unqualified (the standard prelude, `ergo`'s
/// prelude and what the generated files import): a project type of the same name would
/// shadow them.
const TYPES_IN_USE: &[&str] = &[
    // std prelude and common std items
    "Self",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "Vec",
    "Box",
    "Default",
    "Debug",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Iterator",
    "IntoIterator",
    "Extend",
    "ToString",
    "ToOwned",
    "Into",
    "From",
    "TryFrom",
    "TryInto",
    "AsRef",
    "AsMut",
    "Eq",
    "PartialEq",
    "Ord",
    "PartialOrd",
    "Duration",
    "Error",
    // ergo's prelude
    "Actor",
    "ActorRef",
    "CallError",
    "Context",
    "Down",
    "Exit",
    "LookupError",
    "Node",
    "NodeMonitor",
    "Pid",
    "Priority",
    "Reason",
    "Ref",
    "ReplyTo",
    "SendError",
    "SpawnError",
    "SpawnOptions",
    "Step",
    "Target",
    "ChildRef",
    "ChildSpec",
    "Restart",
    "Strategy",
    "Supervisor",
    "SupervisorError",
    "SupervisorExt",
    "SupervisorRef",
    "SupervisorSpec",
    "ApplicationExt",
    "ApplicationSpec",
    "Event",
    "EventDemand",
    "EventDown",
    "EventOptions",
    "EventsExt",
    "NetBuilderExt",
    "NetworkExt",
    // imported by the generated node, web and observer code
    "NetOptions",
    "Pool",
    "PoolOptions",
    "Json",
    "WebOptions",
    "WebServer",
    "WebListening",
    "WebResponse",
    "MetaError",
    "ObserverExt",
    "ObserverOptions",
];

/// Module names the generated library and binary already use at their root.
const MODULES_IN_USE: &[&str] = &[
    "apps", "main", "lib", "build", "tests", "ergo", "tokio", "tracing",
];

/// Methods of every `ActorRef` and of a supervisor's `ActorRef` (and of the traits they
/// implement): a child of that name could not be reached through its accessor.
const ACCESSORS_TAKEN: &[&str] = &[
    "exit",
    "forward",
    "forward_call",
    "is_alive",
    "is_local",
    "node",
    "pid",
    "request",
    "request_map",
    "send",
    "send_important",
    "send_with_priority",
    "child",
    "count_children",
    "delete_child",
    "restart_child",
    "start_child",
    "start_child_with",
    "stop",
    "supervisor",
    "terminate_child",
    "which_children",
    "clone",
    "clone_from",
    "eq",
    "ne",
    "into",
    "try_into",
    "to_owned",
    "clone_into",
    "deref",
];

/// The suffixes `#[actor]` and `supervisor!` append to a type's name for the items they
/// generate beside it (`CounterHandle`, `CounterMessage`, ...).
pub const GENERATED_SUFFIXES: &[&str] = &["Call", "Handle", "Message", "Reply"];

/// Crate names a project cannot take: its dependencies and the built-in crates.
const CRATES_TAKEN: &[&str] = &[
    "ergo",
    "tokio",
    "tracing",
    "std",
    "core",
    "alloc",
    "test",
    "proc_macro",
    "serde",
];

/// Why `name` cannot name a type of the project, if it cannot. `what` says which flag
/// it came from ("application", "supervisor", ...), for the message.
pub fn check_type_name(name: &str, what: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err(format!("the {what} name is empty"));
    };
    if !first.is_ascii_uppercase() {
        return Err(format!(
            "the {what} name `{name}` must start with an uppercase ASCII letter (UpperCamelCase, e.g. `{}`)",
            suggestion(name)
        ));
    }
    if let Some(bad) = name.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(format!(
            "the {what} name `{name}` contains `{bad}`: use ASCII letters and digits only (UpperCamelCase, e.g. `{}`)",
            suggestion(name)
        ));
    }
    if name.len() > 1 && !name.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(format!(
            "the {what} name `{name}` is all capitals: write it in UpperCamelCase (e.g. `{}`)",
            suggestion(name)
        ));
    }
    if TYPES_IN_USE.contains(&name) {
        return Err(format!(
            "the {what} name `{name}` is reserved: the generated code uses `{name}` from the standard library or ergo. Choose another name"
        ));
    }
    let snake = snake(name);
    if KEYWORDS.contains(&snake.as_str()) {
        return Err(format!(
            "the {what} name `{name}` is reserved: its module and child name `{snake}` is a Rust keyword. Choose another name"
        ));
    }
    if MODULES_IN_USE.contains(&snake.as_str()) {
        return Err(format!(
            "the {what} name `{name}` is reserved: the generated project already has a module or crate `{snake}`. Choose another name"
        ));
    }
    Ok(())
}

/// Why a child called `accessor` (`snake` name, or `start_<snake>` under a
/// `simple_one_for_one` supervisor) cannot be reached through its supervisor's handle.
pub fn check_accessor(name: &str, accessor: &str, what: &str) -> Result<(), String> {
    if ACCESSORS_TAKEN.contains(&accessor) {
        return Err(format!(
            "the {what} name `{name}` is reserved: its supervisor's accessor `sup.{accessor}(..)` would call the method `ActorRef::{accessor}` instead. Choose another name"
        ));
    }
    Ok(())
}

/// Why `name` cannot name the node (and so the generated crate), if it cannot.
pub fn check_node_name(name: &str) -> Result<(), String> {
    check_type_name(name, "node")?;
    let krate = snake(name);
    if CRATES_TAKEN.contains(&krate.as_str()) {
        return Err(format!(
            "the node name `{name}` is reserved: the generated crate `{krate}` would clash with the crate `{krate}` it uses. Choose another name"
        ));
    }
    Ok(())
}

/// `MyActor` → `my_actor`: module, file, child, application and crate (library) name.
pub fn snake(name: &str) -> String {
    name.to_snake_case()
}

/// `MyNode` → `my-node`: the package and binary name.
pub fn kebab(name: &str) -> String {
    name.to_kebab_case()
}

/// A name in UpperCamelCase built from the letters and digits of `name`, for messages.
fn suggestion(name: &str) -> String {
    use heck::ToUpperCamelCase;
    let camel: String = name
        .to_upper_camel_case()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    match camel.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => camel,
        _ => format!("My{camel}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_camel_case_names_are_accepted() {
        for name in ["MyActor", "A", "Worker2", "HttpServer", "HTTPServer"] {
            assert_eq!(check_type_name(name, "actor"), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_that_are_not_upper_camel_case_are_refused_with_a_suggestion() {
        let e = check_type_name("my_actor", "actor").unwrap_err();
        assert!(
            e.contains("must start with an uppercase") && e.contains("`MyActor`"),
            "{e}"
        );
        let e = check_type_name("My_Actor", "actor").unwrap_err();
        assert!(e.contains("contains `_`") && e.contains("`MyActor`"), "{e}");
        let e = check_type_name("Mein-Akteur", "actor").unwrap_err();
        assert!(e.contains("contains `-`"), "{e}");
        let e = check_type_name("Café", "actor").unwrap_err();
        assert!(e.contains("contains `é`"), "{e}");
        let e = check_type_name("HTTP", "web").unwrap_err();
        assert!(e.contains("all capitals") && e.contains("`Http`"), "{e}");
        let e = check_type_name("2Fast", "actor").unwrap_err();
        assert!(e.contains("must start with an uppercase"), "{e}");
        assert!(check_type_name("", "actor").unwrap_err().contains("empty"));
    }

    #[test]
    fn keywords_and_names_the_generated_code_uses_are_reserved() {
        let e = check_type_name("Type", "actor").unwrap_err();
        assert!(e.contains("`type` is a Rust keyword"), "{e}");
        let e = check_type_name("Match", "supervisor").unwrap_err();
        assert!(e.contains("`match` is a Rust keyword"), "{e}");
        let e = check_type_name("Node", "actor").unwrap_err();
        assert!(e.contains("reserved") && e.contains("`Node`"), "{e}");
        let e = check_type_name("Result", "application").unwrap_err();
        assert!(e.contains("reserved"), "{e}");
        let e = check_type_name("Apps", "web").unwrap_err();
        assert!(e.contains("module or crate `apps`"), "{e}");
        let e = check_type_name("Main", "web").unwrap_err();
        assert!(e.contains("module or crate `main`"), "{e}");
    }

    #[test]
    fn accessors_of_actor_refs_are_reserved_for_children() {
        let e = check_accessor("Stop", "stop", "actor").unwrap_err();
        assert!(e.contains("`sup.stop(..)`"), "{e}");
        assert!(check_accessor("ChildWith", "start_child_with", "actor").is_err());
        assert!(check_accessor("Pid", "pid", "actor").is_err());
        assert_eq!(check_accessor("Counter", "counter", "actor"), Ok(()));
    }

    #[test]
    fn node_names_may_not_take_a_dependency_crate_name() {
        let e = check_node_name("Ergo").unwrap_err();
        assert!(e.contains("crate `ergo`"), "{e}");
        assert!(check_node_name("Tokio").is_err());
        assert_eq!(check_node_name("MyNode"), Ok(()));
    }

    #[test]
    fn snake_and_kebab_forms() {
        assert_eq!(snake("MyActor"), "my_actor");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("Worker2"), "worker2");
        assert_eq!(kebab("MyNode"), "my-node");
    }
}
