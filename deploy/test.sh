#!/usr/bin/env bash
# Sets up everything and runs the whole test suite: unit, protocol vectors, and real-process tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup-debian.sh
# The unit-file test runs systemd-analyze verify when systemd's tools are there; install them.
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "polder: installing systemd (for systemd-analyze verify)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq systemd >/dev/null || echo "polder: systemd not installed; the unit check is skipped" >&2
fi
swift build --build-tests   # the integration tests run the polderd and polder binaries built here
swift build -c release --product polder-sim   # the simulator tests need it optimised
swift test --skip-build "$@"
