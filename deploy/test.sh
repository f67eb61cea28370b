#!/usr/bin/env bash
# Sets up everything and runs the whole test suite: unit, protocol vectors, and real-process tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup-debian.sh
swift build --build-tests   # the integration tests run the polderd and polder binaries built here
swift build -c release --product polder-sim   # the simulator tests need it optimised
swift test --skip-build "$@"
