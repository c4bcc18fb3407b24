#!/bin/sh
# make down: stops exactly what make up started.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VAR=${AISHA_VAR_DIR:-$ROOT/var}
export AISHA_PG_DIR=${AISHA_PG_DIR:-$VAR/pg}

stop_pid() { # name pidfile
	[ -f "$2" ] || return 0
	pid=$(cat "$2")
	if kill -0 "$pid" 2>/dev/null; then
		# the checkers run in a session of their own: stop the whole group
		kill -- "-$pid" 2>/dev/null || kill "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
		echo "down: stopped $1"
	fi
	rm -f "$2"
}

stop_pid checkers "$VAR/run/ticker.pid"
stop_pid lighttpd "$VAR/run/lighttpd.pid"
# lighttpd stops its FastCGI workers; make sure none outlived it.
# The outbox's sender and a started training run detached (their full path
# in their command line): stop those of this folder too.
for f in tg-update fal-webhook start-training check-status; do
	pkill -f "^$ROOT/.*/$f( |\$)" 2>/dev/null || true
done
stop_pid "sandbox stand-ins" "$VAR/run/standin.pid"
if [ "$(cat "$VAR/run/pg.started" 2>/dev/null)" = 1 ]; then
	sh tools/pg.sh stop && echo "down: stopped PostgreSQL"
	rm -f "$VAR/run/pg.started"
fi
