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

#[test]
fn a_flood_from_one_callsite_is_cut_and_counted_while_another_still_logs() {
    let dir = temp_dir("limit");
    let refill = Duration::from_millis(20);
    let (subscriber, guard) = LogConfig::new()
        .format(LogFormat::Json)
        .rate_limit(Some((20, refill)))
        .file(&dir, "node", Rotation::NEVER, 0)
        .build()
        .unwrap();
    // One callsite: the kind the limit counts by.
    let flood = |i: u64| tracing::warn!(i, "flood");
    let mut flood_sent = 0u64;
    let started = std::time::Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..10_000u64 {
            flood(i);
            flood_sent += 1;
            if i % 1000 == 0 {
                tracing::info!(i, "steady");
            }
        }
        // Once a refill has passed, the flood's next record is written, after the
        // summary of what was dropped.
        std::thread::sleep(refill + Duration::from_millis(10));
        flood(u64::MAX);
        flood_sent += 1;
    });
    let elapsed = started.elapsed();
    drop(guard);
    let text = std::fs::read_to_string(dir.join("node")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let message = |l: &serde_json::Value| l["fields"]["message"].as_str().unwrap_or("").to_owned();
    let flood_written = lines.iter().filter(|l| message(l) == "flood").count() as u64;
    let steady = lines.iter().filter(|l| message(l) == "steady").count();
    let summaries: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| message(l) == ergo_observer::log::SUMMARY_MESSAGE)
        .collect();
    let suppressed: u64 = summaries
        .iter()
        .map(|l| l["fields"]["suppressed"].as_u64().unwrap())
        .sum();
    println!(
        "FIGURE log flood: {flood_sent} records from one callsite in {elapsed:?}, \
         {flood_written} written, {suppressed} suppressed in {} summary lines",
        summaries.len()
    );
    // Bounded: the burst, plus one per refill of the time it ran.
    let bound = 20 + (elapsed.as_millis() / refill.as_millis()) as u64 + 1;
    assert!(flood_written <= bound, "{flood_written} > {bound}");
    // Another callsite is not held back by the flood.
    assert_eq!(steady, 10);
    // Every dropped record is counted in a summary, which names the flood's callsite.
    assert_eq!(flood_written + suppressed, flood_sent);
    assert!(summaries
        .iter()
        .all(|l| l["fields"]["kind"].as_str().unwrap().contains("logging.rs")));
    // The last record written is the flood's, right after its summary.
    let n = lines.len();
    assert_eq!(message(&lines[n - 1]), "flood");
    assert_eq!(lines[n - 1]["fields"]["i"], u64::MAX);
    assert_eq!(message(&lines[n - 2]), ergo_observer::log::SUMMARY_MESSAGE);
    // The Observer's copy carries the count too.
    assert!(recent(None, 100).iter().any(|r| r.message == "flood"
        && r.fields
            .iter()
            .any(|(k, v)| k == "suppressed_before" && v != "0")));
    let _ = std::fs::remove_dir_all(&dir);
}
