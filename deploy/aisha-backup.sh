#!/bin/sh
# aisha-backup — one pg_dump -Fc of DATABASE_URL into BACKUP_DIR, checked
# readable before it replaces nothing, and the dumps older than
# BACKUP_KEEP_DAYS days removed.  Run nightly by aisha-backup.timer (or
# cron).  Restore (docs/DEPLOYMENT.md: Backups):
#   pg_restore --clean --if-exists --no-owner -d "$DATABASE_URL" FILE
set -eu
dir=${BACKUP_DIR:-/var/lib/aisha/backups}
keep=${BACKUP_KEEP_DAYS:-14}
case $keep in '' | *[!0-9]*) echo "aisha-backup: BACKUP_KEEP_DAYS must be a number" >&2; exit 78 ;; esac
[ -n "${DATABASE_URL:-}" ] || { echo "aisha-backup: DATABASE_URL is not set" >&2; exit 78; }
umask 077
mkdir -p "$dir"
f="$dir/aisha-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --file="$f.part" --dbname="$DATABASE_URL"
pg_restore --list "$f.part" >/dev/null     # a whole, readable archive
mv "$f.part" "$f"
find "$dir" -name 'aisha-*.dump' -mtime +"$keep" -delete
find "$dir" -name 'aisha-*.dump.part' -mmin +60 -delete
echo "$(date -u +%FT%TZ) aisha-backup: $f ($(du -h "$f" | cut -f1)), kept $keep days"
