#!/usr/bin/env bash
# The whole test suite, from a fresh clone: system packages, build, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Debug build (assertions on); the kernels still get AVX2 through -target-cpu in Package.swift.
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# All tests are XCTest; skip the empty Swift Testing pass so its "0 tests" line does not close the log.
set +e
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line: N passed, N failed, N skipped.
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?" "$log" | tail -1)
count() { grep -oE "[0-9]+ $1" <<<"$summary" | head -1 | grep -oE '^[0-9]+' || echo 0; }
total=$(count 'tests?,'); failed=$(count 'failures?'); skipped=$(count 'tests? skipped')
if [ -n "$summary" ]; then
    echo "$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
