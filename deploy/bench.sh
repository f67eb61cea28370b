#!/usr/bin/env bash
# Builds release binaries (with the Swift standard library linked statically, as install.sh does),
# installs the peer brokers (Mosquitto, NATS) from Debian when missing, and runs the comparison;
# extra arguments go to polder-bench (see --help).
# The peers run from polder-bench's own configurations on free loopback ports, never as the
# system services: if this script installed them, it stops and disables those services again.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup-debian.sh
peers=()
for package in mosquitto nats-server; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || peers+=("$package")
done
if ((${#peers[@]})); then
  echo "polder-bench: installing ${peers[*]} for the comparison" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${peers[@]}" >/dev/null
  if [ -d /run/systemd/system ]; then
    for package in "${peers[@]}"; do $sudo systemctl disable --now "$package" 2>/dev/null || true; done
  fi
fi
swift build -c release --static-swift-stdlib --product polderd
swift build -c release --static-swift-stdlib --product polder-bench
exec .build/release/polder-bench "$@"
