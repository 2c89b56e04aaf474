//! What a crash prints: one `tracing` line with the process's pid and name, not the
//! default panic message (nor a backtrace, unless `RUST_BACKTRACE` asks for one); a
//! panic outside any process still goes to the panic hook that was there before; no
//! ANSI colour when stderr is not a terminal.
//!
//! The test runs itself as a child process (selected by an environment variable) and
//! reads the child's stderr.

use std::process::Command;

use ergo::prelude::*;

const CHILD: &str = "ERGO_QUIET_CRASH_CHILD";
const TEST: &str = "a_crash_is_logged_once_through_tracing";

struct Victim;

#[actor]
impl Victim {
    #[handle_cast]
    fn boom(&mut self) {
        panic!("boom in a cast handler");
    }

    #[handle_call]
    fn boom_call(&mut self) -> u64 {
        panic!("boom in a call handler");
    }
}

/// The child: two crashes of registered processes, then a panic on a plain thread.
fn child() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let node = Node::builder("quiet@127.0.0.1")
            .log_level(tracing::Level::WARN)
            .start()
            .await
            .expect("node starts");
        let victim = node
            .spawn_register("cast_victim", Victim)
            .await
            .expect("spawn");
        println!("CAST_VICTIM {}", victim.pid());
        let monitor = node.monitor(victim.pid()).expect("monitor");
        victim.boom().expect("alive");
        monitor.down().await;

        let victim = node
            .spawn_register("call_victim", Victim)
            .await
            .expect("spawn");
        println!("CALL_VICTIM {}", victim.pid());
        let err = victim.boom_call().await.unwrap_err();
        assert_eq!(
            err,
            CallError::Exited(Reason::Panic("boom in a call handler".into()))
        );
        node.stop().await.expect("stop");
    });
    // Not in a process: the hook that was there before ergo's prints it as usual.
    let outside = std::thread::spawn(|| panic!("a panic outside any process")).join();
    assert!(outside.is_err());
}

/// Runs the child; its stdout and stderr.
fn run_child(backtrace: bool) -> (String, String) {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("RUST_LIB_BACKTRACE")
        .env_remove("NO_COLOR");
    if backtrace {
        cmd.env("RUST_BACKTRACE", "1");
    } else {
        cmd.env_remove("RUST_BACKTRACE");
    }
    let out = cmd.output().expect("the child runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

fn pid_of(stdout: &str, tag: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.split(tag).nth(1))
        .expect("the child printed the pid")
        .trim()
        .to_owned()
}

#[test]
fn a_crash_is_logged_once_through_tracing() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let (stdout, stderr) = run_child(false);
    for (tag, name, msg) in [
        ("CAST_VICTIM", "cast_victim", "boom in a cast handler"),
        ("CALL_VICTIM", "call_victim", "boom in a call handler"),
    ] {
        let pid = pid_of(&stdout, tag);
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(msg)).collect();
        assert_eq!(lines.len(), 1, "one line for {msg}:\n{stderr}");
        assert!(
            lines[0].contains("ERROR") && lines[0].contains(&pid) && lines[0].contains(name),
            "the line has the level, pid and name: {}",
            lines[0]
        );
    }
    // The default panic output appears once: for the panic outside any process.
    assert_eq!(stderr.matches("panicked at").count(), 1, "{stderr}");
    assert!(stderr.contains("a panic outside any process"), "{stderr}");
    assert!(!stderr.contains("backtrace="), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI colour into a pipe:\n{stderr}"
    );

    // Asked for, a backtrace comes with the crash's line.
    let (_, stderr) = run_child(true);
    assert!(stderr.contains("backtrace="), "{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("boom in a cast handler"))
            .count(),
        1,
        "{stderr}"
    );
}
