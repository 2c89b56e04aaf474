//! The names the generated handle methods may not take: `actor_ref.name(..)` finds a
//! method of `ActorRef` itself (inherent, or of a prelude trait it implements) before
//! it derefs to the handle, so a handler or child of that name could never be called.
//!
//! This is the one list both `#[actor]` and `supervisor!` check. It mirrors
//! `ergo-runtime`'s `ActorRef` by hand (a proc-macro crate cannot depend on it); the
//! test below reads the runtime's source and fails when the two drift apart.

/// Inherent methods of every `ActorRef<A>` (`impl<A: Actor> ActorRef<A>`).
pub const ACTOR_REF: &[&str] = &[
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
];

/// Inherent methods of the `ActorRef<S>` of a supervisor (`impl<S: SupervisorActor>
/// ActorRef<S>`): they hide the accessors `supervisor!` generates.
pub const SUPERVISOR_REF: &[&str] = &[
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
];

/// Methods of traits `ActorRef` implements that are in scope everywhere (the prelude),
/// or reached through `Deref`, with the trait.
pub const TRAIT_METHODS: &[(&str, &str)] = &[
    ("clone", "Clone"),
    ("clone_from", "Clone"),
    ("eq", "PartialEq"),
    ("ne", "PartialEq"),
    ("assert_receiver_is_total_eq", "Eq"),
    ("into", "Into"),
    ("try_into", "TryInto"),
    ("to_owned", "ToOwned"),
    ("clone_into", "ToOwned"),
    ("deref", "Deref"),
];

/// Why a method of the handle may not be called `name`, if it may not. `supervisor`:
/// the handle of a supervisor (its `ActorRef` has the supervisor operations too).
pub fn collision(name: &str, supervisor: bool) -> Option<String> {
    let name = name.trim_start_matches("r#");
    if ACTOR_REF.contains(&name) || (supervisor && SUPERVISOR_REF.contains(&name)) {
        return Some(format!("the inherent method `ActorRef::{name}`"));
    }
    TRAIT_METHODS
        .iter()
        .find(|(method, _)| *method == name)
        .map(|(method, tr)| format!("`{tr}::{method}`, which `ActorRef` implements"))
}

#[cfg(test)]
mod tests {
    //! Reads every `impl .. ActorRef<..>` in the workspace's sources (an inherent impl
    //! can only be in the crate that defines `ActorRef`, wherever that moves) and
    //! compares its public methods with the lists above.

    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use quote::ToTokens;
    use syn::{ImplItem, Item, Type, Visibility};

    use super::*;

    /// Methods of prelude traits, by trait: an `ActorRef` impl of one of these must
    /// have its methods reserved.
    const PRELUDE_TRAITS: &[(&str, &[&str])] = &[
        ("Clone", &["clone", "clone_from"]),
        ("PartialEq", &["eq", "ne"]),
        ("Eq", &["assert_receiver_is_total_eq"]),
        ("PartialOrd", &["partial_cmp", "lt", "le", "gt", "ge"]),
        ("Ord", &["cmp", "max", "min", "clamp"]),
        ("AsRef", &["as_ref"]),
        ("AsMut", &["as_mut"]),
        ("Deref", &["deref"]),
        ("Display", &["to_string"]),
        ("IntoIterator", &["into_iter"]),
        ("Iterator", &["next"]),
        ("Extend", &["extend"]),
        ("IntoFuture", &["into_future"]),
        ("Future", &["poll"]),
    ];

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    fn is_actor_ref(ty: &Type) -> bool {
        matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "ActorRef"))
    }

    #[derive(Default)]
    struct Found {
        actor: BTreeSet<String>,
        supervisor: BTreeSet<String>,
        traits: BTreeSet<String>,
    }

    fn scan(items: &[Item], found: &mut Found) {
        for item in items {
            match item {
                Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        scan(items, found);
                    }
                }
                Item::Impl(imp) if is_actor_ref(&imp.self_ty) => match &imp.trait_ {
                    Some((_, path, _)) => {
                        let name = path.segments.last().map(|s| s.ident.to_string());
                        if name.as_deref() == Some("SupervisorExt") {
                            // The supervisor operations, an extension trait in ergo-otp.
                            for it in &imp.items {
                                if let ImplItem::Fn(f) = it {
                                    found.supervisor.insert(f.sig.ident.to_string());
                                }
                            }
                        }
                        found.traits.extend(name);
                    }
                    None => {
                        let bounds = imp.generics.to_token_stream().to_string();
                        let set = if bounds.contains("SupervisorActor") {
                            &mut found.supervisor
                        } else {
                            &mut found.actor
                        };
                        for it in &imp.items {
                            if let ImplItem::Fn(f) = it {
                                if matches!(f.vis, Visibility::Public(_))
                                    && f.sig.receiver().is_some()
                                {
                                    set.insert(f.sig.ident.to_string());
                                }
                            }
                        }
                    }
                },
                _ => {}
            }
        }
    }

    fn workspace_actor_ref() -> Found {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&root).expect("the workspace").flatten() {
            let name = entry.file_name();
            if name == "target" || name == "ergo-macros" || name.to_string_lossy().starts_with('.')
            {
                continue;
            }
            rust_files(&entry.path().join("src"), &mut files);
        }
        let mut found = Found::default();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            let parsed =
                syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            scan(&parsed.items, &mut found);
        }
        found
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_reserved_names_are_the_methods_of_actor_ref() {
        let found = workspace_actor_ref();
        assert!(
            found.actor.contains("pid"),
            "no `impl<A: Actor> ActorRef<A>` found in the workspace's sources: where did \
             `ActorRef` go? Point this test there."
        );
        assert_eq!(
            found.actor,
            set(ACTOR_REF),
            "`ActorRef<A>`'s public methods changed: update `ACTOR_REF` in \
             ergo-macros/src/reserved.rs (and the ui-test of reserved names)"
        );
        assert_eq!(
            found.supervisor,
            set(SUPERVISOR_REF),
            "the supervisor operations on `ActorRef<S>` changed: update `SUPERVISOR_REF` \
             in ergo-macros/src/reserved.rs"
        );
        let reserved: BTreeSet<&str> = TRAIT_METHODS.iter().map(|(m, _)| *m).collect();
        for tr in &found.traits {
            if let Some((_, methods)) = PRELUDE_TRAITS.iter().find(|(t, _)| t == tr) {
                for m in *methods {
                    assert!(
                        reserved.contains(m),
                        "`ActorRef` implements `{tr}`: add `{m}` to `TRAIT_METHODS`"
                    );
                }
            }
        }
        // Blanket impls every `ActorRef` gets.
        for m in ["into", "try_into", "to_owned", "clone_into"] {
            assert!(reserved.contains(m), "{m}");
        }
    }

    #[test]
    fn collisions_name_what_would_be_called() {
        assert!(collision("is_local", false)
            .unwrap()
            .contains("ActorRef::is_local"));
        assert!(collision("stop", false).is_none());
        assert!(collision("stop", true).is_some());
        assert!(collision("clone_into", false).unwrap().contains("ToOwned"));
        assert!(collision("add", true).is_none());
    }
}
