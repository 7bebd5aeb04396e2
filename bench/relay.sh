#!/usr/bin/env bash
# Throughput of `mugai relay` against Postfix, in one run on the same machine:
#   smtp-source -> private Postfix (disk queue, no content filter) -> smtp-sink
#   smtp-source -> mugai relay (disk spool, fsync, sanitizing)     -> smtp-sink
# for a 5 KiB plain-text message and a 5 KiB HTML message; then the relay's latency from the
# final dot to the 250 at half the load it sustained, and its memory with 50 sessions held open
# in the middle of DATA. See bench/README.md ("Relay").
#
# Usage: bench/relay.sh [COUNT] [SESSIONS] [REPS]
#   COUNT     messages per timed run (default 2000)
#   SESSIONS  parallel SMTP sessions of smtp-source (default 20)
#   REPS      timed runs of each (kind, server) pair, alternating servers (default 3)
# Environment:
#   BUILD_DIR  build tree (default build/; configured when missing)
#   NO_BUILD   when 1, use the mugai binary already in BUILD_DIR as it is
#   MUGAI      another mugai binary to measure (implies nothing about NO_BUILD)
#   WORK_DIR   where the Postfix queue and the mugai spool go: a fresh directory is made under it
#              (default /var/tmp, on disk, so that fsync costs what it costs) and removed at the
#              end (KEEP_WORK=1 keeps it, and the processes). The sink's dump files go to
#              /dev/shm when it exists (the same for both servers).
#   LAT_COUNT  messages of the latency run (default 1000); LAT_CONNS its connections (10)
#   HOLD_BYTES bytes each of the 50 held sessions has sent when memory is read (default 1 MiB)
#   MUGAI_CONF extra lines for the relay's config file (e.g. "relay.workers = 8")
# Needs root (Postfix's master must start as root; the system Postfix is never touched) and
# postfix, smtp-source, smtp-sink, python3.
set -euo pipefail

COUNT=${1:-2000}
SESSIONS=${2:-20}
REPS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
MUGAI=${MUGAI:-$BUILD_DIR/mugai}
LOAD=$ROOT/bench/relay_load.py
LAT_COUNT=${LAT_COUNT:-1000}
LAT_CONNS=${LAT_CONNS:-10}
HOLD_BYTES=${HOLD_BYTES:-1048576}
HOLD_CONNS=50

for tool in postfix postqueue smtp-source smtp-sink python3; do
  command -v "$tool" >/dev/null || { echo "relay.sh: $tool is not installed" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "relay.sh: run as root (Postfix's master starts as root)" >&2; exit 1; }

export BENCH=relay.sh  # named in bench_lib.sh messages
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$ROOT/bench/bench_lib.sh"
build_targets mugai
[[ -x $MUGAI ]] || { echo "relay.sh: $MUGAI is missing" >&2; exit 1; }

# The relay tests' helpers, sourced read-only: a work folder (under TMPDIR) removed at exit with
# the processes started, free ports, smtp-sink and `mugai relay` started by PID.
export TMPDIR=${WORK_DIR:-/var/tmp}
mkdir -p "$TMPDIR"
# shellcheck source-path=SCRIPTDIR/.. source=tests/relay/relay_lib.sh
. "$ROOT/tests/relay/relay_lib.sh"
# Its cleanup expects no errexit (a kill of a process already gone fails).
[[ -n ${KEEP_WORK:-} ]] || trap 'set +e; cleanup' EXIT
WORK=$work
SINKBASE=$WORK
if [[ -d /dev/shm && -w /dev/shm ]]; then
  SINKBASE=$(mktemp -d /dev/shm/mugai-relay-sink.XXXXXX)
  chmod 755 "$SINKBASE"
  on_exit+=("rm -rf '$SINKBASE'")
fi
pf=$WORK/postfix

