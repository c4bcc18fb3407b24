#!/bin/sh
# The embedded PostgreSQL cluster: init | start | stop | status | url.
#
#   AISHA_PG_DIR   where the cluster lives (default: <project>/var/pg)
#   AISHA_PG_PORT  its port number, used only for the socket name (default 54329)
#
# The cluster listens on a unix socket only (no TCP), in a directory only its
# owner can enter, with trust authentication — nobody else on the machine can
# reach it.  Run as root, it runs as the unprivileged 'postgres' user (initdb
# refuses root).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${AISHA_PG_DIR:-$ROOT/var/pg}
PORT=${AISHA_PG_PORT:-54329}
# When the server user cannot reach the project folder (a parent such as
# /root is closed to others) or the socket path would be too long for a unix
# socket, the cluster lives in a fixed folder derived from the project path.
reachable() {
	[ "$(id -u)" -ne 0 ] && return 0
	p=$(dirname "$1")
	while [ ! -d "$p" ]; do p=$(dirname "$p"); done
	runuser -u postgres -- test -x "$p"
}
if ! reachable "$DIR" || [ ${#DIR} -gt 80 ]; then
	DIR=/var/tmp/aisha-pg-$(printf '%s' "$DIR" | md5sum | cut -c1-12)
fi
DATA=$DIR/data
SOCK=$DIR/run
LOG=$DIR/postgres.log
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] || { echo "pg: PostgreSQL server binaries not found (make deps)" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

url() {
	echo "host=$SOCK port=$PORT dbname=aisha user=aisha"
}

init() {
	[ -f "$DATA/PG_VERSION" ] && return 0
	mkdir -p "$DIR"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres:postgres "$DIR"
		# the server user must be able to reach the folder
		if ! runuser -u postgres -- test -w "$DIR"; then
			echo "pg: user postgres cannot write $DIR (a parent folder is closed);" \
			    "set AISHA_PG_DIR to a reachable path" >&2
			exit 1
		fi
	fi
	as_owner mkdir -p "$SOCK"
	as_owner chmod 700 "$DIR"
	as_owner "$PGBIN/initdb" -D "$DATA" -U aisha --auth=trust -E UTF8 \
	    --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
	    { cat "$DIR/initdb.log" >&2; exit 1; }
	cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$SOCK'
unix_socket_permissions = 0700
port = $PORT
max_connections = 100
shared_buffers = 128MB
fsync = on
log_min_messages = warning
CONF
}

# The server answers on its socket.
ready() {
	"$PGBIN/pg_isready" -q -h "$SOCK" -p "$PORT" -t 2 >/dev/null 2>&1
}

# postmaster.pid names a process that is gone, or a zombie nobody reaped
# yet (kill -9 of the server: kill -0 still succeeds on a zombie, so
# pg_ctl would call it running and refuse to start).
stale_lock() {
	[ -f "$DATA/postmaster.pid" ] || return 1
	pid=$(head -n 1 "$DATA/postmaster.pid")
	state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
	[ -z "$state" ] || [ "$state" = Z ]
}

start() {
	init
	ready && return 0
	if stale_lock; then
		rm -f "$DATA/postmaster.pid"
	elif as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
		# running but not answering yet (starting, or recovering)
		for _ in $(seq 1 600); do ready && return 0; sleep 0.1; done
		echo "pg: the server runs but does not answer (see $LOG)" >&2
		exit 1
	fi
	# after a kill -9 its backends may hold the shared memory a moment
	# longer (they leave when they notice): one more try
	as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null ||
	    { sleep 2; as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null; }
	if ! as_owner "$PGBIN/psql" -h "$SOCK" -p "$PORT" -U aisha -d postgres -tAc \
	    "SELECT 1 FROM pg_database WHERE datname = 'aisha'" | grep -q 1; then
		as_owner "$PGBIN/createdb" -h "$SOCK" -p "$PORT" -U aisha aisha
	fi
}

# A fresh, empty database (for test runs).
recreate() {
	start
	as_owner "$PGBIN/dropdb" -h "$SOCK" -p "$PORT" -U aisha --if-exists --force aisha
	as_owner "$PGBIN/createdb" -h "$SOCK" -p "$PORT" -U aisha aisha
}

stop() {
	[ -f "$DATA/PG_VERSION" ] || return 0
	if stale_lock; then
		rm -f "$DATA/postmaster.pid"
		return 0
	fi
	if as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
		as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
	fi
}

case "${1:-}" in
init) init ;;
start) start ;;
stop) stop ;;
restart) stop; start ;;
recreate) recreate ;;
status) as_owner "$PGBIN/pg_ctl" -D "$DATA" status ;;
url) url ;;
datadir) echo "$DATA" ;;
*) echo "usage: $0 init|start|stop|restart|recreate|status|url|datadir" >&2; exit 2 ;;
esac
