#!/bin/sh
# make install, as an operator would use it, end to end on this machine:
#  - with DESTDIR: nothing is written outside DESTDIR/PREFIX and DESTDIR/etc/aisha,
#    the settings file is 0600, and a second install keeps the operator's file;
#  - into real paths (a temporary PREFIX): systemd-analyze verify passes for
#    every unit and timer; the installed lighttpd.conf runs the installed
#    programs against a real PostgreSQL (migrate --wait, healthz, an update);
#  - the installed logrotate file rotates functions.log (copytruncate) while
#    the workers keep writing to it;
#  - the installed backup makes a pg_dump -Fc that restores into a fresh
#    cluster, and the bot answers from the restored data.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MK="make -s CC=${CC:-gcc}"
T=$(mktemp -d /tmp/aisha-install.XXXXXX)
chmod 755 "$T"
fail=0
passed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }
PG1="$T/pg1"
PG2="$T/pg2"
cleanup() {
	[ -f "$T/lighttpd.pid" ] && kill "$(cat "$T/lighttpd.pid")" 2>/dev/null
	sleep 0.5
	AISHA_PG_DIR=$PG1 AISHA_PG_PORT=54361 sh tools/pg.sh stop >/dev/null 2>&1
	AISHA_PG_DIR=$PG2 AISHA_PG_PORT=54362 sh tools/pg.sh stop >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# --- DESTDIR: exactly PREFIX and /etc/aisha --------------------------------
out=$($MK install DESTDIR="$T/dest" PREFIX=/opt/aisha 2>&1) &&
    ok "make install DESTDIR=… PREFIX=/opt/aisha" || { bad "make install"; echo "$out"; }
stray=$(cd "$T/dest" && find . -type f | grep -v -e '^\./opt/aisha/' -e '^\./etc/aisha/')
[ -z "$stray" ] && ok "nothing written outside PREFIX and /etc/aisha" || bad "written elsewhere: $stray"
for f in bin/tg-update bin/fal-webhook bin/start-training bin/check-status bin/migrate \
    bin/aisha-backup share/aisha/lighttpd.conf share/aisha/logrotate.conf share/aisha/aisha.cron \
    share/aisha/systemd/aisha.service share/aisha/systemd/aisha-status.timer \
    share/aisha/errors/status-411.html share/doc/aisha/DEPLOYMENT.md; do
	[ -f "$T/dest/opt/aisha/current/$f" ] || bad "missing $f"
done
[ "$(stat -c %a "$T/dest/etc/aisha/aisha.env")" = 600 ] && ok "/etc/aisha/aisha.env is 0600" ||
    bad "aisha.env mode $(stat -c %a "$T/dest/etc/aisha/aisha.env")"
echo "TELEGRAM_BOT_TOKEN=mine" >>"$T/dest/etc/aisha/aisha.env"
$MK install DESTDIR="$T/dest" PREFIX=/opt/aisha >/dev/null 2>&1
grep -q "^TELEGRAM_BOT_TOKEN=mine" "$T/dest/etc/aisha/aisha.env" &&
    ok "a second install keeps the operator's settings" || bad "the settings file was replaced"
grep -rq "@PREFIX@\|@ETC@\|@USER@\|@LOGDIR@\|@VAR@" "$T/dest/opt/aisha/current/share/aisha"
[ $? = 1 ] && ok "every template filled in" || bad "a template placeholder was left (or none installed)"
cur=$(readlink "$T/dest/opt/aisha/current")
case "$cur" in releases/*) [ -x "$T/dest/opt/aisha/$cur/bin/tg-update" ] ;; *) false ;; esac &&
    ok "the release is made current (PREFIX/current -> $cur)" || bad "current: $cur"
grep -q "var.root = \"/opt/aisha/current/share/aisha\"" "$T/dest/opt/aisha/current/share/aisha/lighttpd.conf" &&
    ok "lighttpd.conf templated with the paths" || bad "lighttpd.conf paths"

# --- real paths: units verified, the installed stack runs ------------------
P="$T/opt/aisha/current"
V="$T/var/lib/aisha"
L="$T/var/log/aisha"
AISHA_INSTALL_VAR="$V" AISHA_INSTALL_LOG="$L" AISHA_USER=root \
    $MK install PREFIX="$T/opt/aisha" ETC="$T/etc/aisha" >/dev/null 2>&1 || bad "make install into $P"
if command -v systemd-analyze >/dev/null; then
	v=$(systemd-analyze verify "$P"/share/aisha/systemd/*.service "$P"/share/aisha/systemd/*.timer 2>&1 |
	    grep -v -e "Failed to create .*: Unit sysinit.target not found" \
	        -e "systemd-journald.socket" -e "^$")
	[ -z "$v" ] && ok "systemd-analyze verify: every unit and timer" || { bad "systemd-analyze verify"; echo "$v"; }
	grep -q "^NoNewPrivileges=yes" "$P/share/aisha/systemd/aisha.service" &&
	    grep -q "^ExecStart=/usr/sbin/lighttpd -D " "$P/share/aisha/systemd/aisha.service" &&
	    grep -q "^Restart=always" "$P/share/aisha/systemd/aisha.service" &&
	    ok "lighttpd in the foreground, restarted, hardened" || bad "aisha.service settings"
else
	bad "systemd-analyze is not installed (make deps)"
fi
mkdir -p "$V/run" "$V/www" "$V/media/placeholder" "$L"
AISHA_PG_DIR=$PG1 AISHA_PG_PORT=54361 sh tools/pg.sh recreate >/dev/null
URL=$(AISHA_PG_DIR=$PG1 AISHA_PG_PORT=54361 sh tools/pg.sh url)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/etc/aisha/aisha.env" <<EOF
DATABASE_URL=$URL
TELEGRAM_WEBHOOK_SECRET=install-test-secret
ADMIN_TOKEN=install-test-admin-token-0123
FAL_WEBHOOK_SECRET=install-test-fal-secret
PORT=$PORT
EOF
chmod 600 "$T/etc/aisha/aisha.env"
envrun() { env -i PATH="$PATH" AISHA_VAR_DIR="$V" AISHA_LOG_DIR="$L" MEDIA_DIR="$V/media" \
    AISHA_ENV_FILE="$T/etc/aisha/aisha.env" "$@"; }
envrun "$P/bin/migrate" --wait 10 >/dev/null && ok "the installed migrate (compiled-in schema)" ||
    bad "installed migrate"
envrun "$P/bin/check-status" --all >/dev/null 2>&1
set -a; . "$T/etc/aisha/aisha.env"; set +a
env -i PATH="$PATH" AISHA_VAR_DIR="$V" AISHA_LOG_DIR="$L" MEDIA_DIR="$V/media" PORT="$PORT" \
    DATABASE_URL="$URL" TELEGRAM_WEBHOOK_SECRET=install-test-secret \
    ADMIN_TOKEN=install-test-admin-token-0123 FAL_WEBHOOK_SECRET=install-test-fal-secret \
    lighttpd -f "$P/share/aisha/lighttpd.conf" && cp "$V/run/lighttpd.pid" "$T/lighttpd.pid"
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$code" = 200 ] && ok "the installed lighttpd.conf serves healthz" || bad "healthz answered $code"
upd() { printf '{"update_id":%s,"message":{"message_id":1,"date":1,"chat":{"id":31401,"type":"private"},"from":{"id":31401,"is_bot":false,"first_name":"Inst","language_code":"en"},"text":"%s"}}' "$1" "$2"; }
code=$(curl -s -o "$T/answer" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "X-Telegram-Bot-Api-Secret-Token: install-test-secret" -d "$(upd 1 /start)" \
    "http://127.0.0.1:$PORT/telegram/webhook")
[ "$code" = 200 ] && grep -q sendMessage "$T/answer" && ok "the installed tg-update answers /start" ||
    bad "the update answered $code: $(head -c 300 "$T/answer")"

# --- logrotate: copytruncate while the workers write ------------------------
if command -v logrotate >/dev/null; then
	logrotate --state "$T/logrotate.state" -f "$P/share/aisha/logrotate.conf" 2>"$T/lr.err" &&
	    ok "the installed logrotate file rotates" || { bad "logrotate"; cat "$T/lr.err"; }
	[ -f "$L/functions.log.1" ] && ok "functions.log rotated" || bad "no functions.log.1: $(ls "$L")"
	curl -s -o /dev/null -H 'Content-Type: application/json' \
	    -H "X-Telegram-Bot-Api-Secret-Token: install-test-secret" -d "$(upd 2 /help)" \
	    "http://127.0.0.1:$PORT/telegram/webhook"
	sleep 0.3
	grep -q "upd=2 " "$L/functions.log" &&
	    [ "$(tr -d '\000' <"$L/functions.log" | wc -c)" = "$(wc -c <"$L/functions.log")" ] &&
	    ok "the workers write on into the truncated file" || bad "functions.log after rotation: $(head -c 300 "$L/functions.log")"
else
	bad "logrotate is not installed (make deps)"
fi

# --- backup and restore -----------------------------------------------------
out=$(env -i PATH="$PATH" DATABASE_URL="$URL" BACKUP_DIR="$T/backups" "$P/bin/aisha-backup" 2>&1) &&
    ok "aisha-backup: $(echo "$out" | sed 's/.*aisha-backup: //' | cut -c1-60)" || { bad "aisha-backup"; echo "$out"; }
dump=$(ls "$T"/backups/aisha-*.dump 2>/dev/null | head -1)
touch -d '20 days ago' "$T/backups/aisha-20000101T000000Z.dump"
env -i PATH="$PATH" DATABASE_URL="$URL" BACKUP_DIR="$T/backups" BACKUP_KEEP_DAYS=14 \
    "$P/bin/aisha-backup" >/dev/null 2>&1
[ ! -e "$T/backups/aisha-20000101T000000Z.dump" ] && ok "dumps past BACKUP_KEEP_DAYS are removed" ||
    bad "an old dump was kept"
AISHA_PG_DIR=$PG2 AISHA_PG_PORT=54362 sh tools/pg.sh recreate >/dev/null
URL2=$(AISHA_PG_DIR=$PG2 AISHA_PG_PORT=54362 sh tools/pg.sh url)
pg_restore --no-owner -d "$URL2" "$dump" 2>"$T/restore.err" && ok "the dump restores into a fresh cluster" ||
    { bad "pg_restore"; head -5 "$T/restore.err"; }
body=$(upd 3 /balance)
ans=$(env -i PATH="$PATH" DATABASE_URL="$URL2" LOG_LEVEL=warn TELEGRAM_WEBHOOK_SECRET=install-test-secret \
    FAL_WEBHOOK_SECRET=x REQUEST_METHOD=POST REQUEST_URI=/telegram/webhook \
    CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
    HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=install-test-secret "$P/bin/tg-update" <<EOF
$body
EOF
)
echo "$ans" | grep -q "300" && ok "the bot answers from the restored data (the balance of 300)" ||
    bad "the restored bot said: $(echo "$ans" | head -c 400)"
# --- make dist: the shared host's tarball -----------------------------------
tgz=$($MK --no-print-directory dist 2>/dev/null | tail -n 1)
if [ -f "$tgz" ]; then
	mkdir -p "$T/dist" && tar -C "$T/dist" -xzf "$tgz"
	d=$(ls -d "$T"/dist/aisha-*)
	for f in cgi-bin/tg-update cgi-bin/fal-webhook cgi-bin/start-training cgi-bin/check-status \
	    cgi-bin/migrate htaccess.example aisha.env.example errors/status-411.html \
	    docs/SHARED_HOSTING.md; do
		[ -f "$d/$f" ] || bad "dist lacks $f"
	done
	out=$(env -i PATH="$PATH" DATABASE_URL="$URL2" REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_URI=/cgi-bin/check-status/healthz SCRIPT_NAME=/cgi-bin/check-status \
	    PATH_INFO=/healthz CHECKER_INTERVAL=86400 "$d/cgi-bin/check-status" 2>/dev/null)
	echo "$out" | grep -q '"ok":true' && ok "make dist: the unpacked CGI answers healthz" ||
	    bad "the dist's check-status said: $(echo "$out" | head -c 300)"
	rm -f "$tgz"
else
	bad "make dist made no tarball"
fi
echo "install: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
