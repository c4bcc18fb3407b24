#!/bin/sh
# make up: brings the local stack up and says what runs where.
#
#  - the embedded PostgreSQL cluster under var/pg (unless DATABASE_URL is set)
#  - migrations
#  - with no TELEGRAM_BOT_TOKEN: the sandbox stand-ins (Telegram + FAL) on
#    127.0.0.1, and the programs pointed at them
#  - lighttpd on 127.0.0.1:$PORT with the four functions
#  - the webhook registered (sandbox, or a real bot when PUBLIC_BASE_URL is https)
#
# Explicit settings always win.  Generated secrets are kept in var/secrets.env;
# the effective configuration of the running stack is var/aisha.env, which the
# programs (and cron, and operators running bin/*) read.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VAR=${AISHA_VAR_DIR:-$ROOT/var}
export AISHA_VAR_DIR="$VAR"
export AISHA_PG_DIR=${AISHA_PG_DIR:-$VAR/pg}
mkdir -p "$VAR/log" "$VAR/run" "$VAR/www" "$VAR/media"
# the pictures test mode "generates"
mkdir -p "${MEDIA_DIR:-$VAR/media}/placeholder"
cp sandbox/placeholders/*.jpg "${MEDIA_DIR:-$VAR/media}/placeholder/"
chmod 700 "$VAR/run" "${MEDIA_DIR:-$VAR/media}"
PY=/usr/bin/python3

# Each part it manages is checked on its own: what runs is kept, what is
# down (a killed PostgreSQL, a crashed stand-in) is started again.
alive() { # pidfile: its process runs (a zombie does not count)
	[ -f "$1" ] || return 1
	state=$(sed 's/.*) //' "/proc/$(cat "$1")/stat" 2>/dev/null | cut -c1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Settings are layered: the environment wins, then the operator's
# AISHA_ENV_FILE, then what make up generates (secrets, kept in
# var/secrets.env so a restart keeps them).  A key is taken from a file only
# when the environment does not set it (empty counts as unset).
load_below() { # file
	while IFS= read -r line || [ -n "$line" ]; do
		line=$(printf '%s' "$line" | sed 's/^[[:space:]]*//; s/^export[[:space:]]\{1,\}//')
		case "$line" in '' | '#'*) continue ;; esac
		key=$(printf '%s' "${line%%=*}" | sed 's/[[:space:]]*$//')
		val=$(printf '%s' "${line#*=}" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
		case "$line" in *=*) ;; *) echo "up: $1: not KEY=VALUE, ignored: $key" >&2; continue ;; esac
		case "$key" in '' | [0-9]* | *[!A-Za-z0-9_]*)
			echo "up: $1: not KEY=VALUE, ignored: $key" >&2; continue ;; esac
		eval "given=\${$key:-}"
		[ -n "$given" ] && continue
		case "$val" in
		\"*\") val=${val#\"}; val=${val%\"} ;;
		\'*\') val=${val#\'}; val=${val%\'} ;;
		esac
		export "$key=$val"
	done <"$1"
}
if [ -n "${AISHA_ENV_FILE:-}" ]; then
	[ -r "$AISHA_ENV_FILE" ] || { echo "up: cannot read AISHA_ENV_FILE=$AISHA_ENV_FILE" >&2; exit 1; }
	load_below "$AISHA_ENV_FILE"
fi
umask 077
touch "$VAR/secrets.env"
load_below "$VAR/secrets.env"
for k in TELEGRAM_WEBHOOK_SECRET ADMIN_TOKEN FAL_WEBHOOK_SECRET; do
	eval "given=\${$k:-}"
	[ -n "$given" ] && continue
	val=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	echo "$k=$val" >>"$VAR/secrets.env"
	export "$k=$val"
done
umask 022

PORT=${PORT:-8080}
SANDBOX=0
if [ -z "${TELEGRAM_BOT_TOKEN:-}" ]; then
	SANDBOX=1
	TG_PORT=${SANDBOX_TELEGRAM_PORT:-8081}
	FAL_PORT=${SANDBOX_FAL_PORT:-8082}
	TELEGRAM_BOT_TOKEN="123456:SANDBOX-token"
	TELEGRAM_API_BASE="http://127.0.0.1:$TG_PORT"
	TELEGRAM_BOT_USERNAME=${TELEGRAM_BOT_USERNAME:-aisha_sandbox_bot}
fi
STARTED_PG=0
if [ -z "${DATABASE_URL:-}" ]; then
	sh tools/pg.sh start
	DATABASE_URL=$(sh tools/pg.sh url)
	STARTED_PG=1
fi

# Mistyped settings (PHOTO_MAX for PHOTOS_MAX) in the environment or the
# operator's env file: said now, not discovered in production.
DATABASE_URL="$DATABASE_URL" TELEGRAM_WEBHOOK_SECRET="$TELEGRAM_WEBHOOK_SECRET" \
    bin/tg-update --check-config 2>&1 >/dev/null | sed -n 's/.* WARN tg-update config: /up: warning: /p'

