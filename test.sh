#!/usr/bin/env bash
# The whole test suite: lints, every test in release mode, and the loom model checks.
set -euo pipefail
cd "$(dirname "$0")"
# Installs a Debian package when a program (or, for an absolute path, a file) is missing:
# `need <program-or-/path> <package>`.
need() {
  if [[ "$1" == /* ]]; then [ -e "$1" ] && return 0; else command -v "$1" >/dev/null 2>&1 && return 0; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2"
}
# Erlang/OTP for the interoperability tests (ergo-erlang/tests start real `erl` nodes).
need erl erlang-base
# OTP's TLS distribution (`erl -proto_dist inet_tls`, ergo-erlang/tests/tls.rs).
need "$(ls -d /usr/lib/erlang/lib/ssl-* 2>/dev/null | head -1)/ebin/inet_tls_dist.beam" erlang-ssl
# Elixir for the Elixir-facing tests (ergo-erlang/tests/elixir.rs runs real Elixir code).
need elixir elixir
# Chromium for the browser tests (tests/browser.rs loads the web example's chat page,
# tests/observer.rs the Observer).
need chromium chromium
# etcd for the etcd registrar's tests (ergo-etcd/tests start and stop their own server);
# protoc and the well-known .proto files to build the etcd-client crate (ergo-etcd only:
# the `ergo` facade and the demo do not depend on it).
need etcd etcd-server
need protoc protobuf-compiler
need /usr/include/google/protobuf/descriptor.proto libprotobuf-dev
# iproute2 for the multi-host test in network namespaces (tests/netns.rs).
need ip iproute2
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --release
# A local-only node: the facade without the native network and Erlang interop.
cargo test -p ergo --no-default-features --release
# Loom explores every interleaving of the mailbox wake-up handshake (bounded preemptions).
LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg ergo_loom" CARGO_TARGET_DIR=target/loom \
  cargo test -p ergo-runtime --lib --release loom
