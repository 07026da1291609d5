#!/bin/sh
# Runs libFuzzer targets built by `make fuzz`:
#   fuzz/run.sh BUILD SECONDS "EXTRA_ARGS" NAME...
# Each target runs for SECONDS on its seeds (fuzz/corpus/NAME, read only)
# plus what earlier runs found (BUILD/corpus-new/NAME, where new inputs
# go), with fuzz/NAME.dict when there is one. Crashes go to
# BUILD/crashes/NAME/, the whole output to BUILD/logs/NAME.log. Ends with a
# table per target: executions, exec/s, edges covered at the end (and how
# many more than the seeds and earlier finds reached), new inputs kept in
# this run and in BUILD/corpus-new/NAME in all, and crashes; exits
# non-zero if any target crashed. fuzz/keep.py then picks the finds worth
# committing as seeds.
build=$1
secs=$2
extra=$3
shift 3
table=$(mktemp)
trap 'rm -f "$table"' EXIT
status=0
mkdir -p "$build/logs"
for name in "$@"; do
	bin=$build/fuzz/bin/$name
	new=$build/corpus-new/$name
	crashes=$build/crashes/$name
	log=$build/logs/$name.log
	mkdir -p "$new" "$crashes"
	dict=
	[ -f "fuzz/$name.dict" ] && dict=-dict=fuzz/$name.dict
	before=$(find "$crashes" -type f | wc -l)
	echo "=== fuzz $name: $secs s"
	# shellcheck disable=SC2086 # dict and extra are lists of options
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
	    -artifact_prefix="$crashes/" $dict $extra "$new" \
	    "fuzz/corpus/$name" >"$log" 2>&1
	rc=$?
	after=$(find "$crashes" -type f | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	added=$(sed -n 's/^stat::new_units_added: *//p' "$log")
	# Edges covered once the seeds and earlier finds ran, and at the end.
	cov0=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -1)
	cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
	cov=${cov:+$cov (+$((cov - ${cov0:-0})))}
	corp=$(find "$new" -type f | wc -l)
	crashed=$((after - before))
	if [ "$rc" -ne 0 ] && [ "$crashed" -eq 0 ]; then
		crashed="exit $rc"
	fi
	if [ "$rc" -ne 0 ]; then
		status=1
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed)' "$log" |
		    head -5
		echo "    see $log and $crashes/"
	fi
	printf '%-12s %10s %7s  %-12s %6s %6s  %s\n' "$name" "${execs:-?}" \
	    "${rate:-?}" "${cov:-?}" "${added:-?}" "$corp" "$crashed" >>"$table"
done
echo "=== fuzz summary: $secs s per target; edges: at the end (+ since the" \
    "start); new: inputs kept by this run; kept: all in $build/corpus-new/<name>"
printf '%-12s %10s %7s  %-12s %6s %6s  %s\n' target execs exec/s edges \
    new kept crashes
cat "$table"
exit $status
