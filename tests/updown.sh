#!/bin/sh
# The README's first command, end to end: `make up` brings the sandbox up
# (on spare ports, in its own var folder), /healthz answers 200, the sandbox
# chat shows the /start menu, and `make down` leaves no process behind.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export AISHA_VAR_DIR="$ROOT/var/updown-test" PORT=18080 \
    SANDBOX_TELEGRAM_PORT=18081 SANDBOX_FAL_PORT=18082 AISHA_PG_PORT=54349
fail=0
passed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }
sh tools/down.sh >/dev/null 2>&1
rm -rf "$AISHA_VAR_DIR"
if sh tools/up.sh >/tmp/aisha-updown.log 2>&1; then ok "make up"; else bad "make up"; cat /tmp/aisha-updown.log; fi
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18080/healthz)
[ "$code" = 200 ] && ok "healthz 200" || bad "healthz answered $code"
out=$(printf '/start\n' | /usr/bin/python3 sandbox/chat.py --user-id 31337)
echo "$out" | grep -q "Создать аватар" && ok "make chat shows the /start menu" || { bad "chat"; echo "$out"; }

# make up again after PostgreSQL was killed: it starts what is down
pgpid=$(head -1 "$(AISHA_PG_DIR="$AISHA_VAR_DIR/pg" sh tools/pg.sh datadir)/postmaster.pid" 2>/dev/null)
[ -n "$pgpid" ] && kill -9 "$pgpid"
sleep 1
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18080/healthz)
[ "$code" = 503 ] && ok "healthz 503 with PostgreSQL killed" || bad "healthz answered $code with PostgreSQL killed"
again=$(sh tools/up.sh 2>&1)
echo "$again" | grep -q "lighttpd already running" && ok "make up keeps the running lighttpd" ||
    { bad "make up did not keep lighttpd"; echo "$again"; }
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18080/healthz)
[ "$code" = 200 ] && ok "make up restarted PostgreSQL: healthz 200" || { bad "healthz answered $code after make up"; echo "$again"; }

# another stack's processes (here a ticker of another var folder) are
# neither stopped nor counted by this stack's make down
other=$(mktemp -d)
mkdir -p "$other/tools" "$other/var"
cp tools/ticker.sh "$other/tools/"
env -u AISHA_VAR_DIR setsid sh "$other/tools/ticker.sh" "$other/var" >/dev/null 2>&1 &
otherpid=$!
sh tools/down.sh >/dev/null 2>&1
sleep 1
left=$(sh tools/stack-pids.sh "$AISHA_VAR_DIR")
[ -z "$left" ] && ok "make down leaves no process" || { bad "processes left: $(ps -o pid,args -p "$(echo $left | tr ' ' ,)")"; }
kill -0 "$otherpid" 2>/dev/null && ok "make down leaves another stack's processes alone" ||
    bad "make down stopped another stack's ticker"
kill -- "-$otherpid" 2>/dev/null; rm -rf "$other"
pg_left=$(pgrep -af "postgres.*updown-test" | grep -v pgrep || true)
[ -z "$pg_left" ] && ok "make down stops PostgreSQL" || bad "postgres left: $pg_left"
rm -rf "$AISHA_VAR_DIR"

# Explicit settings win over generated ones: the three secrets from the
# environment, PHOTOS_MIN and LOG_LEVEL from the operator's AISHA_ENV_FILE
# (which also holds a mistyped key that make up must name).
mkdir -p "$AISHA_VAR_DIR"
envf="$AISHA_VAR_DIR/operator.env"
printf '# the operator'"'"'s file\nPHOTOS_MIN=3\nexport LOG_LEVEL="debug"\nPHOTO_MAX=5\nADMIN_TOKEN=from-the-file-must-lose-0000\n' >"$envf"
tg_secret=operator-telegram-secret_01
admin=operator-admin-token-0123456789
fal_secret=operator-fal-webhook-secret
up=$(ADMIN_TOKEN=$admin TELEGRAM_WEBHOOK_SECRET=$tg_secret FAL_WEBHOOK_SECRET=$fal_secret \
    AISHA_ENV_FILE=$envf sh tools/up.sh 2>&1) && ok "make up with explicit settings" ||
    { bad "make up with explicit settings"; echo "$up"; }
echo "$up" | grep -q "PHOTO_MAX is not a setting; did you mean PHOTOS_MAX" &&
    ok "make up names the mistyped PHOTO_MAX" || { bad "no warning for PHOTO_MAX"; echo "$up"; }
upd='{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":31338,"type":"private"},"from":{"id":31338,"is_bot":false,"first_name":"Op"},"text":"/help"}}'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "X-Telegram-Bot-Api-Secret-Token: $tg_secret" -d "$upd" http://127.0.0.1:18080/telegram/webhook)
[ "$code" = 200 ] && ok "webhook answered with the operator's TELEGRAM_WEBHOOK_SECRET" ||
    bad "webhook with the operator's secret answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin" \
    http://127.0.0.1:18080/api/avatars/999/status)
[ "$code" = 404 ] && ok "Bearer accepted with the operator's ADMIN_TOKEN" ||
    bad "the operator's ADMIN_TOKEN answered $code (want 404: no such avatar)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer from-the-file-must-lose-0000" \
    http://127.0.0.1:18080/api/avatars/999/status)
[ "$code" = 401 ] && ok "the environment beats the env file (ADMIN_TOKEN)" ||
    bad "the env file's ADMIN_TOKEN answered $code (want 401)"
# a webhook token kept the way start-training keeps it: hashed under the
# operator's FAL_WEBHOOK_SECRET
tok=operator-token-0123456789abcdefghijklmnopqr   # 43 characters, as issued
hash=$(/usr/bin/python3 -c 'import hashlib,sys
k=hashlib.blake2b(sys.argv[1].encode(),digest_size=32).digest()
print(hashlib.blake2b(sys.argv[2].encode(),key=k,digest_size=32).hexdigest())' "$fal_secret" "$tok")
psql "$(AISHA_PG_DIR="$AISHA_VAR_DIR/pg" sh tools/pg.sh url)" -X -q -c "INSERT INTO fal_webhook_tokens (kind, job_id, token_hash)
    VALUES ('avatar', 7, '$hash') ON CONFLICT (kind, job_id) DO UPDATE
    SET token_hash = EXCLUDED.token_hash" >/dev/null || bad "the token could not be stored"
body='{"request_id":"r-unknown","gateway_request_id":"r-unknown","status":"OK","payload":{}}'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" \
    "http://127.0.0.1:18080/fal/webhook?avatar=7&token=$tok")
[ "$code" = 200 ] && ok "FAL webhook token made from the operator's FAL_WEBHOOK_SECRET" ||
    bad "FAL webhook with the operator's token answered $code"
cfg=$(AISHA_ENV_FILE="$AISHA_VAR_DIR/aisha.env" bin/tg-update --check-config 2>/dev/null)
echo "$cfg" | grep -qx "PHOTOS_MIN=3" && ok "PHOTOS_MIN from AISHA_ENV_FILE is in force" ||
    { bad "PHOTOS_MIN from the env file not in force"; echo "$cfg" | grep PHOTOS; }
grep -q " DEBUG tg-update " "$AISHA_VAR_DIR/log/functions.log" &&
    ok "LOG_LEVEL=debug from AISHA_ENV_FILE reaches the workers" || bad "no DEBUG line from tg-update"
sh tools/down.sh >/dev/null 2>&1
rm -rf "$AISHA_VAR_DIR"
echo "updown: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
