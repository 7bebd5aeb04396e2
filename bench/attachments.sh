#!/usr/bin/env bash
# Rebuild throughput of Mugai's attachment rebuilders (docx/xlsx/pptx/PDF/zip) against a naive
# rewrite of the same files (zip containers: every entry recompressed at deflate level 6; PDF: a
# plain qpdf read + write), interleaved file by file in one run on one core. See bench/README.md.
#
# Usage: bench/attachments.sh [REPS]      (default 20 rounds per file)
# Files: the Office, PDF and zip attachments of fixtures/corpus, plus every docx/docm/xlsx/xlsm/
# pptx/pptm/pdf/zip under ../shared/corpus/third-party when it exists (except the zip bomb and
# files the rebuilders refuse, which are reported in the "rebuilt" column).
# Environment: BUILD_DIR (default build/), CPU (core to pin to, default 0),
# ATTACHMENT_BENCH_ONLY=mugai or naive (time one side only, e.g. under perf record; no ratio).
set -euo pipefail
REPS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
CPU=${CPU:-0}
cmake --build "$BUILD_DIR" -j2 --target attachment_bench >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Attachments of the project's own fixtures.
python3 - "$ROOT/fixtures/corpus" "$WORK" <<'PY'
import email, email.policy, os, sys
src, out = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    with open(os.path.join(src, name), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    for i, part in enumerate(msg.walk()):
        fn = part.get_filename()
        if fn and fn.lower().endswith((".docx", ".docm", ".xlsx", ".pptx", ".pdf", ".zip")):
            data = part.get_payload(decode=True)
            with open(os.path.join(out, "%s-%d-%s" % (name[:2], i, os.path.basename(fn))), "wb") as g:
                g.write(data)
PY
files=("$WORK"/*)
TP="$ROOT/../shared/corpus/third-party"
if [ -d "$TP" ]; then
  while IFS= read -r -d '' f; do files+=("$f"); done < <(
    find "$TP" -type f \( -iname '*.docx' -o -iname '*.docm' -o -iname '*.xlsx' -o -iname '*.xlsm' \
      -o -iname '*.pptx' -o -iname '*.pptm' -o -iname '*.pdf' -o -iname '*.zip' \) \
      ! -path '*recursive-extractor*' -print0 | sort -z)
fi
BT=$(sed -n "s/^CMAKE_BUILD_TYPE:[A-Z]*=//p" "$BUILD_DIR/CMakeCache.txt")
echo "attachments.sh: ${#files[@]} files, $REPS rounds each, core $CPU, build ${BT:-RelWithDebInfo (the CMakeLists default)}"
taskset -c "$CPU" "$BUILD_DIR/bench/attachment_bench" "$REPS" "${files[@]}"
