# shellcheck shell=bash
# Shared by the bench scripts (sourced, not run). The caller sets ROOT and BUILD_DIR and names
# itself in BENCH (for messages).

quiet() {  # runs a command, showing its output only when it fails
  local log
  if ! log=$("$@" 2>&1); then
    printf '%s\n' "$log" | tail -40 >&2
    echo "$BENCH: failed: $*" >&2
    exit 1
  fi
}

# Builds the given targets (configuring BUILD_DIR as Release the first time) unless NO_BUILD=1.
build_targets() {  # target...
  [[ ${NO_BUILD:-0} == 1 ]] && return 0
  if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
    quiet cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
  quiet cmake --build "$BUILD_DIR" -j2 --target "$@"
}
