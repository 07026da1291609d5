#!/bin/sh
# Replays each fuzz target's seed corpus (make check):
#   fuzz/replay.sh BINDIR NAME...
# runs BINDIR/NAME on fuzz/corpus/NAME for each NAME and ends with one
# "fuzz replay: N passed, N failed" line counting inputs. Exits non-zero
# if any input failed.
dir=$1
shift
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for name in "$@"; do
	if [ ! -d "fuzz/corpus/$name" ]; then
		echo "fuzz replay: $name: no corpus in fuzz/corpus/$name"
		failed=$((failed + 1))
		continue
	fi
	"$dir/$name" "fuzz/corpus/$name" >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out" | tail -1)
	if [ -z "$p" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
		# No summary: the replay itself broke.
		cat "$out"
		echo "  $name: replay exited $rc"
		failed=$((failed + ${f:-0} + 1))
		passed=$((passed + ${p:-0}))
		continue
	fi
	[ "$f" -ne 0 ] && cat "$out"
	echo "  $name: $p inputs passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "fuzz replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
