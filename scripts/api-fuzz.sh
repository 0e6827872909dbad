#!/usr/bin/env bash
# Fuzz the JSON API with schemathesis (PyPI) against the real server: a demo utility of 30
# customers is billed into a fresh database (SQLite in a temporary folder, or the database
# NORDLYS_FUZZ_DB names), `nordlys serve` runs on a free loopback port, and schemathesis
# generates requests from /api/openapi.json for every operation, failing on any server error
# (5xx) and on any response that breaks the document (schema, content type).
# Needs scripts/test-tools.sh to have made target/test-venv. Run by scripts/test-all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/test-venv
cargo build --locked -q -p nordlys-cli
bin=$PWD/target/debug/nordlys
work=$(mktemp -d)
db=${NORDLYS_FUZZ_DB:-$work/fuzz.db}
server=
stop() {
	if [[ -n "$server" ]]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap stop EXIT

"$bin" --db "$db" demo --customers 30 --months 1 --seed 5 --no-serve >"$work/demo.log"
token=$("$bin" --db "$db" tokens create fuzz --scope read --scope write --scope billing --scope personal_data 2>/dev/null)
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NORDLYS_LOG=warn "$bin" --db "$db" serve --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
"$venv/bin/python" - "$base/readyz" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("the server did not become ready in 60 s")
        time.sleep(0.2)
PY

status=0
"$venv/bin/schemathesis" run "$base/api/openapi.json" \
	--header "Authorization: Bearer $token" \
	--checks not_a_server_error,response_schema_conformance,content_type_conformance \
	--max-examples "${NORDLYS_FUZZ_EXAMPLES:-30}" \
	--seed 1 \
	--workers 2 \
	--request-timeout 30 \
	--no-color \
	--report junit --report-dir "$PWD/target/schemathesis" || status=$?
if ((status != 0)); then
	echo "-- server log (last 40 lines)"
	tail -40 "$work/server.log"
fi
exit "$status"
