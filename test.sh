#!/usr/bin/env bash
# The whole test suite: lints, every test in release mode, and the loom model checks.
set -euo pipefail
cd "$(dirname "$0")"
# Erlang/OTP for the interoperability tests (ergo-erlang/tests start real `erl` nodes).
if ! command -v erl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends erlang-base
fi
# etcd for the etcd registrar's tests (ergo-etcd/tests start and stop their own server);
# protoc and the well-known .proto files to build the etcd-client crate (ergo-etcd only:
# the `ergo` facade and the demo do not depend on it).
missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || missing+=(libprotobuf-dev)
# iproute2 for the multi-host test in network namespaces (tests/netns.rs).
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --release
# A local-only node: the facade without the native network and Erlang interop.
cargo test -p ergo --no-default-features --release
# Loom explores every interleaving of the mailbox wake-up handshake (bounded preemptions).
LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg ergo_loom" CARGO_TARGET_DIR=target/loom \
  cargo test -p ergo-runtime --lib --release loom
