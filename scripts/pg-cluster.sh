#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite, on 127.0.0.1 and a free port.
#
# Sourced:   source scripts/pg-cluster.sh; pg_cluster_start; ...; pg_cluster_stop
# Directly:  bash scripts/pg-cluster.sh run CMD...   start, run CMD, stop; exits with CMD's status
#            eval "$(bash scripts/pg-cluster.sh start)"   prints the export lines for the variables
#            bash scripts/pg-cluster.sh stop | pause SECONDS   act on the cluster the variables name
#
# pg_cluster_start exports:
#   NORDLYS_TEST_POSTGRES_URL  postgres://nordlys@127.0.0.1:PORT/postgres (user nordlys, trust auth)
#   NORDLYS_TEST_PG_BIN        the server's bin directory (pg_ctl, psql, ...)
#   NORDLYS_TEST_PG_DATA       the data directory (pass to pg_ctl -D)
#   NORDLYS_TEST_PG_LOG        the server log (pass to pg_ctl -l when restarting)
#   NORDLYS_TEST_PG_CTL_USER   the user to run pg_ctl as (runuser -u USER --), empty for oneself
# Every setting, the port included, is in the data directory's postgresql.conf, so a test can
# stop the server and start it again with `pg_ctl -D "$NORDLYS_TEST_PG_DATA" -l "$NORDLYS_TEST_PG_LOG" -w start`.
# pg_cluster_pause SECONDS does that by hand: stop, sleep, start.
#
# Server binaries come from /usr/lib/postgresql/*/bin (the highest version), never from PATH;
# when there are none, Debian's postgresql package is installed. PostgreSQL refuses to run as
# root, so as root the cluster runs as the system user nordlys-pg, created when missing.
# The functions don't change the caller's shell options; messages go to stderr.

_PG_CLUSTER_SYSUSER=nordlys-pg
# This shell's cluster, set as soon as start creates it, so a stop cleans up even a half-made one.
# (Sourcing the script again keeps it.)
: "${_PG_CLUSTER_DIR:=}" "${_PG_CLUSTER_BIN:=}" "${_PG_CLUSTER_AS:=}"

_pg_cluster_say() { echo "pg-cluster: $*" >&2; }

# _pg_cluster_error MESSAGE [LOG]: report an error, with the tail of LOG if it has one.
_pg_cluster_error() {
	_pg_cluster_say "error: $1"
	if [[ -n ${2:-} && -s $2 ]]; then
		echo "---- last lines of $2:" >&2
		tail -n 25 "$2" >&2
		echo "----" >&2
	fi
}

# _pg_cluster_as USER CMD...: run CMD as USER (from /, which every user can enter), or as oneself if USER is empty.
_pg_cluster_as() {
	local user=$1
	shift
	if [[ -z $user ]]; then
		"$@"
	elif command -v runuser >/dev/null; then
		(cd / && runuser -u "$user" -- "$@")
	else
		(cd / && su -s /bin/sh "$user" -c "$(printf '%q ' "$@")")
	fi
}

# The highest-versioned /usr/lib/postgresql/*/bin that has a server, on stdout.
_pg_cluster_find_bin() {
	local dir
	dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5V | while read -r d; do
		if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then echo "$d"; fi
	done | tail -n 1)
	[[ -n $dir ]] && echo "$dir"
}

# Install Debian's postgresql package, with apt-get update only if the first try fails.
_pg_cluster_install() {
	local -a sudo=()
	if ((EUID != 0)); then
		if ! command -v sudo >/dev/null; then
			_pg_cluster_error "PostgreSQL is not installed, and installing it needs root or sudo"
			return 1
		fi
		sudo=(sudo)
	fi
	_pg_cluster_say "no PostgreSQL server under /usr/lib/postgresql: installing Debian's postgresql package"
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
	if "${apt[@]}" install -y -q postgresql >&2; then return 0; fi
	_pg_cluster_say "apt-get install failed: running apt-get update and trying again"
	if ! { "${apt[@]}" update -q >&2 && "${apt[@]}" install -y -q postgresql >&2; }; then
		_pg_cluster_error "apt-get install -y postgresql failed"
		return 1
	fi
}

