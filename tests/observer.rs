//! The Observer over a node running a supervision tree: its JSON API (process pages,
//! filter and paging, the tree, kill from the API and the restart it causes, text
//! messages, exit signals), access control, and the UI in a real headless Chromium
//! (the DOM after a virtual-time budget, and a screenshot kept under
//! `target/observer-artifacts/`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use ergo::observer::{ObserverError, ObserverExt, ObserverOptions};
use ergo::prelude::*;
use ergo_tests::{eventually, guard, http};
use serde_json::Value;

/// Counts; accepts text messages.
#[derive(Default, Debug)]
pub struct Counter {
    count: u64,
}

#[actor]
impl Counter {
    #[handle_call]
    fn count(&mut self) -> u64 {
        self.count
    }

    #[handle_info]
    fn text(&mut self, text: String) {
        self.count += text.len() as u64;
    }
}

/// Does nothing; takes no text.
#[derive(Default, Debug)]
pub struct Worker;

#[actor]
impl Worker {
    #[handle_call]
    fn ping(&mut self) -> u8 {
        1
    }
}

supervisor! {
    /// Two workers.
    pub Workers: one_for_one(intensity = 10, period = 5s) {
        worker1: Worker,
        worker2: Worker,
    }
}

supervisor! {
    /// The root.
    pub ShopSup: one_for_one(intensity = 10, period = 5s) {
        counter: Counter,
        workers: Workers,
    }
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn shop(name: &str) -> (Node, SocketAddr) {
    let node = ergo_tests::node(name).await;
    node.load_application(ApplicationSpec::new(
        "shop",
        ChildSpec::new("shop_sup", || (ShopSup::new(), ())),
    ))
    .unwrap();
    node.start_application("shop").await.unwrap();
    let observer = node
        .start_observer(ObserverOptions::new().addr(local()))
        .await
        .unwrap();
    (node, observer.local_addr())
}

async fn get(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = http(addr, "GET", path, None, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

fn find<'a>(tree: &'a Value, id: &str) -> Option<&'a Value> {
    if tree["id"] == id {
        return Some(tree);
    }
    tree["children"]
        .as_array()?
        .iter()
        .find_map(|c| find(c, id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_lists_inspects_and_acts_on_processes() {
    let (node, addr) = shop("obs_api").await;

    // Filter and paging happen on the server.
    let page = get(addr, "/api/processes?filter=worker&sort=id&order=asc").await;
    // The tree's five, and the Observer's agent.
    assert_eq!(page["total"], 6);
    assert_eq!(page["matched"], 3, "worker1, worker2 and workers: {page}");
    let page = get(addr, "/api/processes?sort=id&order=asc&offset=1&limit=2").await;
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "counter");

    // A process page.
    let counter = node.whereis("counter").unwrap();
    let p = get(addr, &format!("/api/process/{}", counter.id())).await;
    assert_eq!(p["name"], "counter");
    assert_eq!(p["pid"], counter.to_string());
    assert_eq!(p["queues"]["main"], 0);
    assert!(p["actor_state"].as_str().unwrap().contains("Counter"));
    assert!(
        p["links"].as_array().unwrap().len() == 1,
        "linked to its supervisor"
    );
    let missing = http(addr, "GET", "/api/process/999999999", None, None).await;
    assert_eq!(missing.0, 404);

    // The tree.
    let trees = get(addr, "/api/tree").await;
    let shop = &trees[0];
    assert_eq!(shop["application"], "shop");
    let worker1 = find(&shop["tree"], "worker1").expect("worker1 in the tree");
    let old = worker1["local_id"].as_u64().unwrap();
    assert!(find(&shop["tree"], "workers").unwrap()["kind"] == "supervisor");

    // A text message to a process that takes text; refused by one that does not.
    let (status, body) = http(
        addr,
        "POST",
        &format!("/api/process/{}/send", counter.id()),
        Some(r#"{"text":"hello"}"#),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let counter_ref = node.lookup::<Counter>("counter").unwrap();
    assert_eq!(counter_ref.count().await.unwrap(), 5);
    let (status, _) = http(
        addr,
        "POST",
        &format!("/api/process/{old}/send"),
        Some(r#"{"text":"hello"}"#),
        None,
    )
    .await;
    assert_eq!(status, 422);

    // Kill worker1 from the API: its supervisor restarts it.
    let (status, body) = http(
        addr,
        "POST",
        &format!("/api/process/{old}/kill"),
        Some("{}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut restarted = None;
    guard("worker1 restarted", async {
        loop {
            let trees = get(addr, "/api/tree").await;
            let id = find(&trees[0]["tree"], "worker1").and_then(|w| w["local_id"].as_u64());
            if let Some(id) = id.filter(|id| *id != old) {
                restarted = Some(id);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let new = restarted.unwrap();
    assert_eq!(
        get(addr, &format!("/api/process/{new}")).await["name"],
        "worker1"
    );
    assert_eq!(
        http(addr, "GET", &format!("/api/process/{old}"), None, None)
            .await
            .0,
        404
    );

    // An exit signal with a reason: worker2 is restarted too.
    let worker2 = node.whereis("worker2").unwrap();
    let down = node.monitor(worker2).unwrap();
    let (status, _) = http(
        addr,
        "POST",
        &format!("/api/process/{}/exit", worker2.id()),
        Some(r#"{"reason":"maintenance"}"#),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        guard("worker2 down", down.down()).await.reason,
        Reason::Error("maintenance".into())
    );
    eventually("worker2 restarted", || {
        node.whereis("worker2").is_some_and(|p| p != worker2)
    })
    .await;

    // A bad level is refused; a good one is kept.
    let (status, _) = http(
        addr,
        "POST",
        &format!("/api/process/{}/log_level", counter.id()),
        Some(r#"{"level":"loud"}"#),
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = http(
        addr,
        "POST",
        &format!("/api/process/{}/log_level", counter.id()),
        Some(r#"{"level":"debug"}"#),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(addr, &format!("/api/process/{}", counter.id())).await["log_level"],
        "debug"
    );

    // Overview and history.
    let n = get(addr, "/api/node").await;
    assert_eq!(n["processes"], 6);
    assert_eq!(n["name"], "obs_api@127.0.0.1");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_needs_a_token_when_one_is_set() {
    let node = ergo_tests::node("obs_token").await;
    // Reachable from other hosts without a token: refused at start.
    let open = node
        .start_observer(ObserverOptions::new().addr("0.0.0.0:0".parse().unwrap()))
        .await;
    assert!(matches!(open, Err(ObserverError::TokenRequired(_))));

    let observer = node
        .start_observer(ObserverOptions::new().addr(local()).token("s3cret"))
        .await
        .unwrap();
    let addr = observer.local_addr();
    assert_eq!(http(addr, "GET", "/api/node", None, None).await.0, 401);
    assert_eq!(
        http(addr, "GET", "/api/node", None, Some("wrong")).await.0,
        401
    );
    assert_eq!(
        http(addr, "GET", "/api/node", None, Some("s3cret")).await.0,
        200
    );
    assert_eq!(
        http(addr, "GET", "/metrics?token=s3cret", None, None)
            .await
            .0,
        200
    );
    // Probes answer anyone.
    assert_eq!(http(addr, "GET", "/health/live", None, None).await.0, 200);
    observer.stop();
    node.stop().await.unwrap();
}

/// An idle process for the large list.
#[derive(Default)]
pub struct Idle;

#[actor]
impl Idle {
    #[handle_call]
    fn noop(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_and_filters_100k_processes_on_the_server() {
    const N: usize = 100_000;
    let (node, addr) = shop("obs_many").await;
    for i in 0..N {
        let idle = node.spawn(Idle).await.unwrap();
        if i == N / 2 {
            node.register("needle_in_the_list", idle.pid()).unwrap();
        }
    }
    let started = Instant::now();
    let page = get(addr, "/api/processes?filter=needle&limit=10").await;
    let filtered = started.elapsed();
    assert_eq!(page["total"], N + 6);
    assert_eq!(page["matched"], 1);
    assert_eq!(page["rows"][0]["name"], "needle_in_the_list");
    let started = Instant::now();
    let page = get(
        addr,
        "/api/processes?sort=id&order=asc&offset=50000&limit=100",
    )
    .await;
    let paged = started.elapsed();
    assert_eq!(page["rows"].as_array().unwrap().len(), 100);
    assert_eq!(page["offset"], 50000);
    let page = get(addr, "/api/processes?limit=100000").await;
    assert_eq!(
        page["rows"].as_array().unwrap().len(),
        500,
        "pages are capped"
    );
    println!(
        "FIGURE observer list over {} processes: filter {:?}, page at offset 50000 {:?}",
        N + 6,
        filtered,
        paged
    );
    node.stop().await.unwrap();
}

// ---- the UI in a real browser ----

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            }
        }
    }
    panic!("no chromium found: test.sh installs Debian's `chromium` package");
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("observer-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on `url` with a virtual-time budget; its stdout (the DOM
/// with `--dump-dom`).
fn browse(url: &str, extra: &[String]) -> String {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!("ergo-chromium-{}-{run}", std::process::id()));
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,800",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dump(url: &str) -> String {
    browse(url, &["--dump-dom".to_owned()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_processes_a_process_page_the_tree_and_a_live_counter() {
    let (node, addr) = shop("obs_browser").await;
    let base = format!("http://{addr}/");

    let url = format!("{base}#/processes");
    let dom = tokio::task::spawn_blocking(move || dump(&url))
        .await
        .unwrap();
    assert!(dom.contains("id=\"process-table\""), "{dom}");
    for name in ["counter", "worker1", "worker2", "workers"] {
        assert!(
            dom.contains(&format!("<td class=\"pname\">{name}</td>")),
            "{name} listed: {dom}"
        );
    }
    assert!(dom.contains("6 of 6 processes"), "{dom}");
    assert!(
        dom.contains("<td class=\"pname\">ergo_observer_agent</td>"),
        "{dom}"
    );

    let worker1 = node.whereis("worker1").unwrap();
    let url = format!("{base}#/process/{}", worker1.id());
    let dom = tokio::task::spawn_blocking(move || dump(&url))
        .await
        .unwrap();
    assert!(
        dom.contains(
            &format!("{} (worker1)", worker1)
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        ),
        "{dom}"
    );
    assert!(dom.contains("Queues (urgent/system/main/log)"), "{dom}");
    assert!(dom.contains("0 / 0 / 0 / 0"), "{dom}");
    assert!(
        !dom.contains("null"),
        "nothing missing is shown as null: {dom}"
    );

    let url = format!("{base}#/tree");
    let dom = tokio::task::spawn_blocking(move || dump(&url))
        .await
        .unwrap();
    assert!(dom.contains("Application shop"), "{dom}");
    for id in ["counter", "workers", "worker1", "worker2"] {
        assert!(
            dom.contains(&format!("data-id=\"{id}\"")),
            "{id} in the tree: {dom}"
        );
    }

    // The overview refreshes itself: its counter of refreshes moved within the budget.
    let url = base.clone();
    let dom = tokio::task::spawn_blocking(move || dump(&url))
        .await
        .unwrap();
    let refreshes: u32 = dom
        .split("id=\"live-counter\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a live counter: {dom}"));
    assert!(refreshes >= 2, "refreshed {refreshes} times: {dom}");
    assert!(dom.contains("id=\"chart-processes\""), "{dom}");

    // Screenshots kept as test artefacts.
    let dir = artifacts();
    for (page, file) in [
        ("#/", "overview.png"),
        ("#/processes", "processes.png"),
        ("#/tree", "tree.png"),
    ] {
        let path = dir.join(file);
        let _ = std::fs::remove_file(&path);
        let url = format!("{base}{page}");
        let arg = format!("--screenshot={}", path.display());
        tokio::task::spawn_blocking(move || browse(&url, &[arg]))
            .await
            .unwrap();
        let png = std::fs::read(&path).expect("a screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 5_000,
            "{file} is an image"
        );
    }
    node.stop().await.unwrap();
}

// ---- attaching to another node ----

async fn networked(name: &str, cookie: &str, routes: &[(String, SocketAddr)]) -> Node {
    use ergo::net::{NetBuilderExt, NetOptions};
    let mut options = NetOptions::new().registrar(None);
    for (pattern, addr) in routes {
        options = options.route(pattern, *addr);
    }
    Node::builder(&format!("{name}@127.0.0.1"))
        .cookie(cookie)
        .network(options)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_attaches_to_another_node_that_shares_its_cookie() {
    use ergo::net::NetworkExt;
    // b runs a tree and only the agent; c has another cookie.
    let b = networked("obs_remote_b", "shared", &[]).await;
    b.load_application(ApplicationSpec::new(
        "shop",
        ChildSpec::new("shop_sup", || (ShopSup::new(), ())),
    ))
    .unwrap();
    b.start_application("shop").await.unwrap();
    b.start_observer_agent().await;
    let c = networked("obs_remote_c", "other", &[]).await;
    c.start_observer_agent().await;
    let routes = [
        (
            "obs_remote_b@127.0.0.1".to_owned(),
            b.listen_addr().unwrap(),
        ),
        (
            "obs_remote_c@127.0.0.1".to_owned(),
            c.listen_addr().unwrap(),
        ),
    ];
    let a = networked("obs_remote_a", "shared", &routes).await;
    let observer = a
        .start_observer(ObserverOptions::new().addr(local()))
        .await
        .unwrap();
    let addr = observer.local_addr();

    let remote = get(addr, "/node/obs_remote_b@127.0.0.1/api/node").await;
    assert_eq!(remote["name"], "obs_remote_b@127.0.0.1");
    let page = get(
        addr,
        "/node/obs_remote_b@127.0.0.1/api/processes?filter=worker1",
    )
    .await;
    assert_eq!(page["matched"], 1);
    let trees = get(addr, "/node/obs_remote_b@127.0.0.1/api/tree").await;
    assert!(find(&trees[0]["tree"], "worker2").is_some());

    // Kill on the remote node through the agent; its supervisor restarts the worker.
    let worker1 = b.whereis("worker1").unwrap();
    let path = format!(
        "/node/obs_remote_b@127.0.0.1/api/process/{}/kill",
        worker1.id()
    );
    let (status, body) = http(addr, "POST", &path, Some("{}"), None).await;
    assert_eq!(status, 200, "{body}");
    eventually("worker1 restarted on b", || {
        b.whereis("worker1").is_some_and(|p| p != worker1)
    })
    .await;

    // A node with another cookie cannot be attached to.
    let (status, body) = http(
        addr,
        "GET",
        "/node/obs_remote_c@127.0.0.1/api/node",
        None,
        None,
    )
    .await;
    assert_eq!(status, 502, "{body}");

    // The UI shows the attached node.
    let url = format!("http://{addr}/?node=obs_remote_b@127.0.0.1#/processes");
    let dom = tokio::task::spawn_blocking(move || dump(&url))
        .await
        .unwrap();
    assert!(
        dom.contains("<span id=\"node-name\" class=\"node\">obs_remote_b@127.0.0.1</span>"),
        "{dom}"
    );
    assert!(dom.contains("<td class=\"pname\">worker2</td>"), "{dom}");
    for n in [&a, &b, &c] {
        n.stop().await.unwrap();
    }
}
