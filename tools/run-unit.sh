#!/bin/sh
# Runs each cmocka test program; fails when any fails.  Prints one summary
# line per program and a total.
failed=0
for t in "$@"; do
	if ! "$t"; then
		echo "FAILED: $t"
		failed=$((failed + 1))
	fi
done
echo "unit: $# programs, $failed failed"
[ "$failed" -eq 0 ]
