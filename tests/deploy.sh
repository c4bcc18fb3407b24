#!/bin/sh
# make deploy with requests in flight (issue 13, "Upgrades").  The test's
# migrations are numbered 900 and 901: after every real one.
#  - release A installed and serving (the installed lighttpd.conf, a real
#    PostgreSQL); 60 clients send requests one after another;
#  - make deploy of release B, which brings one new migration → 0 failed
#    requests, the schema at B's version, B's workers serving;
#  - make deploy of release C whose migration fails → make deploy fails,
#    B keeps running (current unchanged, nothing of C's migration left),
#    still 0 failed requests;
#  - make rollback → A is current again and serves (on the newer schema).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CC=${CC:-gcc}
T=$(mktemp -d /tmp/aisha-deploy.XXXXXX)
chmod 755 "$T"
fail=0
passed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }
PG="$T/pg"
cleanup() {
	touch "$T/stop"
	[ -f "$T/var/run/lighttpd.pid" ] && kill "$(cat "$T/var/run/lighttpd.pid")" 2>/dev/null
	sleep 0.5
	AISHA_PG_DIR=$PG AISHA_PG_PORT=54363 sh tools/pg.sh stop >/dev/null 2>&1
	rm -rf "$T" build/deploy-next build/deploy-broken
}
trap cleanup EXIT

P="$T/opt"
V="$T/var"
L="$T/log"
mkdir -p "$V/run" "$V/www" "$V/media/placeholder" "$L" "$T/etc"
AISHA_PG_DIR=$PG AISHA_PG_PORT=54363 sh tools/pg.sh recreate >/dev/null
URL=$(AISHA_PG_DIR=$PG AISHA_PG_PORT=54363 sh tools/pg.sh url)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SECRET=deploy-test-secret
cat >"$T/etc/aisha.env" <<EOF
DATABASE_URL=$URL
TELEGRAM_WEBHOOK_SECRET=$SECRET
ADMIN_TOKEN=deploy-test-admin-token-0123
FAL_WEBHOOK_SECRET=deploy-test-fal-secret
PORT=$PORT
CHECKER_INTERVAL=86400
EOF
export AISHA_INSTALL_VAR="$V" AISHA_INSTALL_LOG="$L" AISHA_USER=root AISHA_VAR_DIR="$V"
export AISHA_ENV_FILE="$T/etc/aisha.env"
MK="make -s --no-print-directory CC=$CC LINK_BIN=no PREFIX=$P ETC=$T/etc"

# release A, serving
AISHA_RELEASE=a-1 $MK install >/dev/null || bad "make install (release A)"
"$P/current/bin/migrate" >/dev/null || bad "migrate (release A)"
env -i PATH="$PATH" AISHA_VAR_DIR="$V" AISHA_LOG_DIR="$L" MEDIA_DIR="$V/media" PORT="$PORT" \
    DATABASE_URL="$URL" TELEGRAM_WEBHOOK_SECRET=$SECRET CHECKER_INTERVAL=86400 \
    ADMIN_TOKEN=deploy-test-admin-token-0123 FAL_WEBHOOK_SECRET=deploy-test-fal-secret \
    lighttpd -f "$P/current/share/aisha/lighttpd.conf" || bad "lighttpd (release A)"
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
want() { curl -s -H "Authorization: Bearer deploy-test-admin-token-0123" \
    "http://127.0.0.1:$PORT/healthz" | sed -n 's/.*"schema_wanted":"\([0-9]*\)".*/\1/p'; }
base=$(want)
[ -n "$base" ] && ok "release A serves (schema $base)" || bad "release A does not answer"

# releases B (one new migration) and C (a migration that fails), built
# beside the tests' own build
for r in next broken; do
	rm -rf "build/deploy-$r"
	cp -a "build/$CC" "build/deploy-$r"
	make -s CC=$CC LINK_BIN=no BUILD="build/deploy-$r" EXTRA_SCHEMA="tests/fixtures/migration-$r" \
	    all >/dev/null || bad "build of release $r"
done

load() { /usr/bin/python3 tests/deploy_load.py "$PORT" "$SECRET" "$T/stop" 60 >"$T/load.out" 2>&1 & }
finish_load() { # sets res
	touch "$T/stop"
	wait
	res=$(cat "$T/load.out")
	rm -f "$T/stop"
}

load
sleep 2
out=$(AISHA_RELEASE=b-1 $MK BUILD=build/deploy-next EXTRA_SCHEMA=tests/fixtures/migration-next deploy 2>&1) &&
    ok "make deploy (release B, one new migration)" || { bad "make deploy B"; echo "$out"; }
sleep 3
finish_load
echo "$res" | grep -q "failed 0$" && ok "no failed request across the deploy: $(echo "$res" | head -1)" ||
    bad "requests failed across the deploy: $res"
echo "$res" | awk '/^sent/ { exit !($2 >= 60) }' || bad "too few requests were in flight: $res"
[ "$(readlink "$P/current")" = releases/b-1 ] && ok "current is release B" || bad "current: $(readlink "$P/current")"
[ "$(psql "$URL" -XtAc "SELECT max(version) FROM schema_migrations")" = 900 ] &&
    [ "$(psql "$URL" -XtAc "SELECT to_regclass('deploy_probe') IS NOT NULL")" = t ] &&
    ok "the schema is at release B's version (900)" || bad "schema after deploy"
for _ in $(seq 1 30); do [ "$(want)" = 900 ] && break; sleep 0.2; done
[ "$(want)" = 900 ] && ok "release B's workers serve" || bad "the workers are still A's: $(want)"

load
sleep 1
out=$(AISHA_RELEASE=c-1 $MK BUILD=build/deploy-broken EXTRA_SCHEMA=tests/fixtures/migration-broken deploy 2>&1) &&
    bad "make deploy of a failing migration succeeded" || ok "make deploy fails when a migration fails"
echo "$out" | grep -q "901_broken.sql" && ok "it names the migration" || bad "no name: $out"
sleep 1
finish_load
echo "$res" | grep -q "failed 0$" && ok "no failed request: $(echo "$res" | head -1)" || bad "failed: $res"
[ "$(readlink "$P/current")" = releases/b-1 ] && [ ! -e "$P/releases/c-1" ] &&
    ok "release B keeps running; C is gone" || bad "current: $(readlink "$P/current"); $(ls "$P/releases")"
[ "$(psql "$URL" -XtAc "SELECT to_regclass('half_deployed') IS NULL")" = t ] &&
    ok "nothing of the failed migration is left" || bad "half_deployed exists"
[ "$(want)" = 900 ] && ok "B still serves" || bad "after the failed deploy: $(want)"

out=$($MK rollback 2>&1) && ok "make rollback" || { bad "make rollback"; echo "$out"; }
[ "$(readlink "$P/current")" = releases/a-1 ] && ok "current is release A again" ||
    bad "current: $(readlink "$P/current")"
for _ in $(seq 1 30); do [ "$(want)" = "$base" ] && break; sleep 0.2; done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$(want)" = "$base" ] && [ "$code" = 200 ] &&
    ok "release A serves again, on the newer schema" || bad "after rollback: $(want) $code"
echo "deploy: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
