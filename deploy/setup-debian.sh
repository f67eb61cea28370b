#!/usr/bin/env bash
# Installs the Debian packages Polder builds against (and iproute2, which the partition test uses),
# when they are missing. Needs root (or sudo).
set -euo pipefail

packages=(libevent-dev libsodium-dev liblmdb-dev pkg-config iproute2)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "polder: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$candidate/swift" ] && export PATH="$candidate:$PATH"
  done
fi
command -v swift >/dev/null 2>&1 || {
  echo "polder: the Swift 6 toolchain is not installed; see https://www.swift.org/install/linux/ (Debian 12)" >&2
  exit 1
}
