#!/usr/bin/env bash
# The one build the tests, the browser tests, CI's budgets and the benchmarks share: release,
# with -enable-testing so the test bundle can `@testable import` the optimised modules.
# One configuration means one compile of the package and its dependencies (CI built debug for
# the tests and release for the budgets: two builds, about 28 of its 44 minutes).
#   scripts/build.sh --product lampsim     # any `swift build` arguments follow
#   scripts/build.sh --show-bin-path       # where the products are (.build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
exec swift build -c release -j 2 -Xswiftc -enable-testing "$@"
