#!/bin/sh
# Installs every Debian package Aisha needs to build, test and run.
# Idempotent and quick when everything is present (no apt-get at all then).
set -eu
PKGS="build-essential clang pkg-config make libfcgi-dev libcurl4-openssl-dev
libcjson-dev libpq-dev libzip-dev libsodium-dev libcmocka-dev lighttpd
postgresql postgresql-contrib curl python3 wrk hyperfine valgrind procps libclang-rt-14-dev
libjpeg-turbo-progs libjpeg-dev libpng-dev libwebp-dev libopencv-objdetect-dev opencv-data
logrotate systemd"
# make bench: the Python peer of issue 18 (FastAPI, asyncpg, uvicorn with
# uvloop and httptools), from Debian's packages
[ "${1:-}" = bench ] && PKGS="python3-fastapi python3-asyncpg python3-uvicorn python3-uvloop
python3-httptools"
# the dashboard's library from npm (make web), and its browser test: Debian's
# chromium, driven over the DevTools protocol from Python (python3-websocket)
[ "${1:-}" = web ] && PKGS="nodejs npm"
[ "${1:-}" = browser ] && PKGS="chromium python3-websocket"
[ "${1:-}" = web ] && command -v npm >/dev/null && exit 0
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the packages' own services (system lighttpd on :80, the
# system PostgreSQL cluster) from starting: Aisha runs its own.
if [ -n "$SUDO" ] || [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
