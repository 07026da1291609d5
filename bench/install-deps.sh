#!/bin/sh
# Installs the Debian packages the benchmark (bench/run) needs and the build
# does not: nginx with the echo module (the fake webapp and the reference
# servers), wrk (the load generator), openssl (a throwaway certificate for
# the fake homeserver). With SYDENT_DIR set, also the python3-* packages a
# sydent checkout runs with. Idempotent: asks dpkg first and calls apt-get
# only for what is missing. Kept apart from scripts/install-deps.sh so that
# building and testing Signpost never pulls in nginx.
set -eu

PACKAGES="nginx libnginx-mod-http-echo wrk openssl curl python3"
# What sydent imports (its pyproject.toml), as Debian packages for
# /usr/bin/python3.
SYDENT_PACKAGES="python3-attr python3-jinja2 python3-netaddr
python3-matrix-common python3-phonenumbers python3-prometheus-client
python3-nacl python3-openssl python3-yaml python3-service-identity
python3-signedjson python3-sortedcontainers python3-twisted
python3-typing-extensions python3-unpaddedbase64 python3-zope.interface"

if [ -n "${SYDENT_DIR:-}" ]; then
	PACKAGES="$PACKAGES $SYDENT_PACKAGES"
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "bench: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "bench: missing packages:$missing; run as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Installing nginx normally starts the distribution's own nginx on port 80;
# the benchmark never uses it (it runs private instances on free ports),
# and where policy-rc.d forbids starting services (containers) none starts.
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
