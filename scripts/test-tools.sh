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
if ! "$venv/bin/python" -c "import schemathesis" 2>/dev/null; then
	echo "installing schemathesis into $venv"
	"$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi
