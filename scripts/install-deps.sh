#!/bin/sh
# Installs the Debian packages Signpost builds, tests and demos with.
# Idempotent: asks dpkg first and calls apt-get only for what is missing.
set -eu

PACKAGES="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev
libjansson-dev libyaml-dev libsodium-dev libsqlite3-dev libc-ares-dev libcmocka-dev python3 python3-pytest
python3-nacl python3-canonicaljson python3-signedjson curl"

# The matrix-js-sdk client tests (tests/js, run by make check) need
# Node.js >= 20 and npm. Debian 12's own nodejs is 18, on which
# matrix-js-sdk 37's createClient() throws (no global WebCrypto), so it is
# not installed from here: say where to get a newer one instead.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) ||
    node_major=0
case $node_major in '' | *[!0-9]*) node_major=0 ;; esac
if [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
	echo "install-deps: make check needs Node.js >= 20 with npm" \
	    "(found: $(node --version 2>/dev/null || echo none))." >&2
	echo "  On Debian 12, install NodeSource's nodejs 20.x package" \
	    "(https://github.com/nodesource/distributions), or use Debian 13's" \
	    "nodejs." >&2
fi

# shellcheck disable=SC2086 # a list of package names
exec sh "$(dirname "$0")/apt-missing.sh" install-deps $PACKAGES
