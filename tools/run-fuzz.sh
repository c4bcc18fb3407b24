#!/bin/sh
# Runs each libFuzzer target for $1 seconds (or, as "runs:N", N executions)
# from tests/fuzz/seeds/<name>, all targets side by side (a time limit is
# wall-clock time each), keeping what they learn in build/fuzz/corpus/<name>.
# A crash or sanitizer report fails the run and leaves the input in
# build/fuzz/crashes/.
case $1 in
runs:*) limit="-runs=${1#runs:}" ;;
*) limit="-max_total_time=$1" ;;
esac
shift
mkdir -p build/fuzz/crashes
for f in "$@"; do
	name=$(basename "$f" | sed 's/^fuzz_//')
	corpus=build/fuzz/corpus/$name
	mkdir -p "$corpus"
	( "$f" "$limit" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build/fuzz/crashes/ "$corpus" "tests/fuzz/seeds/$name" \
	    >"build/fuzz/$name.log" 2>&1; echo $? >"build/fuzz/$name.rc" ) &
done
wait
failed=0
for f in "$@"; do
	name=$(basename "$f" | sed 's/^fuzz_//')
	if [ "$(cat "build/fuzz/$name.rc")" = 0 ]; then
		echo "ok    fuzz $name: $(grep -o 'Done [0-9]* runs' "build/fuzz/$name.log" | tail -1)"
	else
		echo "FAIL  fuzz $name (see build/fuzz/$name.log)"
		tail -30 "build/fuzz/$name.log"
		failed=$((failed + 1))
	fi
done
echo "fuzz: $(($# - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
