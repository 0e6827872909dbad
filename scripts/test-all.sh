#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, and every test of every crate, twice:
# first with no external service (the PostgreSQL tests skip), then against a throwaway PostgreSQL
# cluster on 127.0.0.1 from scripts/pg-cluster.sh, which installs Debian's postgresql package if the
# server is missing and is stopped and removed when this script exits, whether the tests pass or not.
# Needs a Rust toolchain, and for the second run root or sudo on a machine without PostgreSQL.
# Tests that use ../shared/data skip with a message when it is absent.
# The Peppol lookup tests need Debian's dnsmasq, installed below when missing (root or sudo).
# The API is fuzzed by scripts/api-fuzz.sh (schemathesis from PyPI) on each backend after its tests;
# scripts/browser-test.sh drives the self-service web in Debian's Chromium (installed when missing).
# Later capabilities add services here the same way (a Kafka-protocol broker, S3, a browser):
# this script installs and starts them on 127.0.0.1 and stops them when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

# summary LOG: the totals of the `test result:` lines that cargo test wrote to LOG.
summary() {
	{ grep -E '^test result:' "$1" || true; } | awk '{p+=$4; f+=$6} END {printf "\n%d passed, %d failed\n", p, f}'
}

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The Peppol lookup tests start a local DNS server, Debian's dnsmasq, on 127.0.0.1 (they skip
# without it): installed here, with apt-get update only if the first try fails, so CI runs them.
if ! command -v dnsmasq >/dev/null && [[ ! -x /usr/sbin/dnsmasq ]]; then
	echo "== installing dnsmasq (Peppol lookup tests)"
	sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || { echo "dnsmasq is missing, and installing it needs root or sudo" >&2; exit 1; }
		sudo=(sudo)
	fi
	apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
	"${apt[@]}" install -y -q dnsmasq >/dev/null ||
		{ "${apt[@]}" update -q >/dev/null && "${apt[@]}" install -y -q dnsmasq >/dev/null; }
fi

# Each test run: its status is kept past tee, the summary printed, and then a failure fails the script.
echo "== poppler-utils (the PDF tests render, read and unpack the PDFs they make)"
if ! command -v pdftoppm >/dev/null || ! command -v pdfdetach >/dev/null; then
	sudo=()
	if ((EUID != 0)); then sudo=(sudo); fi
	apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
	"${apt[@]}" install -y --no-install-recommends poppler-utils ||
		{ "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends poppler-utils; }
fi

echo "== aiosmtpd and schemathesis (the e-mail tests' SMTP server; the API fuzzer)"
bash scripts/test-tools.sh
export NORDLYS_TEST_PYTHON="$PWD/target/test-venv/bin/python"

echo "== cargo test"
# No service, even if the caller's shell names one.
status=0
env -u NORDLYS_TEST_POSTGRES_URL cargo test --workspace --locked 2>&1 | tee target/test-output.log || status=$?
summary target/test-output.log
((status == 0)) || exit "$status"

echo "== API fuzzing (schemathesis against the real server, SQLite)"
bash scripts/api-fuzz.sh

echo "== the self-service web in Chromium (playwright-core, axe-core; screenshots in target/screenshots)"
bash scripts/browser-test.sh

echo "== cargo test on PostgreSQL"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
trap pg_cluster_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_cluster_start
status=0
cargo test --workspace --locked 2>&1 | tee target/test-output-postgres.log || status=$?
summary target/test-output-postgres.log
if ((status == 0)); then
	echo "== API fuzzing (schemathesis against the real server, PostgreSQL)"
	"$NORDLYS_TEST_PG_BIN/psql" -q -d "$NORDLYS_TEST_POSTGRES_URL" -c 'CREATE DATABASE nordlys_fuzz' &&
		NORDLYS_FUZZ_DB="${NORDLYS_TEST_POSTGRES_URL%/postgres}/nordlys_fuzz" bash scripts/api-fuzz.sh || status=$?
fi
pg_cluster_stop
trap - EXIT INT TERM
((status == 0)) || exit "$status"

echo "== done in $(($(date +%s) - started)) s"
