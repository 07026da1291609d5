#!/bin/sh
# Installs whichever of the given Debian packages are not installed yet:
#   sh scripts/apt-missing.sh TAG PACKAGE...
# TAG prefixes the messages ("install-deps", "bench"). Asks dpkg first and
# calls apt-get only for what is missing, as root or through sudo; without
# either it prints the command to run and fails.
set -eu

tag=$1
shift
missing=""
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "$tag: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "$tag: missing packages:$missing; run as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
