#!/usr/bin/env bash
# Builds (incrementally) and runs every test: unit, golden, fuzz-corpus replay and, when
# ../shared/corpus/third-party exists, the third-party corpus checks.
#   scripts/test.sh               uses build/
#   BUILD_DIR=build-asan scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  MUGAI_NO_INSTALL=1 BUILD_DIR="$BUILD_DIR" scripts/setup.sh
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
