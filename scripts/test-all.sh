#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, and every test of every crate.
# Needs only a Rust toolchain. Tests that use ../shared/data skip with a message when it is absent.
# Later capabilities add services here (PostgreSQL, a Kafka-protocol broker, S3, a browser):
# this script installs and starts them on 127.0.0.1 and stops them when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked 2>&1 | tee target/test-output.log
grep -E '^test result:' target/test-output.log | awk '{p+=$4; f+=$6} END {printf "\n%d passed, %d failed\n", p, f}'

echo "== done in $(( $(date +%s) - started )) s"
