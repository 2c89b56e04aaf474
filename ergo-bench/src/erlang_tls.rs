//! Erlang distribution over TLS: an `erl -proto_dist inet_tls` client node runs the
//! Erlang benchmark's client workload (casts, sequential calls, 100 KB echoes) against
//! an ergo node whose distribution runs over TLS (`Options::tls`, mutual TLS with
//! certificates from a development CA), to print beside the clear-text figures.

use std::process::Command;
use std::sync::Arc;

use ergo::erlang::tls::{CertManager, ClientAuth, DevCa, TlsOptions};
use ergo::erlang::{Distribution, Options};
use ergo::prelude::*;

use super::erlang::{parse, Echo, Figures, CALLS, CASTS, COOKIE, ECHOES};

/// Runs the TLS workload; `dir` holds the compiled `ergo_bench_erl` module.
pub async fn run(dir: &std::path::Path) -> Figures {
    let names = ["127.0.0.1", "localhost"];
    let ca = DevCa::new("bench CA").unwrap();
    let (chain, key) = ca.issue(&names).unwrap();
    let tls = TlsOptions::new(Arc::new(CertManager::new(chain, key).unwrap()))
        .trust(ca.certificate())
        .unwrap()
        .client_auth(ClientAuth::Required);
    let node = Node::builder("ergo_bench_tls@127.0.0.1")
        .cookie(COOKIE)
        .start()
        .await
        .unwrap();
    let dist = Distribution::start(&node, Options::default().tls(tls))
        .await
        .unwrap();
    node.spawn_register("echo", Echo::default()).await.unwrap();

    let (cert, key) = ca.issue_pem(&names).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (cert, key, cacert) = (
        file("cert.pem", &cert),
        file("key.pem", &key),
        file("ca.pem", &ca.certificate_pem()),
    );
    let side = format!(
        "[{{certfile, \"{cert}\"}}, {{keyfile, \"{key}\"}}, {{cacertfile, \"{cacert}\"}}, \
         {{verify, verify_peer}}, {{secure_renegotiate, true}}]"
    );
    let optfile = file(
        "dist.conf",
        &format!("[{{server, {side}}}, {{client, {side}}}].\n"),
    );
    let eval = format!(
        "ergo_bench_erl:client('{}', {CASTS}, {CALLS}, {ECHOES}), halt().",
        node.name()
    );
    let dir = dir.to_owned();
    let client = tokio::task::spawn_blocking(move || {
        Command::new("erl")
            .args([
                "-name",
                "ergo_bench_tls_cli@127.0.0.1",
                "-setcookie",
                COOKIE,
            ])
            .args(["-noshell", "-hidden", "-proto_dist", "inet_tls"])
            .args(["-ssl_dist_optfile", &optfile, "-pa"])
            .arg(&dir)
            .args(["-eval", &eval])
            .output()
            .expect("erl starts")
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&client.stdout).into_owned();
    let line = out
        .lines()
        .find(|l| l.starts_with("R "))
        .unwrap_or_else(|| panic!("TLS client output: {out}"));
    dist.stop();
    node.stop().await.unwrap();
    parse(line)
}
