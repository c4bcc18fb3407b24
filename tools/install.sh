#!/bin/sh
# make install: the built programs and what they need at run time as one
# release, DESTDIR + PREFIX/releases/<id>, made current by an atomic switch
# of the symlink PREFIX/current (the units, lighttpd.conf and cron name
# PREFIX/current/…), and the settings file DESTDIR + ETC/aisha.env
# (default /etc/aisha, written only when absent, 0600).  Nothing else is
# written: the units, logrotate and cron files are enabled by path
# (docs/DEPLOYMENT.md); state and logs are created by systemd
# (/var/lib/aisha, /var/log/aisha).
#   PREFIX=/opt/aisha DESTDIR= ETC=/etc/aisha BIN=build/gcc/bin sh tools/install.sh [--no-switch]
# With --no-switch the release is installed but not made current, and its
# path is the last line printed (make deploy migrates, then switches).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PREFIX=${PREFIX:-/opt/aisha}
DESTDIR=${DESTDIR:-}
ETC=${ETC:-/etc/aisha}
BIN=${BIN:-build/gcc/bin}
VAR=${AISHA_INSTALL_VAR:-/var/lib/aisha}
LOG=${AISHA_INSTALL_LOG:-/var/log/aisha}
USER_=${AISHA_USER:-aisha}
case "$PREFIX$ETC$VAR$LOG$USER_" in *[!A-Za-z0-9/._-]*)
	echo "install: PREFIX, ETC and the var and log folders must be plain paths" >&2; exit 2 ;;
esac
SWITCH=1
[ "${1:-}" = --no-switch ] && SWITCH=0
ID=${AISHA_RELEASE:-$(git rev-parse --short HEAD 2>/dev/null || echo build)-$(date -u +%Y%m%d%H%M%S)}
case "$ID" in *[!A-Za-z0-9._-]*) echo "install: bad release id $ID" >&2; exit 2 ;; esac
CUR=$PREFIX/current            # what every installed file names
D=$DESTDIR$PREFIX/releases/$ID
S=$D/share/aisha
rm -rf "$D"
install -d -m 0755 "$D/bin" "$S/errors" "$S/placeholders" "$S/systemd" "$D/share/doc/aisha" \
    "$S/web/vendor"
for p in tg-update fal-webhook start-training check-status migrate; do
	install -m 0755 "$BIN/$p" "$D/bin/$p"
done
install -m 0755 deploy/aisha-backup.sh "$D/bin/aisha-backup"
# the optional face module, where it was built (Makefile: OpenCV present)
[ ! -f "$BIN/aisha-face.so" ] || install -m 0644 "$BIN/aisha-face.so" "$D/bin/aisha-face.so"
install -m 0644 errors/status-*.html "$S/errors/"
install -m 0644 sandbox/placeholders/*.jpg "$S/placeholders/"
install -m 0644 web/index.html web/app.js web/app.css "$S/web/"
install -m 0644 web/vendor/uPlot.iife.min.js web/vendor/uPlot.min.css "$S/web/vendor/"
# lighttpd: the project's own configuration, its paths fixed
sed -e "s|^var.root = var.CWD\$|var.root = \"$CUR/share/aisha\"|" \
    -e "s|^include_shell \"sh \" + var.root + \"/tools/lighttpd-env.sh\"\$|include_shell \"sh $CUR/share/aisha/lighttpd-env.sh\"|" \
    lighttpd.conf >"$S/lighttpd.conf"
grep -q "^include_shell \"sh $CUR/share/aisha/lighttpd-env.sh\"\$" "$S/lighttpd.conf" ||
    { echo "install: lighttpd.conf's include_shell line has changed" >&2; exit 1; }
sed -e "s|^vardir=.*|vardir=\${AISHA_VAR_DIR:-$VAR}|" -e "s|^bindir=.*|bindir=\${AISHA_BIN_DIR:-$CUR/bin}|" \
    -e "s|^logdir=.*|logdir=\${AISHA_LOG_DIR:-$LOG}|" tools/lighttpd-env.sh >"$S/lighttpd-env.sh"
for u in deploy/systemd/*; do
	sed -e "s|@PREFIX@|$CUR|g" -e "s|@ETC@|$ETC|g" -e "s|/var/lib/aisha|$VAR|g" \
	    -e "s|/var/log/aisha|$LOG|g" -e "s|^User=aisha|User=$USER_|" -e "s|^Group=aisha|Group=$USER_|" \
	    "$u" >"$S/systemd/$(basename "$u")"
done
sed -e "s|@LOGDIR@|$LOG|g" -e "s|@USER@|$USER_|g" deploy/logrotate.conf >"$S/logrotate.conf"
sed -e "s|@PREFIX@|$CUR|g" -e "s|@ETC@|$ETC|g" -e "s|@VAR@|$VAR|g" -e "s|  aisha  |  $USER_  |" deploy/aisha.cron >"$S/aisha.cron"
install -m 0644 README.md docs/DEPLOYMENT.md docs/SHARED_HOSTING.md docs/openapi.json "$D/share/doc/aisha/"
install -d -m 0755 "$DESTDIR$ETC"
if [ ! -e "$DESTDIR$ETC/aisha.env" ]; then
	install -m 0600 deploy/aisha.env.example "$DESTDIR$ETC/aisha.env"
	echo "install: $ETC/aisha.env written (0600): fill it in"
fi
if [ "$SWITCH" = 1 ]; then
	sh tools/release.sh switch "$DESTDIR$PREFIX" "$ID"
	echo "install: $PREFIX/current -> releases/$ID; settings in $ETC"
else
	echo "$D"
fi
