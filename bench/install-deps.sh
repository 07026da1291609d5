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

# Installing nginx normally starts the distribution's own nginx on port 80;
# the benchmark never uses it (it runs private instances on free ports),
# and where policy-rc.d forbids starting services (containers) none starts.
# shellcheck disable=SC2086 # a list of package names
sh "$(dirname "$0")/../scripts/apt-missing.sh" bench $PACKAGES
