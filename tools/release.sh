#!/bin/sh
# The releases under PREFIX/releases and the symlink PREFIX/current:
#   tools/release.sh switch PREFIX ID     current -> releases/ID, atomically
#   tools/release.sh previous PREFIX      the release before the current one
#   tools/release.sh prune PREFIX [N]     keep the newest N (5) and current
set -eu
cmd=${1:-}; P=${2:-}
[ -n "$P" ] || { echo "usage: release.sh switch|previous|prune PREFIX …" >&2; exit 2; }
current() { basename "$(readlink "$P/current" 2>/dev/null || echo none)"; }
case "$cmd" in
switch)
	[ -d "$P/releases/$3" ] || { echo "release: no release $3" >&2; exit 1; }
	ln -sfn "releases/$3" "$P/current.new"
	mv -T "$P/current.new" "$P/current"     # rename(2): never a moment without one
	;;
previous)
	cur=$(current)
	ls -1t "$P/releases" | grep -vx "$cur" | head -n 1
	;;
prune)
	cur=$(current)
	ls -1t "$P/releases" | grep -vx "$cur" | tail -n +"${3:-5}" | while read -r r; do
		rm -rf "${P:?}/releases/$r"
	done
	;;
*) echo "usage: release.sh switch|previous|prune PREFIX …" >&2; exit 2 ;;
esac
