#!/bin/sh
# What cron does, for a stack brought up with `make up` on a machine where
# cron is not installed for it: the status checker every 10 seconds and the
# startup checker every minute, through the same cron/run.sh (with its lock,
# so an installed crontab and this never run a job twice at once).
#   tools/ticker.sh VAR     (the var folder: in the command line, so each
#                            stack's ticker is told from another's)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export AISHA_VAR_DIR="${1:-${AISHA_VAR_DIR:-$ROOT/var}}"
n=0
sh "$ROOT/cron/run.sh" startup
while :; do
	sleep 10
	sh "$ROOT/cron/run.sh" status
	n=$((n + 1))
	[ $((n % 6)) -eq 0 ] && sh "$ROOT/cron/run.sh" startup
done
