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
sh tools/down.sh >/dev/null 2>&1
sleep 1
left=$(pgrep -af "lighttpd|standin.py|ticker.sh|bin/tg-update|bin/check-status|bin/fal-webhook|bin/start-training" |
    grep -v -e pgrep -e "grep " | grep "$AISHA_VAR_DIR\|18081\|$ROOT/build\|$ROOT/bin\|ticker.sh" || true)
[ -z "$left" ] && ok "make down leaves no process" || { bad "processes left: $left"; }
pg_left=$(pgrep -af "postgres.*updown-test" | grep -v pgrep || true)
[ -z "$pg_left" ] && ok "make down stops PostgreSQL" || bad "postgres left: $pg_left"
rm -rf "$AISHA_VAR_DIR"
echo "updown: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
