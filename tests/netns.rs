//! Two hosts without two machines: two network namespaces joined by a veth pair
//! (10.77.0.1 and 10.77.0.2), made and removed by the test. etcd runs in the first;
//! a node process runs in each, speaking mutual TLS, listening on one port and
//! advertising another (which it forwards, as a NodePort would), and finding the other
//! through etcd. The node in the first namespace calls a counter in the second, whose
//! reply comes back over its own connection to the first's advertised address.
//!
//! Needs root (namespaces) and etcd (`test.sh` installs it); without namespaces the
//! test says why and passes as skipped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ergo::net::tls::DevCa;

/// How long a step may take before the test calls it a hang (a failure guard only).
const GUARD: Duration = Duration::from_secs(120);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The namespaces and the veth pair; removed on drop.
struct Hosts {
    a: String,
    b: String,
}

impl Hosts {
    fn make() -> Result<Hosts, String> {
        let id = std::process::id();
        let hosts = Hosts {
            a: format!("ergo-a-{id}"),
            b: format!("ergo-b-{id}"),
        };
        ip(&["netns", "add", &hosts.a])?;
        ip(&["netns", "add", &hosts.b])?;
        let (va, vb) = (format!("ea{id}"), format!("eb{id}"));
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb])?;
        ip(&["link", "set", &va, "netns", &hosts.a])?;
        ip(&["link", "set", &vb, "netns", &hosts.b])?;
        for (ns, dev, addr) in [
            (&hosts.a, &va, "10.77.0.1/24"),
            (&hosts.b, &vb, "10.77.0.2/24"),
        ] {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    fn run(&self, ns: &str, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns, program]).args(args);
        command
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and so the pair.
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line of `child`'s output starting with `prefix` (under the guard).
fn line_from(child: &mut Child, prefix: &'static str) -> String {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.starts_with(prefix) {
                let _ = tx.send(line);
                return;
            }
        }
    });
    rx.recv_timeout(GUARD)
        .unwrap_or_else(|_| panic!("no `{prefix}` line from the node"))
}

#[test]
fn nodes_in_two_namespaces_talk_over_tls_through_advertised_addresses_found_in_etcd() {
    let hosts = match Hosts::make() {
        Ok(hosts) => hosts,
        Err(why) => {
            println!("SKIPPED: network namespaces cannot be made here ({why}); run as root with iproute2");
            return;
        }
    };
    let etcd = ["/usr/bin/etcd", "/usr/local/bin/etcd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("etcd is not installed: run ./test.sh, or `apt-get install etcd-server`");
    let dir = std::env::temp_dir().join(format!("ergo-netns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(dir.clone());

    let ca = DevCa::new("netns CA").unwrap();
    std::fs::write(dir.join("ca.pem"), ca.certificate_pem()).unwrap();
    for (name, ip) in [("a@10.77.0.1", "10.77.0.1"), ("b@10.77.0.2", "10.77.0.2")] {
        let (chain, key) = ca.issue_pem(&[ip]).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), chain).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key).unwrap();
    }

    let data = dir.join("etcd");
    let _etcd = Killed(
        hosts
            .run(
                &hosts.a,
                etcd,
                &[
                    "--name",
                    "n",
                    "--data-dir",
                    data.to_str().unwrap(),
                    "--listen-client-urls",
                    "http://10.77.0.1:2379",
                    "--advertise-client-urls",
                    "http://10.77.0.1:2379",
                    "--listen-peer-urls",
                    "http://10.77.0.1:2380",
                    "--initial-advertise-peer-urls",
                    "http://10.77.0.1:2380",
                    "--initial-cluster",
                    "n=http://10.77.0.1:2380",
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd starts"),
    );

    let node = env!("CARGO_BIN_EXE_netns-node");
    let tls_dir = dir.to_str().unwrap();
    let mut b = Killed(
        hosts
            .run(
                &hosts.b,
                node,
                &[
                    "serve",
                    "b@10.77.0.2",
                    "10.77.0.2:7100",
                    "10.77.0.2:7200",
                    "10.77.0.1:2379",
                    tls_dir,
                ],
            )
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("b.log")).unwrap())
            .spawn()
            .expect("node b starts"),
    );
    let ready = line_from(&mut b.0, "READY");
    assert_eq!(ready, "READY 10.77.0.2:7200");

    let mut a = Killed(
        hosts
            .run(
                &hosts.a,
                node,
                &[
                    "call",
                    "a@10.77.0.1",
                    "10.77.0.1:7100",
                    "10.77.0.1:7200",
                    "10.77.0.1:2379",
                    tls_dir,
                    "b@10.77.0.2",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("a.log")).unwrap())
            .spawn()
            .expect("node a starts"),
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        line_from(&mut a.0, "RESULT")
    }));
    let log = std::fs::read_to_string(dir.join("a.log")).unwrap_or_default()
        + "\nnode b said: "
        + &std::fs::read_to_string(dir.join("b.log")).unwrap_or_default();
    assert_eq!(
        result.ok().as_deref(),
        Some("RESULT 5"),
        "node a said: {log}"
    );
    let status = a.0.wait().unwrap();
    assert!(status.success(), "{status}");
}
