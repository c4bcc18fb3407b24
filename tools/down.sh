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
stop_pid "sandbox stand-ins" "$VAR/run/standin.pid"
# lighttpd stops its FastCGI workers; make sure none outlived it.  The
# outbox's sender and a started training run detached: stop those of this
# stack too — only this var folder's (tools/stack-pids.sh), never another
# checkout's or another test stack's.
for pid in $(sh tools/stack-pids.sh "$VAR"); do
	case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
	*postgres*) ;;
	*) kill "$pid" 2>/dev/null ;;
	esac
done
if [ "$(cat "$VAR/run/pg.started" 2>/dev/null)" = 1 ]; then
	sh tools/pg.sh stop && echo "down: stopped PostgreSQL"
	rm -f "$VAR/run/pg.started"
fi
