//! Logging: JSON lines that parse, with the fields and the process span; files rotated
//! by tracing-appender; the last records kept for the Observer.

use std::time::Duration;

use ergo_observer::log::{recent, LogConfig, LogFormat, Rotation};
use tracing::level_filters::LevelFilter;

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ergo-log-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn json_lines_parse_and_carry_their_fields() {
    let dir = temp_dir("json");
    let (subscriber, guard) = LogConfig::new()
        .format(LogFormat::Json)
        .level(LevelFilter::INFO)
        .file(&dir, "node", Rotation::NEVER, 0)
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("process", pid = "<1.2.3>");
        let _in = span.enter();
        tracing::info!(answer = 42, "a \"quoted\" line");
        tracing::warn!(peer = "b@host", "a warning");
        tracing::debug!("below the level: not written");
    });
    drop(guard); // flushes the background writer
    let text = std::fs::read_to_string(dir.join("node")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["fields"]["message"], "a \"quoted\" line");
    assert_eq!(lines[0]["fields"]["answer"], 42);
    assert_eq!(lines[0]["span"]["pid"], "<1.2.3>");
    assert_eq!(lines[1]["level"], "WARN");
    assert_eq!(lines[1]["fields"]["peer"], "b@host");
    assert!(lines[1]["timestamp"].as_str().is_some());
    // The capture layer kept both (outside any process: no pid).
    let kept = recent(None, 10);
    assert!(kept
        .iter()
        .any(|r| r.message == "a warning" && r.pid.is_none()));
    assert!(!kept.iter().any(|r| r.message.contains("below the level")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_rotate_each_minute() {
    let dir = temp_dir("rotate");
    let (subscriber, guard) = LogConfig::new()
        .file(&dir, "node", Rotation::MINUTELY, 5)
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(subscriber);
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("before the turn of the minute")
    });
    // Wait for the next minute of the wall clock (at most 61 s), then write again.
    let minute =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 60;
    let start = minute(std::time::SystemTime::now());
    for _ in 0..130 {
        if minute(std::time::SystemTime::now()) != start {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("after the turn of the minute"));
    drop(dispatch);
    drop(guard);
    let found = files(&dir);
    assert_eq!(found.len(), 2, "one file per minute: {found:?}");
    let first = std::fs::read_to_string(&found[0]).unwrap();
    let second = std::fs::read_to_string(&found[1]).unwrap();
    assert!(first.contains("before the turn") && !first.contains("after the turn"));
    assert!(second.contains("after the turn"));
    // Text in files is never coloured.
    assert!(!first.contains('\u{1b}'));
    let _ = std::fs::remove_dir_all(&dir);
}
