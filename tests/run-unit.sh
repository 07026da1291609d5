#!/bin/sh
# Runs each unit test binary (cmocka, exit-code protocol) and ends with one
# "unit: N passed, N failed" line counting test cases. A binary that
# crashes or exits non-zero without a cmocka failure line counts as one
# failure. Exits non-zero if anything failed.
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
	"$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	passed=$((passed + ${p:-0}))
	if [ "$rc" -ne 0 ]; then
		echo "FAILED: $t (exit $rc)"
		failed=$((failed + ${f:-1}))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
