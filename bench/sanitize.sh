#!/usr/bin/env bash
# Throughput of `mugai sanitize --dir` against the bare GMime parse-and-write round trip, on one
# core, over the same generated corpus of typical mail. See bench/README.md.
#
# Usage: bench/sanitize.sh [COUNT] [REPS]
#   COUNT  messages to generate (default 2000)       REPS  timed runs of each (default 5)
# Environment:
#   BUILD_DIR  build tree to use (default build/; configured as Release when it does not exist)
#   WORK_DIR   where the corpus and mugai's outputs go (default: a fresh directory under /dev/shm
#              when it exists, else under /tmp; removed at the end). Put it on a disk to include
#              file-system costs: creating files is slow on some virtual disks.
#   CPU        the core both programs are pinned to with taskset (default 0)
#   NO_BUILD   when 1, use the binaries already in BUILD_DIR as they are (no cmake run)
#
# Prints, from the median of REPS runs, msgs/s and MB/s (MB = 10^6 bytes of input) for both
# programs, by wall time and by CPU time (user + sys of the process), and the ratios
# mugai/gmime throughput (target >= 0.5). CPU time is the figure to trust on a shared machine:
# wall time also counts the time other processes held the core. Runs alternate between the two
# programs so that drift in machine load affects both alike; an untimed warm-up run of each
# comes first, and the timed runs are refused if mugai did not write a report for every file.
set -euo pipefail

COUNT=${1:-2000}
REPS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
CPU=${CPU:-0}

if [[ -n ${WORK_DIR:-} ]]; then
  WORK=$WORK_DIR
  mkdir -p "$WORK"
else
  base=/tmp
  [[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
  WORK=$(mktemp -d "$base/mugai-bench.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi

# 1. Build (a no-op when up to date).
export BENCH=sanitize.sh  # named in bench_lib.sh messages
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$ROOT/bench/bench_lib.sh"
build_targets mugai gmime_roundtrip
for exe in "$BUILD_DIR/mugai" "$BUILD_DIR/bench/gmime_roundtrip"; do
  [[ -x $exe ]] || { echo "sanitize.sh: $exe is missing" >&2; exit 1; }
done
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")

# 2. The corpus.
rm -rf "$WORK/in" "$WORK/out"
quiet python3 "$ROOT/fixtures/generate.py" --bench "$WORK/in" --count "$COUNT"

# 3. Timing (Python for per-process CPU time from getrusage).
python3 - "$BUILD_DIR" "$WORK" "$REPS" "$CPU" "${BUILD_TYPE:-default}" <<'EOF'
import os, resource, shutil, statistics, subprocess, sys, time

build, work, reps, cpu, build_type = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
src, out = os.path.join(work, "in"), os.path.join(work, "out")
files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs]
nbytes = sum(os.path.getsize(f) for f in files)
mugai = ["taskset", "-c", cpu, os.path.join(build, "mugai"), "sanitize", "--dir", src, "--out", out]
gmime = ["taskset", "-c", cpu, os.path.join(build, "bench", "gmime_roundtrip"), src]

def run(cmd, before=None):
    if before:
        before()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("sanitize.sh: %s failed (%d): %s" % (cmd[3], p.returncode, p.stderr.decode()[-500:]))
    cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu_s, p.stdout.decode()

clear = lambda: shutil.rmtree(out, ignore_errors=True)
# Warm-up, and proof that mugai processed every message.
_, _, summary = run(mugai, clear)
run(gmime)
reports = sum(1 for d, _, fs in os.walk(out) for f in fs if f.endswith(".json"))
if reports != len(files):
    sys.exit("sanitize.sh: mugai wrote %d reports for %d messages; not timing a broken run"
             % (reports, len(files)))

m, g = [], []
for _ in range(reps):
    m.append(run(mugai, clear)[:2])
    g.append(run(gmime)[:2])

def med(rows, k):
    return statistics.median(r[k] for r in rows)

n, mb = len(files), nbytes / 1e6
print("corpus: %d messages, %.2f MB (fixtures/generate.py --bench) in %s; core %s; build %s"
      % (n, mb, work, cpu, build_type))
print("median of %d runs of each, whole process (start-up, reading, writing included)" % reps)
print("  %-16s %-5s %9s %11s %9s" % ("", "", "seconds", "msgs/s", "MB/s"))
for name, rows in (("mugai sanitize", m), ("gmime_roundtrip", g)):
    for label, k in (("wall", 0), ("cpu", 1)):
        s = med(rows, k)
        print("  %-16s %-5s %9.3f %11.1f %9.2f" % (name, label, s, n / s, mb / s))
print("ratio mugai/gmime throughput: %.3f by CPU time, %.3f by wall time (target >= 0.5)"
      % (med(g, 1) / med(m, 1), med(g, 0) / med(m, 0)))
print("  runs, wall/cpu seconds:")
print("    mugai: " + " ".join("%.3f/%.3f" % r for r in m))
print("    gmime: " + " ".join("%.3f/%.3f" % r for r in g))
print("mugai's summary (last run): " + summary.strip().splitlines()[0])
EOF
