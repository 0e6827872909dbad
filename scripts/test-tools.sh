#!/usr/bin/env bash
# Python test tools in a venv under target/test-venv, run by scripts/test-all.sh:
# - aiosmtpd: the local SMTP server (scripts/smtp-sink.py) the e-mail delivery tests send to;
#   test-all.sh exports NORDLYS_TEST_PYTHON for them (without it they skip, saying so);
# - schemathesis: the API fuzzer scripts/api-fuzz.sh runs against the real server.
set -euo pipefail
venv=target/test-venv
if [[ ! -x "$venv/bin/python" ]]; then
	echo "creating $venv"
	python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import aiosmtpd" 2>/dev/null; then
	echo "installing aiosmtpd into $venv"
	"$venv/bin/pip" install -q aiosmtpd
fi
# Pinned: the version the suite was last run with (a newer one may generate new cases).
schemathesis=4.32.5
if [[ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$schemathesis" ]]; then
	echo "installing schemathesis $schemathesis into $venv"
	"$venv/bin/pip" install -q "schemathesis==$schemathesis"
fi
