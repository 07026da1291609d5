#!/bin/sh
# Installs the Debian packages Signpost builds, tests and demos with.
# Idempotent: asks dpkg first and calls apt-get only for what is missing.
set -eu

PACKAGES="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev
libjansson-dev libyaml-dev libsodium-dev libsqlite3-dev libcmocka-dev python3 python3-pytest
python3-nacl python3-canonicaljson python3-signedjson curl"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: missing packages:$missing; run as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
