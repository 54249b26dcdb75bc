#!/bin/sh
# Install every Debian package mcn needs to build, test and benchmark.
# Works as root on a minimal Debian 12 (debootstrap --variant=minbase), uses
# sudo otherwise. Idempotent: prints nothing and installs nothing when every
# package is already present. git is not among them: nothing in the build or
# the tests needs it (a copy of the tree without .git works the same).
set -eu

PKGS="ca-certificates build-essential gcc libc6-dev make cmake ninja-build pkg-config \
libgmp-dev libssl-dev libnng-dev protobuf-c-compiler libprotobuf-c-dev \
libsqlite3-dev libjansson-dev libgomp1 openssl python3 procps"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
