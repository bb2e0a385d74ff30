#!/usr/bin/env bash
# The whole test suite, from a fresh clone: system packages, build, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Debug build (assertions on); the kernels still get AVX2 through -target-cpu in Package.swift.
swift build --build-tests
# The three shipped models that model tests load, into $LOUPE_HOME/models (default ~/.loupe/models): a no-op when
# present and verified. A failed fetch is reported and the tests still run (those needing the model then fail
# with the command to run).
for model in smollm2-135m-instruct gemma-3-270m all-minilm-l6-v2; do
    .build/debug/loupe models fetch "$model" || echo "warning: could not fetch $model (see above)" >&2
done
# The MMLU-style questions of PyPI evals (concept_availability.nb), into $LOUPE_HOME/data: a no-op when present.
.build/debug/loupe eval 'len(availability.load_qa("mmlu"))' >/dev/null || echo "warning: could not fetch the MMLU questions (see above)" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# All tests are XCTest; skip the empty Swift Testing pass so its "0 tests" line does not close the log.
set +e
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Command-line and REPL tests (Tests/cli/run.sh, against .build/debug/loupe), unless tests were filtered.
cli_passed=0; cli_failed=0
if [ $# -eq 0 ]; then
    cli_log=$(mktemp)
    trap 'rm -f "$log" "$cli_log"' EXIT
    Tests/cli/run.sh 2>&1 | tee "$cli_log"
    cli_status=${PIPESTATUS[0]}
    cli_summary=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$cli_log" | tail -1)
    cli_passed=$(grep -oE '^[0-9]+' <<<"$cli_summary" || echo 0)
    cli_failed=$(grep -oE '[0-9]+ failed' <<<"$cli_summary" | grep -oE '^[0-9]+' || echo 0)
    [ "$cli_status" -ne 0 ] && [ "$status" -eq 0 ] && status=$cli_status
    [ "$cli_status" -ne 0 ] && [ "$cli_failed" -eq 0 ] && cli_failed=1
fi
set -e
# One plain closing line: N passed, N failed, N skipped (XCTest and the command-line tests together).
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?" "$log" | tail -1)
count() { grep -oE "[0-9]+ $1" <<<"$summary" | head -1 | grep -oE '^[0-9]+' || echo 0; }
total=$(count 'tests?,'); failed=$(count 'failures?'); skipped=$(count 'tests? skipped')
if [ -n "$summary" ] || [ $# -eq 0 ]; then
    echo "$((total - failed - skipped + cli_passed)) passed, $((failed + cli_failed)) failed, $skipped skipped"
fi
exit "$status"
