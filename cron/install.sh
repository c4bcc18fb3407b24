#!/bin/sh
# Installs cron/crontab into the current user's crontab (idempotent: the
# block between the Aisha markers is replaced).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEGIN="# >>> aisha $ROOT"
END="# <<< aisha $ROOT"
current=$(crontab -l 2>/dev/null || true)
cleaned=$(printf '%s\n' "$current" | sed "\|^$BEGIN\$|,\|^$END\$|d")
{
	[ -n "$cleaned" ] && printf '%s\n' "$cleaned"
	echo "$BEGIN"
	sed "s|@ROOT@|$ROOT|g" "$ROOT/cron/crontab"
	echo "$END"
} | crontab -
echo "cron: installed for $ROOT (crontab -l to see it)"
