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

send_numbered handoff "$count" 1

sanitized() { grep -c 'sanitized id=' "$work/relay.log"; }
by() { grep -c "sanitized id=.* handoff=$1\$" "$work/relay.log"; }
files_in() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
delivered() { delivered_in "$events"; }

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
check_delivered_once handoff "$count" "$events"
spool_empty() {
  [ "$(files_in "$spool/incoming")$(files_in "$spool/outgoing")$(files_in "$spool/deferred")" = 000 ]
}
check "the spool ends empty" wait_until spool_empty
stop_relay

echo "relay_handoff: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
