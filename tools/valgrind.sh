#!/bin/sh
# make valgrind: the integration tests with every function under memcheck.
# lighttpd's bin-path and the tests' CLI calls go through small wrappers in
# build/valgrind/bin that exec valgrind on the real program; each process
# writes build/valgrind/log/vg.<pid>.log.  Passes when every log says
# 0 errors and 0 bytes definitely lost.
#   tools/valgrind.sh BIN_DIR [--only NAME]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$1" && pwd)
shift
VG=$ROOT/build/valgrind
rm -rf "$VG"
mkdir -p "$VG/bin" "$VG/log"
for p in tg-update fal-webhook start-training check-status; do
	cat >"$VG/bin/$p" <<WRAP
#!/bin/sh
exec valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --trace-children=no --log-file=$VG/log/vg.%p.log \\
    $BIN/$p "\$@"
WRAP
	chmod +x "$VG/bin/$p"
done
ln -s "$BIN/migrate" "$VG/bin/migrate"
rc=0
/usr/bin/python3 "$ROOT/tests/integration/run.py" --bin "$VG/bin" "$@" || rc=$?
n=$(ls "$VG/log" | wc -l)
bad=0
for f in "$VG"/log/vg.*.log; do
	[ -s "$f" ] || continue
	if grep -q "ERROR SUMMARY: [1-9]\|definitely lost\|Invalid \|uninitialised\|Mismatched" "$f"; then
		echo "valgrind: $f"; cat "$f"; bad=$((bad + 1))
	fi
done
echo "valgrind: $n processes under memcheck, $bad with errors or definite leaks"
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]
