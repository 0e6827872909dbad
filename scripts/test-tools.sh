#!/usr/bin/env bash
# aiosmtpd in a venv under target/test-venv: the local SMTP server (scripts/smtp-sink.py) the
# e-mail delivery tests send to. Run by scripts/test-all.sh, which then exports
# NORDLYS_TEST_PYTHON for the tests (without it they skip with a line saying so).
set -euo pipefail
venv=target/test-venv
if ! "$venv/bin/python" -c "import aiosmtpd" 2>/dev/null; then
	echo "creating $venv with aiosmtpd"
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q aiosmtpd
fi
