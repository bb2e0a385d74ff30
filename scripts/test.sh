#!/usr/bin/env bash
# The whole test suite, from a fresh clone: system packages, build, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Debug build (assertions on); the kernels still get AVX2 through -target-cpu in Package.swift.
swift build --build-tests
swift test --skip-build "$@"
