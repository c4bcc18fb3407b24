#!/bin/sh
# Runs one cron job with the running stack's configuration (var/aisha.env),
# never two of the same at once, logging to var/log/cron.log.
#   cron/run.sh status    check-status --all
#   cron/run.sh startup   check-status --startup, then start-training --pending
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOB=${1:-}
VAR=${AISHA_VAR_DIR:-$ROOT/var}
export AISHA_ENV_FILE=${AISHA_ENV_FILE:-$VAR/aisha.env}
mkdir -p "$VAR/log" "$VAR/run"
case "$JOB" in
status) set -- "$ROOT/bin/check-status" --all ;;
startup) set -- sh -c "\"$ROOT/bin/check-status\" --startup && \"$ROOT/bin/start-training\" --pending" ;;
*) echo "usage: $0 status|startup" >&2; exit 2 ;;
esac
exec 9>"$VAR/run/cron-$JOB.lock"
if ! flock -n 9; then
	echo "$(date -u +%FT%TZ) cron $JOB: previous run still going, skipped" >>"$VAR/log/cron.log"
	exit 0
fi
start=$(date +%s)
"$@" >>"$VAR/log/cron.log" 2>&1
rc=$?
echo "$(date -u +%FT%TZ) cron $JOB: exit $rc in $(($(date +%s) - start)) s" >>"$VAR/log/cron.log"
exit $rc
