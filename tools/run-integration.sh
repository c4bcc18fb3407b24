#!/bin/sh
# The integration suite in N shards side by side (each on a stack of its
# own: tests/integration/run.py --shard K/N), their output one after the
# other; fails when any shard fails.  The tests mostly wait (on the
# stand-ins, on timers), so two shards take about 60% of one run's time.
#   tools/run-integration.sh BIN [N]
BIN=$1
N=${2:-2}
PY=/usr/bin/python3
dir=$(mktemp -d)
k=1
while [ "$k" -le "$N" ]; do
	$PY tests/integration/run.py --bin "$BIN" --shard "$k/$N" >"$dir/$k.log" 2>&1 &
	k=$((k + 1))
done
failed=0
wait
k=1
total_p=0
total_f=0
while [ "$k" -le "$N" ]; do
	cat "$dir/$k.log"
	line=$(tail -n 1 "$dir/$k.log")
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ] || [ "$f" != 0 ] || [ "$p" = 0 ]; then failed=1; fi
	total_p=$((total_p + ${p:-0}))
	total_f=$((total_f + ${f:-1}))
	k=$((k + 1))
done
rm -rf "$dir"
echo "integration (all $N shards): $total_p passed, $total_f failed"
[ "$failed" -eq 0 ]
