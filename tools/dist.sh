#!/bin/sh
# make dist: a tarball of the built programs for a shared host of the same
# distribution (docs/SHARED_HOSTING.md): cgi-bin/ (the four programs and
# migrate, migrations compiled in), htaccess.example, aisha.env.example,
# the JSON error pages and the documents.  The path is the last line printed.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/gcc/bin}
ver=$(git describe --always --dirty 2>/dev/null || echo build)
name=aisha-$ver-$(uname -m)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
d=$T/$name
mkdir -p "$d/cgi-bin" "$d/errors" "$d/docs" "$d/admin/vendor"
for p in tg-update fal-webhook start-training check-status migrate; do
	install -m 0755 "$BIN/$p" "$d/cgi-bin/$p"
done
install -m 0644 deploy/htaccess.example "$d/htaccess.example"
install -m 0644 deploy/aisha.env.example "$d/aisha.env.example"
install -m 0644 errors/status-*.html "$d/errors/"
install -m 0644 web/index.html web/app.js web/app.css "$d/admin/"
install -m 0644 web/vendor/uPlot.iife.min.js web/vendor/uPlot.min.css "$d/admin/vendor/"
install -m 0644 README.md "$d/"
install -m 0644 docs/SHARED_HOSTING.md docs/DEPLOYMENT.md docs/openapi.json "$d/docs/"
mkdir -p build
tar -C "$T" -czf "build/$name.tar.gz" "$name"
echo "build/$name.tar.gz"
