#!/usr/bin/env bash
# Sets up everything and runs polderd on its embedded defaults (127.0.0.1:7400, ./polder-data).
# Extra arguments go to polderd, e.g. deploy/run-broker.sh --listen 0.0.0.0:7400
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup-debian.sh
swift build -c release --static-swift-stdlib --product polderd
swift build -c release --static-swift-stdlib --product polder
echo "polder: the CLI is at $(pwd)/.build/release/polder" >&2
exec .build/release/polderd "$@"
