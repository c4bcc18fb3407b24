#!/bin/sh
# make deploy: a new release with no failed request and no schema mismatch.
#   1. the build is installed as PREFIX/releases/<id> (not yet current);
#   2. that release's migrate applies the pending migrations (forward only,
#      each in its transaction, under migrate's advisory lock) — if one
#      fails, the new release is removed and the running one is untouched;
#   3. PREFIX/current is switched to it (one rename);
#   4. lighttpd reloads gracefully (SIGUSR1: it finishes what it serves,
#      then reads its configuration again and starts the new backends);
#   5. all but the newest five releases are removed.
# make rollback: current back to the previous release, then the same reload.
#
# The reload: AISHA_RELOAD when set (a command), else `systemctl reload
# aisha` when that unit runs, else SIGUSR1 to the pid in
# $AISHA_VAR_DIR/run/lighttpd.pid (default /var/lib/aisha).
# Settings (DATABASE_URL) from the environment, else $ETC/aisha.env.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PREFIX=${PREFIX:-/opt/aisha}
ETC=${ETC:-/etc/aisha}
export AISHA_ENV_FILE=${AISHA_ENV_FILE:-$ETC/aisha.env}
VAR=${AISHA_VAR_DIR:-${AISHA_INSTALL_VAR:-/var/lib/aisha}}

reload() {
	if [ -n "${AISHA_RELOAD:-}" ]; then
		sh -c "$AISHA_RELOAD"
	elif command -v systemctl >/dev/null && systemctl is-active --quiet aisha.service 2>/dev/null; then
		systemctl reload aisha.service
	elif [ -f "$VAR/run/lighttpd.pid" ]; then
		kill -USR1 "$(cat "$VAR/run/lighttpd.pid")"
	else
		echo "deploy: no running lighttpd found to reload (start aisha.service)" >&2
	fi
}

if [ "${1:-}" = --rollback ]; then
	prev=$(sh tools/release.sh previous "$PREFIX")
	[ -n "$prev" ] || { echo "deploy: no previous release to roll back to" >&2; exit 1; }
	sh tools/release.sh switch "$PREFIX" "$prev"
	reload
	echo "deploy: rolled back to $prev"
	exit 0
fi

rel=$(PREFIX=$PREFIX ETC=$ETC sh tools/install.sh --no-switch | tail -n 1)
id=$(basename "$rel")
if ! env -u BIN "$rel/bin/migrate" --wait 60; then
	rm -rf "$rel"
	echo "deploy: a migration failed; $(readlink "$PREFIX/current" || echo 'the old release') keeps running" >&2
	exit 1
fi
sh tools/release.sh switch "$PREFIX" "$id"
reload
sh tools/release.sh prune "$PREFIX" 5
echo "deploy: $id is current"
