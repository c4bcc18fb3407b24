#!/bin/sh
# Prints the pids of the processes of one stack: those of Aisha's kinds
# (lighttpd, the four programs, the stand-ins, the ticker, cron's runs, the
# embedded PostgreSQL) whose command line or environment names this var
# folder.  Two stacks on one machine (two checkouts, or the tests' stacks
# beside `make up`) never see each other's processes.
#   tools/stack-pids.sh [VAR]        (default: $AISHA_VAR_DIR, else ./var)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${1:-${AISHA_VAR_DIR:-$ROOT/var}}
VAR=$(cd "$VAR" 2>/dev/null && pwd || printf '%s' "$VAR")
for d in /proc/[0-9]*; do
	pid=${d#/proc/}
	[ "$pid" = "$$" ] && continue
	cmd=$( { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) || continue
	case "$cmd" in
	*lighttpd\ *|*/tg-update*|*/fal-webhook*|*/start-training*|*/check-status*|\
	*standin.py*|*ticker.sh*|*cron/run.sh*|*postgres*) ;;
	*) continue ;;
	esac
	case "$cmd" in *"$VAR/"*|*"$VAR "*) echo "$pid"; continue ;; esac
	if { tr '\0' '\n' <"$d/environ"; } 2>/dev/null |
	    grep -qxF -e "AISHA_VAR_DIR=$VAR" -e "AISHA_ENV_FILE=$VAR/aisha.env"; then
		echo "$pid"
	fi
done
