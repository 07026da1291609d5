#!/bin/sh
# Runs each unit test binary (cmocka, exit-code protocol) and ends with one
# "N passed, N failed" line that CI reads. Exits non-zero if any failed.
passed=0
failed=0
for t in "$@"; do
	if "$t"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $t" >&2
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
