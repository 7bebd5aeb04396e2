#!/usr/bin/env bash
# The hand-off from the sanitizing workers to delivery: at most 64 sanitized messages (64 MiB)
# wait in memory; beyond that a worker writes the sanitized copy to outgoing/. The next hop here
# (scripted_hop.py gated) greets nobody until a gate file appears, so delivery stalls with every
# message sanitized: exactly 64 must have gone by memory and the rest to outgoing/ (files
# there). Then the gate opens and every message must arrive exactly once, the spool empty.
# Usage: relay_handoff_test.sh MUGAI_BINARY [COUNT (default 200)]
set -uo pipefail
MUGAI=$1
count=${2:-200}
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
# shellcheck source=relay_lib.sh
. "$(dirname "$0")/relay_lib.sh"

spool=$work/spool
events=$work/events
memory_cap=64  # kMaxHandoffMessages in smtp-relay/relay.cc
printf 'relay.delivery_timeout_s = 600\n' >"$work/relay.conf"
start_scripted_hop gated "$events" "$work/gate"
start_relay --config "$work/relay.conf" --next-hop "smtp://127.0.0.1:$hop_port" \
  --spool "$spool" --accept-domain example.jp

python3 - "$relay_port" "$count" >"$work/send.out" 2>&1 <<'PY'
import smtplib, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=60) as c:
    for k in range(count):
        c.sendmail("a@outside.test", ["u@example.jp"],
                   "From: a@outside.test\r\nTo: u@example.jp\r\nSubject: handoff %d\r\n"
                   "Message-ID: <handoff-%d@outside.test>\r\n\r\nbody %d\r\n" % (k, k, k))
PY
check "all $count messages accepted ($(tail -c 300 "$work/send.out"))" test ! -s "$work/send.out"

sanitized() { grep -c 'sanitized id=' "$work/relay.log"; }
by() { grep -c "sanitized id=.* handoff=$1\$" "$work/relay.log"; }
files_in() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
delivered() {
  if [ -f "$events" ]; then awk '/^delivered /{n++} END{print n+0}' "$events"; else echo 0; fi
}

check "every message sanitized while delivery stalls ($(sanitized))" \
  wait_until_for 120 at_least "$count" sanitized
check "nothing delivered through the closed gate ($(delivered))" test "$(delivered)" -eq 0
check "$memory_cap handed over in memory ($(by memory))" test "$(by memory)" -eq "$memory_cap"
check "the other $((count - memory_cap)) written to outgoing/ ($(by outgoing))" \
  test "$(by outgoing)" -eq "$((count - memory_cap))"
check "outgoing/ holds them ($(files_in "$spool/outgoing"))" \
  test "$(files_in "$spool/outgoing")" -eq "$((count - memory_cap))"
check "incoming/ still holds the ones in memory ($(files_in "$spool/incoming"))" \
  test "$(files_in "$spool/incoming")" -eq "$memory_cap"

touch "$work/gate"
check "all $count delivered once the gate opens ($(delivered))" \
  wait_until_for 120 at_least "$count" delivered
sed -n 's/^delivered //p' "$events" | sort >"$work/got"
for ((k = 0; k < count; k++)); do echo "<handoff-$k@outside.test>"; done | sort >"$work/want"
check "every Message-ID delivered exactly once" cmp -s "$work/want" "$work/got"
spool_empty() {
  [ "$(files_in "$spool/incoming")$(files_in "$spool/outgoing")$(files_in "$spool/deferred")" = 000 ]
}
check "the spool ends empty" wait_until spool_empty
stop_relay

echo "relay_handoff: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
