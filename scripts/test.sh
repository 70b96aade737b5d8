#!/usr/bin/env bash
# The README's test command: installs what the tests need, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -j 2 --build-tests
set +e
swift test --skip-build 2>&1 | tee .build/test-output.log | grep -E "✘|Test run with|error:"
status=${PIPESTATUS[0]}
set -e
exit "$status"
