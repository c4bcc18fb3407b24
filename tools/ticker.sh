#!/bin/sh
# What cron does, for a stack brought up with `make up` on a machine where
# cron is not installed for it: the status checker every 10 seconds and the
# startup checker every minute, through the same cron/run.sh (with its lock,
# so an installed crontab and this never run a job twice at once).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
n=0
sh "$ROOT/cron/run.sh" startup
while :; do
	sleep 10
	sh "$ROOT/cron/run.sh" status
	n=$((n + 1))
	[ $((n % 6)) -eq 0 ] && sh "$ROOT/cron/run.sh" startup
done
