#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan, build-fuzz/) and runs each for a while,
# starting from its seed corpus in tests/fuzz/corpus/<target>/. New inputs go to
# build-fuzz/fuzz-work/<target>/ (never into the repository); a crash leaves crash-* files in the
# current directory and stops with a non-zero status.
#   scripts/fuzz.sh                 every target, 60 s each
#   scripts/fuzz.sh 600 fuzz_zip    one target, 10 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
BUILD_DIR=${BUILD_DIR:-build-fuzz}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DMUGAI_FUZZ=ON -DMUGAI_SANITIZE=ON
fi
targets=("$@")
# Named targets: build just those (the whole tree is much more on a shared machine).
cmake --build "$BUILD_DIR" -j "$(nproc)" ${targets[@]:+--target "${targets[@]}"}
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(find "$BUILD_DIR/tests" -maxdepth 1 -name 'fuzz_*' -type f -executable \
                           -printf '%f\n' | sort)
fi
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for t in "${targets[@]}"; do
  work="$BUILD_DIR/fuzz-work/$t"
  mkdir -p "$work"
  echo "== $t (${SECONDS_EACH}s)"
  status=0
  "$BUILD_DIR/tests/$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
    "$work" "tests/fuzz/corpus/$t" > "$work.log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+DONE' "$work.log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$work.log" >&2
    echo "fuzz.sh: $t failed (log: $work.log; crash-* files in $PWD)" >&2
    exit 1
  fi
done
