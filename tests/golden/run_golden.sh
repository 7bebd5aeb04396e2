#!/usr/bin/env bash
# Golden test for `mugai sanitize`: the fixture corpus in, expected messages and reports out,
# compared byte for byte. Three runs of the real binary:
#   1. CORPUS -> run1; run1 must equal GOLDEN_DIR exactly (missing, extra and differing files are
#      each listed, with the start of a diff for differing ones);
#   2. CORPUS -> run2; run2 must equal run1 (determinism: same input, same bytes);
#   3. run1/*.eml -> pass2; no report of that second pass may show a part "removed" or
#      "converted", and every re-sanitized message must be delivered again (idempotence).
# With --update, GOLDEN_DIR is rewritten from run1 (after the determinism check passed) and the
# changes are listed. An empty GOLDEN_DIR is a failure, never a pass.
#
# Usage: run_golden.sh MUGAI_BINARY CORPUS_DIR GOLDEN_DIR [--update]
#
# Files in GOLDEN_DIR whose names start with "." (e.g. .gitattributes) are not compared and are
# kept by --update. Exit status: 0 all checks passed, 1 a check failed, 2 usage or setup error.

set -uo pipefail

usage() {
  echo "usage: $0 MUGAI_BINARY CORPUS_DIR GOLDEN_DIR [--update]" >&2
  exit 2
}

