//! Registered names and aliases: register / unregister / whereis, one name per process,
//! taken names, names freed at exit; aliases created, used, deleted and dropped at exit.

use ergo::NetError;
use ergo::{Atom, LookupError, NameError, Reason, SendError, SpawnError, SpawnOptions};
use ergo_tests::{ask, guard, node, seen, Cmd, Probe, Recorder};

#[tokio::test]
async fn register_whereis_unregister() {
    let node = node("names").await;
    let a = node.spawn(Probe::new("a")).await.unwrap();
    let names_before = node.info().registered_names;

    assert_eq!(node.whereis("alpha"), None);
    node.register("alpha", a.pid()).unwrap();
    assert_eq!(node.whereis("alpha"), Some(a.pid()));
    assert_eq!(node.info().registered_names, names_before + 1);
    assert_eq!(
        node.process_info(a.pid()).unwrap().name,
        Some(Atom::new("alpha"))
    );

    // By name: send, typed lookup, monitor.
    node.send("alpha", 1u64).unwrap();
    assert_eq!(seen(&node.lookup::<Probe>("alpha").unwrap()).await, vec![1]);

    node.unregister("alpha").unwrap();
    assert_eq!(node.whereis("alpha"), None);
    assert_eq!(node.process_info(a.pid()).unwrap().name, None);
    assert_eq!(node.unregister("alpha"), Err(NameError::Unknown));
    assert!(matches!(
        node.send("alpha", 2u64),
        Err(SendError::NoProcess(_))
    ));
    assert_eq!(node.info().registered_names, names_before);

    // Unregistered, it may take a new name; from inside the process too.
    let registered = ask(&a, |_, ctx| ctx.register("beta")).await.unwrap();
    assert_eq!(registered, Ok(()));
    assert_eq!(node.whereis("beta"), Some(a.pid()));
    assert_eq!(ask(&a, |_, ctx| ctx.unregister()).await.unwrap(), Ok(()));
    assert_eq!(node.whereis("beta"), None);
    assert_eq!(
        ask(&a, |_, ctx| ctx.unregister()).await.unwrap(),
        Err(NameError::Unknown)
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_taken_name_is_an_error_and_a_process_has_one_name() {
    let node = node("taken").await;
    let a = node.spawn_register("gamma", Probe::new("a")).await.unwrap();
    let b = node.spawn(Probe::new("b")).await.unwrap();

    assert_eq!(
        node.register("gamma", b.pid()),
        Err(NameError::Taken(Atom::new("gamma")))
    );
    assert_eq!(
        node.register("delta", a.pid()),
        Err(NameError::AlreadyNamed(Atom::new("gamma")))
    );
    assert_eq!(node.whereis("delta"), None);

    // A spawn asking for a taken name fails and leaves nothing behind.
    let before = node.info().processes;
    let err = node
        .spawn_with(Probe::new("c"), (), SpawnOptions::new().name("gamma"))
        .await
        .unwrap_err();
    assert_eq!(err, SpawnError::Name(NameError::Taken(Atom::new("gamma"))));
    assert_eq!(node.info().processes, before);
    assert_eq!(node.whereis("gamma"), Some(a.pid()));

    // Registering a dead process fails.
    let monitor = node.monitor(b.pid()).unwrap();
    b.send(Cmd::Stop(Reason::Normal)).unwrap();
    guard("b's Down", monitor.down()).await;
    assert_eq!(node.register("epsilon", b.pid()), Err(NameError::NoProcess));
    assert_eq!(node.whereis("epsilon"), None);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_name_is_freed_when_its_process_ends() {
    let node = node("freed").await;
    let a = node.spawn_register("zeta", Probe::new("a")).await.unwrap();
    let monitor = node.monitor("zeta").unwrap();
    a.send(Cmd::Stop(Reason::Normal)).unwrap();
    let down = guard("the Down", monitor.down()).await;
    assert_eq!(down.name, Some(Atom::new("zeta")));
    assert_eq!(down.pid, a.pid());
    assert_eq!(node.whereis("zeta"), None);
    // Free for someone else.
    let b = node.spawn_register("zeta", Probe::new("b")).await.unwrap();
    assert_eq!(node.whereis("zeta"), Some(b.pid()));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn aliases_route_messages_until_deleted() {
    let node = node("aliases").await;
    let a = node.spawn(Probe::new("a")).await.unwrap();
    let b = node.spawn(Probe::new("b")).await.unwrap();
    let aliases_before = node.info().aliases;

    // Created from outside and from inside the process.
    let outer = node.create_alias(a.pid()).unwrap();
    let inner = ask(&a, |_, ctx| ctx.create_alias()).await.unwrap();
    assert_ne!(outer, inner);
    assert_eq!(node.info().aliases, aliases_before + 2);
    let mut listed = node.process_info(a.pid()).unwrap().aliases;
    listed.sort_by_key(|x| format!("{x:?}"));
    let mut expected = vec![outer, inner];
    expected.sort_by_key(|x| format!("{x:?}"));
    assert_eq!(listed, expected);

    node.send(outer, 1u64).unwrap();
    node.send(inner, Cmd::Record(2)).unwrap();
    assert_eq!(seen(&a).await, vec![1, 2]);

    // Only the owner may delete an alias.
    assert_eq!(node.delete_alias(outer, b.pid()), Err(NameError::NotOwner));
    node.delete_alias(outer, a.pid()).unwrap();
    assert_eq!(node.delete_alias(outer, a.pid()), Err(NameError::Unknown));
    match node.send(outer, 3u64) {
        Err(SendError::NoProcess(msg)) => assert_eq!(*msg.downcast::<u64>().unwrap(), 3),
        other => panic!("expected NoProcess, got {other:?}"),
    }
    let deleted = ask(&a, move |_, ctx| ctx.delete_alias(inner))
        .await
        .unwrap();
    assert_eq!(deleted, Ok(()));
    assert!(node.send(inner, 4u64).is_err());
    assert_eq!(seen(&a).await, vec![1, 2]);
    assert_eq!(node.info().aliases, aliases_before);

    // An alias dies with its process.
    let last = node.create_alias(b.pid()).unwrap();
    node.send(last, 5u64).unwrap();
    assert_eq!(seen(&b).await, vec![5]);
    let monitor = node.monitor(b.pid()).unwrap();
    b.send(Cmd::Stop(Reason::Normal)).unwrap();
    guard("b's Down", monitor.down()).await;
    assert!(matches!(
        node.send(last, 6u64),
        Err(SendError::NoProcess(_))
    ));
    assert_eq!(node.info().aliases, aliases_before);
    assert_eq!(node.create_alias(b.pid()), Err(NameError::NoProcess));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_typed_lookup_says_why_it_found_nothing() {
    let node = node("lookups").await;
    let probe = node.spawn_register("probe", Probe::new("p")).await.unwrap();
    assert_eq!(node.lookup::<Probe>("probe"), Ok(probe));
    assert_eq!(node.lookup::<Probe>("nobody"), Err(LookupError::NotFound));
    let wrong = LookupError::WrongType {
        expected: std::any::type_name::<Recorder>(),
        found: std::any::type_name::<Probe>(),
    };
    assert_eq!(node.lookup::<Recorder>("probe"), Err(wrong.clone()));
    assert!(wrong.to_string().contains("Probe"), "{wrong}");
    // The same answer as a lookup through the node's name (as for another node).
    let here = node.name().to_string();
    assert_eq!(
        node.lookup_remote::<Recorder>("probe", &here).await,
        Err(NetError::WrongType {
            expected: std::any::type_name::<Recorder>(),
            found: std::any::type_name::<Probe>().to_owned(),
        })
    );
    node.stop().await.unwrap();
}
