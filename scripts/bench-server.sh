#!/usr/bin/env bash
# Load test of the server from a second process on loopback (wrk, Debian's package, installed
# when missing): the consumption endpoint returning one metering point's hourly values for a
# year. Builds the release binary, bills a demo utility of 12 months into a temporary SQLite file
# (or the database NORDLYS_BENCH_DB names, e.g. a PostgreSQL URL of an empty database), serves it
# and prints the machine, the input and wrk's figures (requests/s, latency percentiles).
#   bash scripts/bench-server.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
connections=${2:-32}
if ! command -v wrk >/dev/null; then
	sudo=()
	if ((EUID != 0)); then sudo=(sudo); fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null ||
		{ "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
fi
cargo build --release --locked -q -p nordlys-cli
bin=$PWD/target/release/nordlys
work=$(mktemp -d)
db=${NORDLYS_BENCH_DB:-$work/bench.db}
server=
stop() {
	if [[ -n "$server" ]]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap stop EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
"$bin" --db "$db" demo --customers 200 --months 12 --start 2025-01 --seed 3 --no-serve >"$work/demo.log"
token=$("$bin" --db "$db" tokens create bench --scope read 2>/dev/null)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --db "$db" serve --listen "127.0.0.1:$port" --demo-sign-in >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
	python3 -c "import urllib.request; urllib.request.urlopen('$base/readyz', timeout=1)" 2>/dev/null && break
	sleep 0.2
done
# The first read of each point's year is computed from the stored readings (a cold series);
# later reads are served from memory until something is written.
point=$(python3 - "$base" "$token" <<'PY'
import json, sys, time, urllib.request
base, token = sys.argv[1], sys.argv[2]
def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    return urllib.request.urlopen(request).read()
points = [p["id"] for p in json.loads(get("/api/v1/metering-points?limit=500"))["items"]]
hourly = [p for p in points if json.loads(get("/api/v1/metering-points/" + p))["resolution"] == "PT60M"]
times = []
for p in hourly[1:41]:
    started = time.perf_counter()
    get(f"/api/v1/metering-points/{p}/consumption?from=2025-01-01&to=2026-01-01&resolution=hour")
    times.append((time.perf_counter() - started) * 1000)
times.sort()
print(f"cold series (first read of a point's year, {len(times)} points, one at a time): median {times[len(times) // 2]:.1f} ms, max {times[-1]:.1f} ms", file=sys.stderr)
print(hourly[0])
PY
)
path="/api/v1/metering-points/$point/consumption?from=2025-01-01&to=2026-01-01&resolution=hour"
bytes=$(python3 - "$base$path" "$token" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
body = urllib.request.urlopen(request).read()
series = json.loads(body)
print(len(body), len(series["energy_wh"]), series["total_wh"])
PY
)
read -r size values total <<<"$bytes"
echo "input: demo utility of 200 metering points, 12 months (2025) in $(basename "$db"); metering point $point"
echo "request: GET $path -> $values hourly values, $size bytes of JSON, total $total Wh"
echo "load: wrk, 2 threads, $connections connections, $seconds s, from a second process on loopback"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$base$path"

# The self-service overview page of a signed-in customer (the development sign-in: the code is
# read from the server's console).
cookie=$(python3 - "$base" "$work/server.log" <<'PY'
import re, sys, time, urllib.parse, urllib.request
base, log = sys.argv[1], sys.argv[2]
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
opener = urllib.request.build_opener(NoRedirect)
urllib.request.urlopen(base + "/signin", data=urllib.parse.urlencode({"who": "K000001"}).encode())
code = None
for _ in range(50):
    found = re.findall(r"sign-in code for K000001: (\d{6})", open(log).read())
    if found:
        code = found[-1]
        break
    time.sleep(0.1)
try:
    opener.open(base + "/signin/verify", data=urllib.parse.urlencode({"who": "K000001", "code": code}).encode())
except urllib.error.HTTPError as e:
    print(e.headers["Set-Cookie"].split(";")[0])
PY
)
echo
echo "request: GET / (the self-service overview of customer K000001: the month so far, the latest invoice, open invoices), signed in"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Cookie: $cookie" "$base/"
