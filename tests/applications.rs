//! Applications on a real node: load, start (dependencies first), info, roles, env,
//! stop, unload; and what a root ending by itself does to the node in each start mode.
//! Waits are for `Down`s, replies and the node's own stop, never for time.

use ergo::prelude::*;
use ergo::supervisor::Strategy;
use ergo::{ApplicationError, ApplicationState, SpawnError};
use ergo_tests::{guard, node};

#[derive(Default)]
pub struct Service;

#[actor]
impl Service {
    #[handle_call]
    fn env(&mut self, ctx: &mut Context<Self>, key: String) -> Option<String> {
        ctx.env(&key)
    }

    #[handle_cast]
    fn crash(&mut self) {
        panic!("service crashed");
    }

    #[handle_cast]
    fn quit(&mut self, ctx: &mut Context<Self>) {
        ctx.stop(Reason::Normal);
    }
}

supervisor! {
    pub WebSup: one_for_one {
        web: Service,
    }
}

supervisor! {
    pub DbSup: one_for_one {
        db: Service,
    }
}

/// A tree whose root stops as soon as its one (temporary, significant) child ends.
fn fragile(name: &str) -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .auto_shutdown(ergo::supervisor::AutoShutdown::AnySignificant)
        .child(
            ChildSpec::new(name, || (Service, ()))
                .registered()
                .restart(Restart::Temporary)
                .significant(true),
        );
    ChildSpec::new("root", move || (Supervisor::new(spec.clone()), ()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_start_inspect_stop() {
    let node = node("apps").await;
    node.load_application(
        ApplicationSpec::new("web", ChildSpec::new("web_sup", || (WebSup::new(), ())))
            .description("the web tier")
            .version("1.2.0")
            .env("greeting", "hello")
            .tag("frontend")
            .role("http", "web")
            .depends_on("db"),
    )
    .unwrap();
    assert_eq!(
        node.start_application("web").await,
        Err(ApplicationError::MissingDependency {
            app: "web".into(),
            dependency: "db".into()
        })
    );
    node.load_application(ApplicationSpec::new(
        "db",
        ChildSpec::new("db_sup", || (DbSup::new(), ())),
    ))
    .unwrap();
    assert_eq!(
        node.load_application(ApplicationSpec::new(
            "db",
            ChildSpec::new("db_sup", || (DbSup::new(), ()))
        )),
        Err(ApplicationError::AlreadyLoaded("db".into()))
    );

    // db starts first, as web depends on it.
    let root = node.start_application("web").await.unwrap();
    let running: Vec<String> = node
        .running_applications()
        .iter()
        .map(|a| a.name.to_string())
        .collect();
    assert_eq!(running, ["web", "db"]);
    let info = node.application_info("web").unwrap();
    assert_eq!(info.state, ApplicationState::Running);
    assert_eq!(info.pid, Some(root));
    assert_eq!(info.description, "the web tier");
    assert_eq!(info.tags, vec!["frontend".into()]);
    assert_eq!(node.application_role("web", "http"), node.whereis("web"));
    assert!(node.application_role("web", "nope").is_none());
    assert_eq!(
        node.start_application("web").await,
        Err(ApplicationError::AlreadyRunning("web".into()))
    );

    // The application's env reaches every process of its tree; the node's does too.
    node.set_env("region", Some("eu"));
    let web: ActorRef<Service> = node.lookup("web").unwrap();
    assert_eq!(
        web.env("greeting".into()).await.unwrap().as_deref(),
        Some("hello")
    );
    assert_eq!(
        web.env("region".into()).await.unwrap().as_deref(),
        Some("eu")
    );
    let db: ActorRef<Service> = node.lookup("db").unwrap();
    assert_eq!(db.env("greeting".into()).await.unwrap(), None);

    // The tree supervises: a crash is a restart, not the application's end.
    let down = node.monitor(web.pid()).unwrap();
    web.crash().unwrap();
    guard("web's Down", down.down()).await;
    assert_eq!(
        node.application_info("web").unwrap().state,
        ApplicationState::Running
    );

    assert_eq!(
        node.unload_application("web"),
        Err(ApplicationError::AlreadyRunning("web".into()))
    );
    let down = node.monitor(root).unwrap();
    node.stop_application("web").await.unwrap();
    assert_eq!(
        guard("the root's Down", down.down()).await.reason,
        Reason::Shutdown
    );
    assert!(node.whereis("web").is_none());
    assert_eq!(
        node.application_info("web").unwrap().state,
        ApplicationState::Loaded
    );
    assert_eq!(
        node.stop_application("web").await,
        Err(ApplicationError::NotRunning("web".into()))
    );
    node.unload_application("web").unwrap();
    assert!(node.application_info("web").is_none());
    // Stopping an application never stops the node.
    assert!(node.lookup::<Service>("db").is_ok());
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependency_cycles_and_failed_starts_are_errors() {
    let node = node("apps_errors").await;
    let root = || {
        ChildSpec::new("root", || {
            (
                Supervisor::new(SupervisorSpec::new(Strategy::OneForOne)),
                (),
            )
        })
    };
    node.load_application(ApplicationSpec::new("a", root()).depends_on("b"))
        .unwrap();
    node.load_application(ApplicationSpec::new("b", root()).depends_on("a"))
        .unwrap();
    assert!(matches!(
        node.start_application("a").await,
        Err(ApplicationError::DependencyCycle(_))
    ));
    assert_eq!(
        node.start_application("zzz").await,
        Err(ApplicationError::NotLoaded("zzz".into()))
    );
    // A root whose child fails to start: the start fails, nothing is left running.
    let failing = SupervisorSpec::new(Strategy::OneForOne)
        .child(ChildSpec::with_args("needs_args", || {
            Supervisor::new(SupervisorSpec::new(Strategy::OneForOne))
        }));
    let before = node.info().processes;
    node.load_application(ApplicationSpec::new(
        "broken",
        ChildSpec::new("root", move || (Supervisor::new(failing.clone()), ())),
    ))
    .unwrap();
    assert!(matches!(
        node.start_application("broken").await,
        Err(ApplicationError::Start {
            error: SpawnError::Init(_),
            ..
        })
    ));
    assert_eq!(node.info().processes, before);
    assert_eq!(
        node.application_info("broken").unwrap().state,
        ApplicationState::Loaded
    );
    node.stop().await.unwrap();
}

/// Starts an application in `mode` whose tree ends (with `Shutdown`, through
/// auto-shutdown) when its only child ends; returns whether that stopped the node.
async fn mode_case(mode: Restart, expect_node_stop: bool) {
    let node = node("apps_modes").await;
    node.load_application(ApplicationSpec::new("app", fragile("svc")).mode(mode))
        .unwrap();
    let root = node.start_application("app").await.unwrap();
    let down = node.monitor(root).unwrap();
    let svc: ActorRef<Service> = node.lookup("svc").unwrap();
    svc.crash().unwrap();
    guard("the root's Down", down.down()).await;
    if expect_node_stop {
        guard("the node to stop", node.wait()).await.unwrap();
        assert!(matches!(
            node.spawn(Service).await,
            Err(SpawnError::NodeStopping)
        ));
    }
    // The node marks the application ended once it has applied the mode.
    ergo_tests::eventually("the application to be marked ended", || {
        node.application_info("app").unwrap().state == ApplicationState::Loaded
    })
    .await;
    let info = node.application_info("app").unwrap();
    assert_eq!(info.last_exit, Some(Reason::Shutdown), "{mode:?}");
    if !expect_node_stop {
        let probe = node.spawn(Service).await;
        assert!(probe.is_ok(), "{mode:?}: the node keeps running");
        node.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_application_that_ends_takes_the_node_down() {
    mode_case(Restart::Permanent, true).await;
    mode_case(Restart::Temporary, false).await;
    // The root ended with Shutdown, which is not a failure: transient keeps the node.
    mode_case(Restart::Transient, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_transient_application_takes_the_node_down() {
    let node = node("apps_transient").await;
    // A root that is the worker itself: its crash is the application's failure.
    node.load_application(
        ApplicationSpec::new("app", ChildSpec::new("svc", || (Service, ())).registered())
            .mode(Restart::Transient),
    )
    .unwrap();
    node.start_application("app").await.unwrap();
    let svc: ActorRef<Service> = node.lookup("svc").unwrap();
    svc.crash().unwrap();
    guard("the node to stop", node.wait()).await.unwrap();
    assert!(matches!(
        node.spawn(Service).await,
        Err(SpawnError::NodeStopping)
    ));
    ergo_tests::eventually("the application to be marked failed", || {
        node.application_info("app")
            .unwrap()
            .last_exit
            .is_some_and(|r| r.is_failure())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_application_whose_tree_gives_up_takes_the_node_down() {
    let node = node("apps_give_up").await;
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(0, std::time::Duration::from_secs(3600))
        .child(ChildSpec::new("svc", || (Service, ())).registered());
    let root = ChildSpec::new("root", move || (Supervisor::new(spec.clone()), ()));
    node.load_application(ApplicationSpec::new("app", root).mode(Restart::Transient))
        .unwrap();
    node.start_application("app").await.unwrap();
    let svc: ActorRef<Service> = node.lookup("svc").unwrap();
    svc.crash().unwrap();
    guard("the node to stop", node.wait()).await.unwrap();
    ergo_tests::eventually("the application to be marked ended", || {
        node.application_info("app").unwrap().last_exit == Some(Reason::MaxRestartIntensity)
    })
    .await;
}