# --- The two messages, 5 KiB each (5120 octets with CRLF line ends, as sent). --------------
python3 - "$WORK" <<'PY'
import sys
work = sys.argv[1]
head = ("From: Sender <sender@outside.test>\nTo: Staff <staff@example.jp>\n"
        "Subject: =?UTF-8?B?5LqI566X5qGI44Gr44Gk44GE44Gm?=\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0900\nMessage-ID: <bench-@@N@@@outside.test>\n"
        "MIME-Version: 1.0\n")
line = "お世話になっております。来年度の予算案について、添付の表をご確認ください。 The budget is attached.\n"
html_row = "<tr><td>項目</td><td>1,234,000円</td><td><a href=\"https://example.jp/x\">詳細</a></td></tr>\n"
def build(ctype, prologue, unit, epilogue):
    h = head + f"Content-Type: {ctype}; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    body = prologue
    size = lambda s: len(s.replace("\n", "\r\n").encode())
    while size(h + body + unit + epilogue) <= 5120:
        body += unit
    text = h + body + epilogue
    pad = 5120 - size(text)
    text = h + body + "x" * max(0, pad - 2) + "\n" + epilogue if pad >= 3 else text
    return text
plain = build("text/plain", "", line, "")
html = build("text/html", "<html><head><title>予算</title></head><body>\n<p>お世話になっております。</p>\n<table>\n",
             html_row, "</table>\n<p>よろしくお願いいたします。</p>\n</body></html>\n")
for name, text in (("plain", plain), ("html", html)):
    open(f"{work}/{name}.eml", "w", encoding="utf-8").write(text)
PY

# --- smtp-sink: one dump file per transaction; a run is over when N files are there. ---------
sink_port=$(free_port)
SINK=$SINKBASE/sink
start_sink "$SINK" "$sink_port"

# --- The private Postfix: default queue on disk, relays example.jp to the sink. -------------
pf_port=$(free_port)
start_private_postfix "$pf" "$pf_port" "$sink_port" example.jp || exit 1

# --- mugai relay: spool on disk, default policy (sanitizing), next hop the sink. -------------
cat >"$WORK/mugai.conf" <<EOF
relay.max_connections = 100
relay.max_connections_per_client = 100
EOF
[[ -z ${MUGAI_CONF:-} ]] || printf '%s\n' "$MUGAI_CONF" >>"$WORK/mugai.conf"
start_relay --config "$WORK/mugai.conf" --next-hop "smtp://127.0.0.1:$sink_port" \
  --spool "$WORK/spool" --accept-domain example.jp
mugai_port=$relay_port

