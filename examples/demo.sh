#!/bin/sh
# make demo: starts the example webapp and Signpost on it (the config is
# examples/signpost.yaml), shows a password check answered end to end, and
# keeps both running until Ctrl-C.
#
# Environment: DEMO_PORT (8090), DEMO_WEBAPP_PORT (8091), DEMO_ONCE=1 to
# stop after the examples instead of waiting (used by the test suite).
set -eu

BIN=${1:?usage: demo.sh PATH-TO-SIGNPOST}
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${DEMO_PORT:-8090}
WEBAPP_PORT=${DEMO_WEBAPP_PORT:-8091}
RUN=${DEMO_DIR:-$(cd "$HERE/.." && pwd)/demo-run}
SECRET="change-me-to-a-long-random-secret"
PY=/usr/bin/python3

mkdir -p "$RUN"
# The example config as shipped, on the ports asked for.
sed -e "s/port: 8090/port: $PORT/" \
    -e "s#127.0.0.1:8091#127.0.0.1:$WEBAPP_PORT#" \
    "$HERE/signpost.yaml" > "$RUN/signpost.yaml"

pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # url name pid
	i=0
	until curl -s -o /dev/null "$1"; do
		if ! kill -0 "$3" 2>/dev/null; then
			echo "demo: $2 exited; its log:" >&2
			cat "$RUN/$2.log" >&2
			exit 1
		fi
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			echo "demo: $2 did not start; see $RUN/$2.log" >&2
			exit 1
		fi
		sleep 0.05
	done
}

"$PY" "$HERE/backend/webapp.py" --users "$HERE/backend/users.json" \
    --host 127.0.0.1 --port "$WEBAPP_PORT" --secret "$SECRET" \
    > "$RUN/webapp.log" 2>&1 &
pids="$pids $!"
wait_for "http://127.0.0.1:$WEBAPP_PORT/" webapp $!

"$BIN" -c "$RUN/signpost.yaml" > "$RUN/signpost.log" 2>&1 &
pids="$pids $!"
wait_for "http://127.0.0.1:$PORT/_matrix/identity/v2" signpost $!

BASE="http://127.0.0.1:$PORT"
CHECK="$BASE/_matrix-internal/identity/v1/check_credentials"

show() { # title, then the curl arguments
	title=$1
	shift
	printf '\n# %s\n$ curl' "$title"
	for a in "$@"; do
		case $a in
		*" "* | *"{"*) printf " '%s'" "$a" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
	printf '\n'
	curl -s "$@"
	printf '\n'
}

echo "Signpost is listening on $BASE, asking the example webapp on"
echo "127.0.0.1:$WEBAPP_PORT (users: examples/backend/users.json)."
show "A right password: Synapse's REST password provider asks this" \
    -X POST "$CHECK" -H "Content-Type: application/json" \
    -d '{"user":{"id":"@john.doe:example.org","password":"correct horse"}}'
show "A wrong password" \
    -X POST "$CHECK" -H "Content-Type: application/json" \
    -d '{"user":{"id":"@john.doe:example.org","password":"wrong"}}'
show "Who owns jane+matrix@example.org? A signed answer (v1 lookup)" \
    -G "$BASE/_matrix/identity/api/v1/lookup" \
    --data-urlencode medium=email --data-urlencode address=jane+matrix@example.org
show "The public key that signature verifies with" \
    "$BASE/_matrix/identity/api/v1/pubkey/ed25519:0"
show "Several at once (bulk lookup): matches only" \
    -X POST "$BASE/_matrix/identity/api/v1/bulk_lookup" \
    -H "Content-Type: application/json" \
    -d '{"threepids":[["email","john.doe@example.org"],["msisdn","15551234567"],["email","nobody@example.org"]]}'
show "Which Identity Service versions this server speaks" \
    "$BASE/_matrix/identity/versions"

echo
echo "Logs: $RUN/signpost.log and $RUN/webapp.log"
[ "${DEMO_ONCE:-0}" = 1 ] && exit 0
echo "Both keep running; try the commands above. Ctrl-C stops them."
while :; do sleep 3600; done
