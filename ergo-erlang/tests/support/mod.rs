//! Test support: real `erl` nodes on 127.0.0.1, bounded in time, talking through stdout.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The failure guard of every wait on an Erlang node.
pub const GUARD: Duration = Duration::from_secs(30);

/// Compiles `erl/ergo_test.erl` once; starts epmd once (so no test's embedded epmd
/// outlives the nodes registered with it).
fn beam_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let status = std::process::Command::new("epmd")
            .args(["-daemon", "-address", "127.0.0.1"])
            .status()
            .expect("epmd is installed (./test.sh installs erlang-base)");
        assert!(status.success());
        let dir = std::env::temp_dir().join(format!("ergo-erlang-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/erl");
        let status = std::process::Command::new("erlc")
            .arg("-o")
            .arg(&dir)
            .arg(src.join("ergo_test.erl"))
            .arg(src.join("ergo_twin.erl"))
            .status()
            .expect("erlc is installed (./test.sh installs erlang-base)");
        assert!(status.success(), "erlc failed");
        dir
    })
}

/// Makes sure epmd runs and the Erlang helper module is compiled.
pub fn ensure_ready() {
    beam_dir();
}

/// A unique short name for this test process.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running `erl` node, killed when dropped.
pub struct Erl {
    pub name: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Erl {
    /// Starts `erl -name <alive>@127.0.0.1 -setcookie <cookie>` running `eval`.
    pub fn start(alive: &str, cookie: &str, eval: &str) -> Erl {
        Erl::start_with(alive, cookie, &[], eval)
    }

    /// As [`Erl::start`], with more `erl` arguments (e.g. `-hidden`).
    pub fn start_with(alive: &str, cookie: &str, args: &[&str], eval: &str) -> Erl {
        let dir = beam_dir();
        let name = format!("{alive}@127.0.0.1");
        let mut child = Command::new("erl")
            .args(["-name", &name, "-setcookie", cookie, "-noshell"])
            .args(args)
            .arg("-pa")
            .arg(dir)
            .args(["-eval", eval])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("erl starts");
        let stdout = child.stdout.take().unwrap();
        Erl {
            name,
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// Starts `elixir --name <alive>@127.0.0.1 --cookie <cookie> [args] tests/ex/<script>
    /// [argv]` (Elixir is installed by `./test.sh`).
    pub fn elixir(alive: &str, cookie: &str, args: &[&str], script: &str, argv: &[&str]) -> Erl {
        ensure_ready();
        let name = format!("{alive}@127.0.0.1");
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/ex")
            .join(script);
        let mut child = Command::new("elixir")
            .args(["--name", &name, "--cookie", cookie])
            .args(args)
            .arg(path)
            .args(argv)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("elixir starts (./test.sh installs it)");
        let stdout = child.stdout.take().unwrap();
        Erl {
            name,
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next lines the node prints that start with each of `prefixes`, whatever
    /// the order they come in (others are skipped); in the order of `prefixes`.
    pub async fn lines_any_order(&mut self, prefixes: &[&str]) -> Vec<String> {
        let mut found: Vec<Option<String>> = vec![None; prefixes.len()];
        let wait = async {
            while found.iter().any(Option::is_none) {
                match self.lines.next_line().await {
                    Ok(Some(l)) => {
                        let slot = prefixes
                            .iter()
                            .zip(found.iter_mut())
                            .find(|(p, f)| f.is_none() && l.starts_with(**p));
                        if let Some((_, f)) = slot {
                            *f = Some(l);
                        }
                    }
                    other => panic!("erl ended before printing {prefixes:?}: {other:?}"),
                }
            }
        };
        tokio::time::timeout(GUARD, wait)
            .await
            .unwrap_or_else(|_| panic!("erl did not print {prefixes:?} in time"));
        found.into_iter().flatten().collect()
    }

    /// The next line the node prints that starts with `prefix` (others are skipped).
    pub async fn line(&mut self, prefix: &str) -> String {
        let wait = async {
            loop {
                match self.lines.next_line().await {
                    Ok(Some(l)) if l.starts_with(prefix) => return l,
                    Ok(Some(_)) => continue,
                    other => panic!("erl ended before printing {prefix:?}: {other:?}"),
                }
            }
        };
        tokio::time::timeout(GUARD, wait)
            .await
            .unwrap_or_else(|_| panic!("erl did not print {prefix:?} in time"))
    }

    /// Waits for the node to exit.
    pub async fn exited(&mut self) {
        tokio::time::timeout(GUARD, self.child.wait())
            .await
            .expect("erl exits in time")
            .expect("erl exit status");
    }
}

/// Polls `f` until it returns `Some` (a failure guard bounds it).
pub async fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> T {
    tokio::time::timeout(GUARD, async {
        loop {
            if let Some(v) = f() {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("condition reached in time")
}
