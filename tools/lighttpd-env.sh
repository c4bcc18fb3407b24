#!/bin/sh
# Prints the lighttpd variables that come from the environment, with their
# defaults, for `include_shell` in lighttpd.conf.  Only ports and paths.
# (make install writes a copy whose defaults are the installed paths.)
root=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-8080}
case $port in ''|*[!0-9]*) port=8080 ;; esac
vardir=${AISHA_VAR_DIR:-$root/var}
bindir=${AISHA_BIN_DIR:-$root/bin}
logdir=${AISHA_LOG_DIR:-$vardir/log}
media=${MEDIA_DIR:-$vardir/media}
case $media in /*) ;; *) media=$root/$media ;; esac
bind=${BIND:-127.0.0.1}
if ! printf '%s' "$bind" | grep -qxE '[0-9A-Fa-f.:]+|\[[0-9A-Fa-f:]+\]'; then
	echo "lighttpd: BIND must be an IPv4 or [IPv6] address, not '$bind'" >&2
	exit 1
fi
procs=${AISHA_FCGI_PROCS:-2}
case $procs in ''|*[!0-9]*) procs=2 ;; esac
q() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
echo "var.port = $port"
echo "var.bind = \"$bind\""
echo "var.procs = $procs"
echo "var.vardir = \"$(q "$vardir")\""
echo "var.logdir = \"$(q "$logdir")\""
echo "var.bindir = \"$(q "$bindir")\""
echo "var.mediadir = \"$(q "$media")\""