[ $# -eq 3 ] || [ $# -eq 4 ] || usage
MUGAI=$1
CORPUS=$2
GOLDEN=$3
UPDATE=0
if [ $# -eq 4 ]; then
  [ "$4" = "--update" ] || usage
  UPDATE=1
fi

[ -x "$MUGAI" ] || { echo "golden: ERROR: mugai binary not executable: $MUGAI" >&2; exit 2; }
[ -d "$CORPUS" ] || { echo "golden: ERROR: corpus dir not found: $CORPUS" >&2; exit 2; }
if ! find "$CORPUS" -maxdepth 1 -type f -name '*.eml' | grep -q .; then
  echo "golden: ERROR: no *.eml in corpus dir $CORPUS" >&2
  exit 2
fi
command -v python3 >/dev/null || { echo "golden: ERROR: python3 is needed" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mugai-golden.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT

FAILURES=0
fail() {
  echo "golden: FAIL: $*"
  FAILURES=$((FAILURES + 1))
}

# Lists regular files under $1 as relative paths, sorted bytewise, skipping top-level dotfiles.
list_files() {
  (cd "$1" && find . -type f ! -path './.*' -printf '%P\n' | LC_ALL=C sort)
}

# compare_dirs EXPECTED ACTUAL EXPECTED_LABEL ACTUAL_LABEL: prints every difference, returns the
# number of differing names (0 when identical).
compare_dirs() {
  local exp=$1 act=$2 exp_label=$3 act_label=$4 n=0 f
  list_files "$exp" >"$WORK/list.exp"
  list_files "$act" >"$WORK/list.act"
  while IFS= read -r f; do
    echo "  missing in $act_label (present in $exp_label): $f"
    n=$((n + 1))
  done < <(LC_ALL=C comm -23 "$WORK/list.exp" "$WORK/list.act")
  while IFS= read -r f; do
    echo "  extra in $act_label (absent from $exp_label): $f"
    n=$((n + 1))
  done < <(LC_ALL=C comm -13 "$WORK/list.exp" "$WORK/list.act")
  while IFS= read -r f; do
    if ! cmp -s "$exp/$f" "$act/$f"; then
      echo "  differs: $f"
      diff -u -a --label "$exp_label/$f" --label "$act_label/$f" "$exp/$f" "$act/$f" |
        head -n 20 | sed 's/^/    /'
      n=$((n + 1))
    fi
  done < <(LC_ALL=C comm -12 "$WORK/list.exp" "$WORK/list.act")
  return $((n > 255 ? 255 : n))
}

# run_mugai IN OUT NAME: one sanitize run; its stdout/stderr go to $WORK/NAME.{stdout,stderr}.
run_mugai() {
  local in=$1 out=$2 name=$3 rc
  mkdir -p "$out"
  "$MUGAI" sanitize --dir "$in" --out "$out" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "golden: ERROR: '$MUGAI sanitize --dir $in --out $out' exited $rc ($name)"
    echo "  stderr (first 20 lines):"
    head -n 20 "$WORK/$name.stderr" | sed 's/^/    /'
    exit 1
  fi
}

echo "golden: run 1: $CORPUS"
run_mugai "$CORPUS" "$WORK/run1" run1
if ! list_files "$WORK/run1" | grep -q .; then
  echo "golden: ERROR: run 1 wrote no files into its output dir"
  exit 1
fi

# Every corpus message must at least have a report.
while IFS= read -r f; do
  [ -f "$WORK/run1/$f.json" ] || fail "no report for $f (expected $f.json)"
done < <(cd "$CORPUS" && find . -maxdepth 1 -type f -name '*.eml' -printf '%P\n' | LC_ALL=C sort)

echo "golden: run 2 (determinism)"
run_mugai "$CORPUS" "$WORK/run2" run2
if ! compare_dirs "$WORK/run1" "$WORK/run2" run1 run2 >"$WORK/determinism.txt"; then
  fail "two runs over the same corpus differ (non-deterministic output):"
  cat "$WORK/determinism.txt"
  DETERMINISTIC=0
else
  DETERMINISTIC=1
fi

echo "golden: run 3 (idempotence: sanitizing the sanitized output)"
mkdir -p "$WORK/pass2in"
n_out=0
while IFS= read -r f; do
  cp "$WORK/run1/$f" "$WORK/pass2in/$f"
  n_out=$((n_out + 1))
done < <(cd "$WORK/run1" && find . -maxdepth 1 -type f -name '*.eml' -printf '%P\n' |
           LC_ALL=C sort)
if [ "$n_out" -eq 0 ]; then
  fail "run 1 delivered no message at all (no *.eml in its output)"
else
  run_mugai "$WORK/pass2in" "$WORK/pass2" pass2
  # Walks each report as a whole, so the check does not depend on where the report keeps its
  # parts: any object with "disposition": "removed" or "converted" is a failure.
  if ! python3 - "$WORK/pass2in" "$WORK/pass2" >"$WORK/idempotence.txt" 2>&1 <<'PY'
import json, os, sys

inp, out = sys.argv[1], sys.argv[2]
bad = 0


def walk(node, path, hits):
    if isinstance(node, dict):
        d = node.get("disposition")
        if isinstance(d, str) and d.lower() in ("removed", "converted"):
            what = node.get("filename") or node.get("name") or node.get("declared_type") or ""
            hits.append("%s: disposition %s %s" % (path or "/", d, what))
        for k, v in node.items():
            walk(v, path + "/" + str(k), hits)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, "%s[%d]" % (path, i), hits)


for name in sorted(os.listdir(inp)):
    report = os.path.join(out, name + ".json")
    if not os.path.isfile(report):
        print("%s: no report in the second pass" % name)
        bad += 1
        continue
    try:
        with open(report, "rb") as fh:
            data = json.loads(fh.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        print("%s: report is not valid JSON: %s" % (name, e))
        bad += 1
        continue
    hits = []
    walk(data, "", hits)
    for h in hits:
        print("%s: second pass changed it again: %s" % (name, h))
    bad += 1 if hits else 0
    if not os.path.isfile(os.path.join(out, name)):
        print("%s: sanitized output was held (not delivered) when sanitized again" % name)
        bad += 1
sys.exit(1 if bad else 0)
PY
  then
    fail "sanitizing the output again is not a no-op:"
    sed 's/^/  /' "$WORK/idempotence.txt"
  fi
fi

if [ $UPDATE -eq 1 ]; then
  if [ $DETERMINISTIC -ne 1 ]; then
    echo "golden: NOT updating $GOLDEN: the output is not deterministic"
    exit 1
  fi
  mkdir -p "$GOLDEN"
  echo "golden: changes written to $GOLDEN:"
  if [ -z "$(list_files "$GOLDEN")" ]; then
    echo "  (new golden set: $(list_files "$WORK/run1" | wc -l) files)"
  elif compare_dirs "$GOLDEN" "$WORK/run1" golden new; then
    echo "  (none)"
  fi
  # Remove the old goldens (not dotfiles such as .gitattributes), then copy the new ones.
  (cd "$GOLDEN" && find . -type f ! -path './.*' -delete &&
     find . -mindepth 1 -type d -empty ! -path './.*' -delete)
  cp -R "$WORK/run1/." "$GOLDEN/"
  echo "golden: wrote $(list_files "$GOLDEN" | wc -l) files"
else
  if [ ! -d "$GOLDEN" ] || [ -z "$(list_files "$GOLDEN")" ]; then
    echo "golden: FAIL: golden dir $GOLDEN is missing or empty: there is nothing to compare"
    echo "golden:       against. Review the output, then create it with:"
    echo "golden:       $0 $MUGAI $CORPUS $GOLDEN --update"
    exit 1
  fi
  echo "golden: comparing run 1 with $GOLDEN"
  if ! compare_dirs "$GOLDEN" "$WORK/run1" golden actual >"$WORK/golden.txt"; then
    fail "output differs from the golden files:"
    cat "$WORK/golden.txt"
    echo "golden: if the change is intended, review it and run with --update"
  fi
fi

n_msgs=$(cd "$CORPUS" && find . -maxdepth 1 -type f -name '*.eml' | wc -l)
if [ $FAILURES -ne 0 ]; then
  echo "golden: $FAILURES check(s) failed over $n_msgs messages"
  exit 1
fi
echo "golden: all checks passed over $n_msgs messages (golden, determinism, idempotence)"
exit 0
