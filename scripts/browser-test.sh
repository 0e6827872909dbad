#!/usr/bin/env bash
# The self-service web in a real browser: Debian's Chromium (installed when missing) driven by
# playwright-core from npm (tests/browser, `npm ci`), pages checked by axe-core. A demo utility
# is billed into a fresh SQLite file, `nordlys serve --demo-sign-in` runs on a free loopback
# port with its console in a log the test reads the one-time code from, and
# tests/browser/selfservice.mjs signs in and uses every page; a real OpenID provider
# (oidc-provider from npm, tests/browser/oidc-provider.mjs) serves the OpenID Connect sign-in of
# customers and of staff. Screenshots (desktop and phone)
# and the downloaded PDF are written to target/screenshots. Run by scripts/test-all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x /usr/bin/chromium ]]; then
	echo "installing Debian's chromium (the browser tests drive it)"
	sudo=()
	if ((EUID != 0)); then sudo=(sudo); fi
	apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
	"${apt[@]}" install -y -q --no-install-recommends chromium >/dev/null ||
		{ "${apt[@]}" update -q >/dev/null && "${apt[@]}" install -y -q --no-install-recommends chromium >/dev/null; }
fi
if [[ ! -d tests/browser/node_modules/playwright-core || ! -d tests/browser/node_modules/axe-core || ! -d tests/browser/node_modules/oidc-provider ]]; then
	npm ci --no-audit --no-fund --prefix tests/browser >/dev/null
fi
cargo build --locked -q -p nordlys-cli
bin=$PWD/target/debug/nordlys
work=$(mktemp -d)
server=
provider=
stop() {
	for pid in $server $provider; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap stop EXIT
"$bin" --db "$work/web.db" demo --customers 30 --months 1 --seed 9 --no-serve >"$work/demo.log"
# A staff member of the back-office; the TOTP secret is read from the otpauth URL printed.
staff_url=$(echo "browser-test-password" | "$bin" --db "$work/web.db" staff add kari 2>/dev/null)
staff_secret=$(python3 -c "import sys, urllib.parse; print(urllib.parse.parse_qs(urllib.parse.urlparse(sys.argv[1]).query)['secret'][0])" "$staff_url")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
provider_port=$(free_port)
# The OpenID provider knows "anna", whose national identity number is the second customer's:
# signing in there must find that customer. Any other login is an account of the provider too:
# "kari", the staff member, whose user name signs her in to the back-office, and "ola", whom the
# back-office does not know.
nin_customer=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT customer_id, identity FROM customers WHERE kind = 'person' ORDER BY customer_id LIMIT 1 OFFSET 1\").fetchone()[0])" "$work/web.db")
nin=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT identity FROM customers WHERE customer_id = ?', (sys.argv[2],)).fetchone()[0])" "$work/web.db" "$nin_customer")
PORT=$provider_port REDIRECT="http://127.0.0.1:$port/auth/callback,http://127.0.0.1:$port/staff/auth/callback" \
	ACCOUNTS="{\"anna\": \"$nin\"}" \
	node tests/browser/oidc-provider.mjs >"$work/provider.log" 2>&1 &
provider=$!
for _ in $(seq 100); do
	python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$provider_port/.well-known/openid-configuration', timeout=1)" 2>/dev/null && break
	sleep 0.2
done
NORDLYS_OIDC_CLIENT_SECRET=nordlys-test-secret NORDLYS_STAFF_OIDC_CLIENT_SECRET=nordlys-test-secret \
	"$bin" --db "$work/web.db" serve --listen "127.0.0.1:$port" --demo-sign-in \
	--oidc-issuer "http://127.0.0.1:$provider_port" --oidc-client-id nordlys --oidc-claim nin --oidc-match identity \
	--oidc-scope nin --oidc-label BankID \
	--staff-oidc-issuer "http://127.0.0.1:$provider_port" --staff-oidc-client-id nordlys \
	--staff-oidc-label "Microsoft Entra ID" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
	python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/readyz', timeout=1)" 2>/dev/null && break
	sleep 0.2
done
customer=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT c.customer_id FROM customers c JOIN accounts a ON a.customer_id = c.customer_id WHERE c.kind = 'person' ORDER BY c.customer_id LIMIT 1\").fetchone()[0])" "$work/web.db")
rm -rf target/screenshots
status=0
BASE="http://127.0.0.1:$port" LOG="$work/server.log" CUSTOMER="$customer" OIDC_CUSTOMER="$nin_customer" \
	STAFF_SECRET="$staff_secret" \
	SCREENSHOTS="$PWD/target/screenshots" \
	node tests/browser/selfservice.mjs || status=$?
if ((status != 0)); then
	echo "-- server log (last 30 lines)"
	tail -30 "$work/server.log"
	echo "-- provider log (last 10 lines)"
	tail -10 "$work/provider.log"
fi
exit "$status"
