//! The web example in a real browser: headless Chromium loads the chat page, whose
//! script connects over WebSocket, sends its text and appends what it receives; the
//! DOM it dumps (`--dump-dom` after a virtual-time budget) shows the messages, and a
//! WebSocket client of the test sees the browser's text arrive. The counter page, too,
//! is filled in by its script.
//!
//! Needs Debian's `chromium` (test.sh installs it when missing).

#[path = "../examples/web.rs"]
#[allow(dead_code)]
mod example;

use std::process::Stdio;

use futures_util::StreamExt;
use tokio::process::Command;
use tokio_tungstenite::tungstenite::Message;

use ergo::web::WebServer;
use ergo_tests::{guard, node};

/// Loads `url` in headless Chromium and returns the DOM once its scripts ran.
async fn dump_dom(url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("ergo-chromium-{}", std::process::id()));
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .expect("this test needs Chromium: `apt-get install chromium` (test.sh does)");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = guard("chromium's dump", out).await.expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "chromium failed: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the `log` element's children, in order.
fn log_lines(dom: &str) -> Vec<String> {
    let start = dom.find("<div id=\"log\">").expect("the page has a log") + 14;
    let mut rest = &dom[start..];
    let mut lines = Vec::new();
    while let Some(open) = rest.strip_prefix("<div class=\"message\">") {
        let end = open.find("</div>").expect("a closed message");
        lines.push(open[..end].to_string());
        rest = &open[end + 6..];
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_page_talks_over_websocket_in_chromium() {
    let node = node("browser").await;
    let (router, api) = example::app(&node).await.unwrap();
    let http = WebServer::start(&node, "127.0.0.1:0", api.pid(), router)
        .await
        .unwrap();

    // A member of the room before the browser arrives.
    let (mut member, _) = guard(
        "the handshake",
        tokio_tungstenite::connect_async(format!("ws://{}/ws", http.addr)),
    )
    .await
    .unwrap();
    let welcome = guard("the welcome", member.next()).await.unwrap().unwrap();
    assert_eq!(welcome, Message::text("welcome (1 online)"));

    // Chromium's virtual time waits for pending fetches (the page, the upgrade) but not
    // for WebSocket frames: a dump may come before the page's own text is back. Each
    // attempt is a fresh page; one of a bounded number must show the whole exchange.
    let url = format!("http://{}/chat?say=hello%20from%20chromium", http.addr);
    let mut seen = Vec::new();
    for _ in 0..10 {
        let lines = log_lines(&dump_dom(&url).await);
        // Whatever a dump caught is in the order the page received it.
        assert!(
            lines.first().is_some_and(|l| l.starts_with("welcome (")),
            "{lines:?}"
        );
        assert!(lines.len() <= 2, "{lines:?}");
        let done = lines.len() == 2;
        seen.push(lines);
        if done {
            break;
        }
    }
    let last = seen.last().unwrap();
    assert_eq!(last.len(), 2, "no dump showed the echo: {seen:?}");
    assert_ne!(
        last[0], "welcome (1 online)",
        "the test's member is in the room too"
    );
    assert_eq!(last[1], "hello from chromium");
    // The browser's text went through the room to the other member too.
    let heard = guard("the browser's text", member.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heard, Message::text("hello from chromium"));

    // The counter page's script fetched the count from the WebWorkers.
    example_counter_add(&node).await;
    let dom = dump_dom(&format!("http://{}/", http.addr)).await;
    assert!(dom.contains("<span id=\"count\">3</span>"), "{dom}");
    node.stop().await.unwrap();
}

async fn example_counter_add(node: &ergo::Node) {
    let counter = node.lookup::<example::Counter>("counter").unwrap();
    assert_eq!(counter.add(3).await.unwrap(), 3);
}