# --- Throughput. ------------------------------------------------------------------------------
# One timed run: the sink is emptied, COUNT messages go out over SESSIONS sessions (several
# messages per session), and the clock stops when the sink holds COUNT files. Two senders:
# smtp-source (the same bytes every time), and relay_load.py (each message unique: its
# Message-ID carries a counter; real mail is unique, and mugai stores each distinct original
# once, so identical messages spare it one durable write). Prints msgs/s end to end and accepted.
run_once() {  # sender port file
  find "$SINK" -type f -delete
  local out cmd
  if [[ $1 == smtp-source ]]; then
    cmd=(smtp-source -d -s "$SESSIONS" -m "$COUNT" -f sender@outside.test -t staff@example.jp
         -M bench.test -F "$3" "127.0.0.1:$2")
  else
    cmd=(python3 "$LOAD" latency --port "$2" --rate 0 --conns "$SESSIONS" --count "$COUNT"
         --file "$3")
  fi
  out=$(python3 "$LOAD" count "$SINK" "$COUNT" 300 -- "${cmd[@]}") || {
    echo "relay.sh: a run to port $2 failed" >&2; exit 1; }
  python3 -c "import sys; kv=dict(x.split('=') for x in sys.argv[1].split()); \
print(f\"{$COUNT/float(kv['end_to_end_s']):.1f} {$COUNT/float(kv['source_s']):.1f}\")" "$out"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "relay.sh: $COUNT messages, $SESSIONS sessions, $REPS runs each; $(nproc) cores," \
  "$(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm-up (untimed): Postfix starts its smtpd/cleanup/smtp processes, mugai its threads.
run_once smtp-source "$pf_port" "$WORK/plain.eml" >/dev/null
run_once smtp-source "$mugai_port" "$WORK/plain.eml" >/dev/null
declare -A mugai_rate
results=()
runs=()
for sender in smtp-source unique; do
  for kind in plain html; do
    pf_runs=() mg_runs=() pf_acc=() mg_acc=()
    for _ in $(seq 1 "$REPS"); do
      read -r e a < <(run_once "$sender" "$pf_port" "$WORK/$kind.eml")
      pf_runs+=("$e"); pf_acc+=("$a")
      read -r e a < <(run_once "$sender" "$mugai_port" "$WORK/$kind.eml")
      mg_runs+=("$e"); mg_acc+=("$a")
    done
    p=$(printf '%s\n' "${pf_runs[@]}" | median)
    m=$(printf '%s\n' "${mg_runs[@]}" | median)
    pa=$(printf '%s\n' "${pf_acc[@]}" | median)
    ma=$(printf '%s\n' "${mg_acc[@]}" | median)
    mugai_rate[$sender-$kind]=$m
    results+=("$(printf '| %-11s | %-5s | %8.1f | %8.1f | %5.2f | %8.1f | %8.1f |' "$sender" "$kind" \
      "$p" "$m" "$(awk -v a="$m" -v b="$p" 'BEGIN {print a/b}')" "$pa" "$ma")")
    runs+=("$sender $kind: postfix ${pf_runs[*]}; mugai ${mg_runs[*]}")
  done
done
# Sanity: what reached the sink from mugai was sanitized (the last run was mugai's).
sample=$(find "$SINK" -type f -print -quit)
grep -q -i '^X-Mugai-Status:' "$sample" || { echo "relay.sh: mugai's output is not sanitized?" >&2; exit 1; }
echo
echo "| sender | kind | postfix msgs/s | mugai msgs/s | mugai/postfix | postfix accepted/s | mugai accepted/s |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${results[@]}"
echo
echo "Median of $REPS runs. End to end: until the sink holds all $COUNT; accepted: until the sender"
echo "had every 250. Runs (end to end, msgs/s):"
printf '  %s\n' "${runs[@]}"
echo "originals stored by mugai: $(find "$WORK/spool/originals" -type f | wc -l)"

# --- Latency at half the load mugai sustained for the plain message. -------------------------
half=$(awk -v r="${mugai_rate[unique-plain]}" 'BEGIN {printf "%.1f", r/2}')
echo
echo "latency, final dot to 250, mugai, plain, $LAT_COUNT unique messages at $half msgs/s" \
  "(half of ${mugai_rate[unique-plain]}) over $LAT_CONNS connections:"
find "$SINK" -type f -delete
python3 "$LOAD" latency --port "$mugai_port" --rate "$half" --conns "$LAT_CONNS" \
  --count "$LAT_COUNT" --file "$WORK/plain.eml" || echo "relay.sh: the latency run had failures"
echo "the same against Postfix at the same rate:"
python3 "$LOAD" latency --port "$pf_port" --rate "$half" --conns "$LAT_CONNS" \
  --count "$LAT_COUNT" --file "$WORK/plain.eml" || echo "relay.sh: the latency run had failures"

# --- Memory with 50 sessions held mid-DATA. ----------------------------------------------------
echo
echo "memory of the relay (pid $relay_pid), $HOLD_CONNS sessions held mid-DATA with" \
  "$HOLD_BYTES bytes each, then 60 more connections (relay.max_connections = 100):"
python3 "$LOAD" hold --port "$mugai_port" --pid "$relay_pid" --conns "$HOLD_CONNS" \
  --bytes "$HOLD_BYTES" --extra 60 --file "$WORK/plain.eml" || echo "relay.sh: the hold run had failures"

stop_relay
