#!/usr/bin/env bash
# Builds release binaries and runs the benchmark; extra arguments go to polder-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup-debian.sh
swift build -c release --product polderd
swift build -c release --product polder-bench
exec .build/release/polder-bench "$@"