# A TCP port on 127.0.0.1 that nothing listens on, on stdout.
_pg_cluster_free_port() {
	if command -v python3 >/dev/null &&
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; then
		return 0
	fi
	local port tries
	for ((tries = 0; tries < 50; tries++)); do
		port=$((20000 + RANDOM % 30000))
		# A refused connection means the port is free.
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Stop the server of this shell's cluster, if it runs, and remove its directory. Quiet.
_pg_cluster_teardown() {
	local dir=$_PG_CLUSTER_DIR bin=$_PG_CLUSTER_BIN user=$_PG_CLUSTER_AS
	local data=$dir/data pid
	if [[ -f $data/postmaster.pid ]]; then
		# Immediate: no checkpoint, nothing is kept.
		_pg_cluster_as "$user" "$bin/pg_ctl" --pgdata="$data" --mode=immediate --wait stop >/dev/null 2>&1 || true
		pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null) || pid=""
		if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
			_pg_cluster_say "pg_ctl stop left the postmaster (pid $pid) running: killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	if ! rm -rf -- "$dir"; then
		_pg_cluster_error "could not remove $dir"
		return 1
	fi
	_PG_CLUSTER_DIR="" _PG_CLUSTER_BIN="" _PG_CLUSTER_AS=""
}

pg_cluster_start() {
	if [[ -n $_PG_CLUSTER_DIR ]]; then
		_pg_cluster_error "a cluster is already running from this shell (in $_PG_CLUSTER_DIR); pg_cluster_stop first"
		return 1
	fi

	local bin
	if ! bin=$(_pg_cluster_find_bin); then
		if ! { _pg_cluster_install && bin=$(_pg_cluster_find_bin); }; then
			_pg_cluster_error "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
			return 1
		fi
	fi

	local user=""
	if ((EUID == 0)); then
		user=$_PG_CLUSTER_SYSUSER
		# (A concurrent start may create it meanwhile, hence the second id.)
		if ! id -u "$user" >/dev/null 2>&1 &&
			! useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$user" &&
			! id -u "$user" >/dev/null 2>&1; then
			_pg_cluster_error "could not create the system user $user"
			return 1
		fi
	fi

	local dir
	if ! dir=$(mktemp -d -t nordlys-pg.XXXXXXXX); then
		_pg_cluster_error "mktemp -d failed"
		return 1
	fi
	_PG_CLUSTER_DIR=$dir _PG_CLUSTER_BIN=$bin _PG_CLUSTER_AS=$user
	local data=$dir/data log=$dir/postgres.log port
	if [[ -n $user ]] && ! { chown "$user:" "$dir" && _pg_cluster_as "$user" test -w "$dir"; }; then
		_pg_cluster_error "$user cannot write to $dir (a parent closed to other users? set TMPDIR)"
		_pg_cluster_teardown
		return 1
	fi

	if ! _pg_cluster_as "$user" "$bin/initdb" --pgdata="$data" --auth=trust --username=nordlys \
		--encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		_pg_cluster_error "initdb failed" "$dir/initdb.log"
		_pg_cluster_teardown
		return 1
	fi

	if ! port=$(_pg_cluster_free_port); then
		_pg_cluster_error "found no free TCP port on 127.0.0.1"
		_pg_cluster_teardown
		return 1
	fi
	# Appended settings override initdb's; all of them live here, so a plain pg_ctl start restores them.
	cat >>"$data/postgresql.conf" <<EOF

# pg-cluster.sh: a throwaway test cluster, no durability
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

	if ! _pg_cluster_as "$user" "$bin/pg_ctl" --pgdata="$data" --log="$log" --wait --timeout=60 start >/dev/null 2>&1; then
		_pg_cluster_error "pg_ctl start failed (port $port, data $data)" "$log"
		_pg_cluster_teardown
		return 1
	fi

	export NORDLYS_TEST_POSTGRES_URL="postgres://nordlys@127.0.0.1:$port/postgres"
	export NORDLYS_TEST_PG_BIN=$bin
	export NORDLYS_TEST_PG_DATA=$data
	export NORDLYS_TEST_PG_LOG=$log
	export NORDLYS_TEST_PG_CTL_USER=$user
	local version
	version=$("$bin/postgres" --version) || version="postgres (PostgreSQL) ?"
	_pg_cluster_say "started PostgreSQL ${version#postgres (PostgreSQL) } on 127.0.0.1:$port, data $data${user:+, as user $user}"
}

