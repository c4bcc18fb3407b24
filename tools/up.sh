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
chmod 700 "$VAR/run"
PY=/usr/bin/python3

if [ -f "$VAR/run/lighttpd.pid" ] && kill -0 "$(cat "$VAR/run/lighttpd.pid")" 2>/dev/null; then
	echo "up: already running (make down first)"; exit 0
fi

# Secrets, generated once.
if [ ! -f "$VAR/secrets.env" ]; then
	umask 077
	rnd() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
	{
		echo "TELEGRAM_WEBHOOK_SECRET=$(rnd)"
		echo "ADMIN_TOKEN=$(rnd)"
		echo "FAL_WEBHOOK_SECRET=$(rnd)"
	} >"$VAR/secrets.env"
	umask 022
fi
. "$VAR/secrets.env"

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

# The effective configuration: what was given, else the sandbox's, else secrets.
umask 077
{
	echo "# written by make up on $(date -u +%FT%TZ); edit the environment, not this file"
	echo "DATABASE_URL='$DATABASE_URL'"
	echo "TELEGRAM_BOT_TOKEN='$TELEGRAM_BOT_TOKEN'"
	echo "TELEGRAM_WEBHOOK_SECRET=${TELEGRAM_WEBHOOK_SECRET}"
	echo "ADMIN_TOKEN=${ADMIN_TOKEN}"
	echo "FAL_WEBHOOK_SECRET=${FAL_WEBHOOK_SECRET}"
	echo "MEDIA_DIR=${MEDIA_DIR:-$VAR/media}"
	echo "PORT=$PORT"
	echo "PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}"
	for v in TELEGRAM_API_BASE TELEGRAM_BOT_USERNAME FAL_API_KEY FAL_QUEUE_BASE \
	    FAL_JWKS_URL FAL_WEBHOOK_VERIFY FAL_TRAINING_TEST_MODE FAL_TEST_DURATION \
	    FAL_TRAINING_TIMEOUT FAL_PORTRAIT_TRAINER FAL_STYLE_TRAINER PHOTOS_MIN \
	    PHOTOS_MAX PHOTO_MIN_SIDE LOG_LEVEL FAL_PORTRAIT_STEPS FAL_STYLE_STEPS \
	    TRAINING_CLAIM_TIMEOUT GEN_MAX_ACTIVE GEN_NUM_IMAGES GEN_STEPS GEN_GUIDANCE \
	    GEN_LORA_SCALE GEN_FINETUNE_STRENGTH; do
		eval "val=\${$v:-}"
		[ -n "$val" ] && echo "$v='$val'"
	done
} >"$VAR/aisha.env"
umask 022
export AISHA_ENV_FILE="$VAR/aisha.env"
echo "$STARTED_PG" >"$VAR/run/pg.started"

bin/migrate --dir schema

if [ "$SANDBOX" = 1 ]; then
	$PY sandbox/standin.py --telegram-port "$TG_PORT" --fal-port "$FAL_PORT" \
	    --token "$TELEGRAM_BOT_TOKEN" --keyfile "$VAR/standin-ed25519.pem" \
	    --pidfile "$VAR/run/standin.pid" >>"$VAR/log/standin.log" 2>&1 &
	for _ in $(seq 1 50); do
		curl -fsS "http://127.0.0.1:$TG_PORT/_ctl/state" >/dev/null 2>&1 && break
		sleep 0.1
	done
fi

# lighttpd gets only what the functions need from this shell: the env file.
env -i PATH="$PATH" PORT="$PORT" AISHA_ENV_FILE="$AISHA_ENV_FILE" AISHA_VAR_DIR="$VAR" \
    MEDIA_DIR="${MEDIA_DIR:-$VAR/media}" lighttpd -f lighttpd.conf

for _ in $(seq 1 50); do
	curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

# The checkers, every few seconds (cron does it in production: make cron-install).
setsid sh tools/ticker.sh >>"$VAR/log/cron.log" 2>&1 &
echo $! >"$VAR/run/ticker.pid"

case "${PUBLIC_BASE_URL:-}" in https://*) REGISTER=1 ;; *) REGISTER=$SANDBOX ;; esac
if [ "$REGISTER" = 1 ]; then
	bin/tg-update --set-webhook >/dev/null && bin/tg-update --set-commands >/dev/null &&
	    echo "up: webhook and commands registered"
fi

echo
echo "Aisha is up."
echo "  lighttpd      http://127.0.0.1:$PORT  (healthz: $(curl -s "http://127.0.0.1:$PORT/healthz"))"
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
if grep -q "^FAL_API_KEY=" "$VAR/aisha.env" && ! grep -q "^FAL_TRAINING_TEST_MODE='true'" "$VAR/aisha.env"; then
	echo "  FAL mode      live (${FAL_QUEUE_BASE:-https://queue.fal.run})"
else
	echo "  FAL mode      test (no FAL calls, no cost)"
fi
echo "  checkers      every 10 s (tools/ticker.sh; in production: make cron-install)"
echo "  config        var/aisha.env     logs: var/log/     stop: make down"