# The effective configuration, for the programs, cron and operators running
# bin/*: every setting the programs know that has a value here.
export TELEGRAM_BOT_TOKEN DATABASE_URL TELEGRAM_API_BASE TELEGRAM_BOT_USERNAME PORT
export MEDIA_DIR="${MEDIA_DIR:-$VAR/media}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}"
names=$(env -i DATABASE_URL=x TELEGRAM_WEBHOOK_SECRET=x bin/tg-update --check-config 2>/dev/null |
    sed -n 's/^\([A-Z][A-Z0-9_]*\)=.*/\1/p')
umask 077
{
	echo "# written by make up on $(date -u +%FT%TZ); edit the environment or AISHA_ENV_FILE, not this file"
	for v in $names; do
		eval "val=\${$v:-}"
		[ -n "$val" ] && printf '%s="%s"\n' "$v" "$val"
	done
} >"$VAR/aisha.env.new"
mv "$VAR/aisha.env.new" "$VAR/aisha.env"
umask 022
export AISHA_ENV_FILE="$VAR/aisha.env"
echo "$STARTED_PG" >"$VAR/run/pg.started"

bin/migrate

if [ "$SANDBOX" = 1 ] && alive "$VAR/run/standin.pid" &&
    curl -fsS "http://127.0.0.1:$TG_PORT/_ctl/state" >/dev/null 2>&1; then
	echo "up: sandbox stand-ins already running"
elif [ "$SANDBOX" = 1 ]; then
	$PY sandbox/standin.py --telegram-port "$TG_PORT" --fal-port "$FAL_PORT" \
	    --token "$TELEGRAM_BOT_TOKEN" --keyfile "$VAR/standin-ed25519.pem" \
	    --pidfile "$VAR/run/standin.pid" >>"$VAR/log/standin.log" 2>&1 &
	for _ in $(seq 1 50); do
		curl -fsS "http://127.0.0.1:$TG_PORT/_ctl/state" >/dev/null 2>&1 && break
		sleep 0.1
	done
fi

# lighttpd gets only what the functions need from this shell: the env file.
# A lighttpd that runs but does not answer is replaced.
if alive "$VAR/run/lighttpd.pid" &&
    curl -s -o /dev/null -m 5 "http://127.0.0.1:$PORT/healthz"; then
	echo "up: lighttpd already running"
else
	if alive "$VAR/run/lighttpd.pid"; then
		kill "$(cat "$VAR/run/lighttpd.pid")"; sleep 1
	fi
	env -i PATH="$PATH" PORT="$PORT" BIND="${BIND:-127.0.0.1}" AISHA_ENV_FILE="$AISHA_ENV_FILE" \
	    AISHA_VAR_DIR="$VAR" MEDIA_DIR="${MEDIA_DIR:-$VAR/media}" lighttpd -f lighttpd.conf
fi

for _ in $(seq 1 50); do
	curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

# The checkers, every few seconds (cron does it in production: make cron-install).
if alive "$VAR/run/ticker.pid"; then
	echo "up: checkers already running"
else
	setsid sh tools/ticker.sh "$VAR" >>"$VAR/log/cron.log" 2>&1 &
	echo $! >"$VAR/run/ticker.pid"
fi

case "${PUBLIC_BASE_URL:-}" in https://*) REGISTER=1 ;; *) REGISTER=$SANDBOX ;; esac
if [ "$REGISTER" = 1 ]; then
	bin/tg-update --set-webhook >/dev/null && bin/tg-update --set-commands >/dev/null &&
	    echo "up: webhook and commands registered"
fi

echo
echo "Aisha is up."
echo "  lighttpd      http://${BIND:-127.0.0.1}:$PORT  (healthz: $(curl -s "http://127.0.0.1:$PORT/healthz"))"
if [ "$STARTED_PG" = 1 ]; then
	echo "  PostgreSQL    embedded cluster in $AISHA_PG_DIR (unix socket only)"
else
	echo "  PostgreSQL    DATABASE_URL from the environment"
fi
if [ "$SANDBOX" = 1 ]; then
	echo "  Telegram      sandbox stand-in on http://127.0.0.1:$TG_PORT — talk to the bot: make chat"
	echo "  FAL           sandbox stand-in on http://127.0.0.1:$FAL_PORT"
else
	echo "  Telegram      ${TELEGRAM_API_BASE:-https://api.telegram.org}"
fi
if grep -q "^FAL_API_KEY=" "$VAR/aisha.env" && ! grep -qi '^FAL_TRAINING_TEST_MODE="\(true\|1\|yes\|on\)"' "$VAR/aisha.env"; then
	echo "  FAL mode      live (${FAL_QUEUE_BASE:-https://queue.fal.run})"
else
	echo "  FAL mode      test (no FAL calls, no cost)"
fi
echo "  checkers      every 10 s (tools/ticker.sh; in production: make cron-install)"
echo "  config        var/aisha.env     logs: var/log/     stop: make down"