# Stop the cluster (immediately: no checkpoint) and remove its directory: this shell's, else the
# one the variables name (as after `eval "$(pg-cluster.sh start)"`). Does nothing if there is none;
# also works when the server is already stopped.
pg_cluster_stop() {
	if [[ -z $_PG_CLUSTER_DIR ]]; then
		[[ -n ${NORDLYS_TEST_PG_DATA:-} ]] || return 0
		_PG_CLUSTER_DIR=${NORDLYS_TEST_PG_DATA%/data}
		_PG_CLUSTER_BIN=${NORDLYS_TEST_PG_BIN:-}
		_PG_CLUSTER_AS=${NORDLYS_TEST_PG_CTL_USER:-}
	fi
	local dir=$_PG_CLUSTER_DIR port=${NORDLYS_TEST_POSTGRES_URL:-?}
	port=${port##*:}
	port=${port%%/*}
	# Only ever remove a directory this script made.
	if [[ $dir != */nordlys-pg.* ]]; then
		_pg_cluster_error "refusing to remove $dir: not made by pg-cluster.sh"
		_PG_CLUSTER_DIR="" _PG_CLUSTER_BIN="" _PG_CLUSTER_AS=""
		return 1
	fi
	_pg_cluster_teardown || return 1
	unset NORDLYS_TEST_POSTGRES_URL NORDLYS_TEST_PG_BIN NORDLYS_TEST_PG_DATA NORDLYS_TEST_PG_LOG NORDLYS_TEST_PG_CTL_USER
	_pg_cluster_say "stopped PostgreSQL on 127.0.0.1:$port, removed $dir"
}

# pg_cluster_pause SECONDS: stop the server, wait, start it again with the same data and port,
# to see how clients take the database going away.
pg_cluster_pause() {
	local seconds=${1:?usage: pg_cluster_pause SECONDS}
	local data=${NORDLYS_TEST_PG_DATA:-} bin=${NORDLYS_TEST_PG_BIN:-} user=${NORDLYS_TEST_PG_CTL_USER:-}
	local log=${NORDLYS_TEST_PG_LOG:-${data%/data}/postgres.log}
	if [[ -z $data ]]; then
		_pg_cluster_error "no cluster: NORDLYS_TEST_PG_DATA is not set"
		return 1
	fi
	if ! _pg_cluster_as "$user" "$bin/pg_ctl" --pgdata="$data" --mode=fast --wait stop >/dev/null 2>&1; then
		_pg_cluster_error "pg_ctl stop failed" "$log"
		return 1
	fi
	_pg_cluster_say "paused: server stopped for $seconds s"
	sleep "$seconds"
	if ! _pg_cluster_as "$user" "$bin/pg_ctl" --pgdata="$data" --log="$log" --wait --timeout=60 start >/dev/null 2>&1; then
		_pg_cluster_error "pg_ctl start failed after the pause" "$log"
		return 1
	fi
	_pg_cluster_say "resumed: server up again"
}

# Run directly (not sourced): start | stop | pause SECONDS | run CMD...
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	usage="usage: $0 start | stop | pause SECONDS | run CMD..."
	case ${1:-} in
	start)
		pg_cluster_start
		for var in NORDLYS_TEST_POSTGRES_URL NORDLYS_TEST_PG_BIN NORDLYS_TEST_PG_DATA NORDLYS_TEST_PG_LOG NORDLYS_TEST_PG_CTL_USER; do
			printf 'export %s=%q\n' "$var" "${!var}"
		done
		;;
	stop) pg_cluster_stop ;;
	pause) pg_cluster_pause "${2:?$usage}" ;;
	run)
		shift
		(($# > 0)) || { echo "$usage" >&2; exit 2; }
		# Stop and remove the cluster however this ends. A signal is handled once the
		# foreground CMD has exited (Ctrl-C reaches CMD too); exit keeps its status through the EXIT trap.
		trap pg_cluster_stop EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		pg_cluster_start
		status=0
		"$@" || status=$?
		exit "$status"
		;;
	*)
		echo "$usage" >&2
		exit 2
		;;
	esac
fi
