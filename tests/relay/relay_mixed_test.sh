#!/usr/bin/env bash
# Mixed per-message outcomes at scale, on shared connections: COUNT messages, each with its own
# Message-ID, through `mugai relay` to a scripted next hop (scripted_hop.py mixed) that, on each
# message's first arrival, refuses some after the data with 554 (hard), some with 451 (soft),
# hangs up on some before replying, and takes the rest. smtp-sink fails every message or none;
# this is the case between. Soft and lost messages come back through the retry schedule; hard
# ones are held, then `mugai queue release all` sends them through the pipeline again. Every
# Message-ID must be answered 250 exactly once, exactly the hard ones must be held, and the
# spool must end empty. Synchronisation is by events with deadlines (counts of lines).
# Usage: relay_mixed_test.sh MUGAI_BINARY [COUNT (default 1000)]
set -uo pipefail
MUGAI=$1
count=${2:-1000}
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
# shellcheck source=relay_lib.sh
. "$(dirname "$0")/relay_lib.sh"

spool=$work/spool
events=$work/events
printf 'relay.retry_min_s = 1\nrelay.retry_max_s = 2\nrelay.dsn = off\n' >"$work/relay.conf"
start_scripted_hop mixed "$events"
start_relay --config "$work/relay.conf" --next-hop "smtp://127.0.0.1:$hop_port" \
  --spool "$spool" --accept-domain example.jp

# What the hop does to each message's first arrival (the same rules as scripted_hop.py).
hard=0 soft=0 lost=0
for ((k = 0; k < count; k++)); do
  if ((k % 7 == 2)); then hard=$((hard + 1))
  elif ((k % 5 == 1)); then soft=$((soft + 1))
  elif ((k % 11 == 3)); then lost=$((lost + 1)); fi
done

send_numbered mixed "$count" 4

delivered() { delivered_in "$events"; }
files_in() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
equals() { [ "$("${@:2}")" -eq "$1" ]; }

# Phase 1: all but the hard ones arrive (soft and lost ones after a retry); the hard ones are
# held, each once.
check "$((count - hard)) delivered before any release ($(delivered)); $soft soft, $lost lost" \
  wait_until_for 300 at_least "$((count - hard))" delivered
check "exactly the $hard hard-refused messages held ($(files_in "$spool/held"))" \
  wait_until_for 60 equals "$hard" files_in "$spool/held"
check "no more than $((count - hard)) delivered yet ($(delivered))" \
  test "$(delivered)" -eq "$((count - hard))"
check "soft and lost messages were retried (deferred in the log: $(grep -c 'result=deferred' "$work/relay.log"))" \
  test "$(grep -c 'result=deferred' "$work/relay.log")" -ge "$((soft + lost))"

# Phase 2: released, the held ones go through the pipeline again and arrive.
"$MUGAI" queue --spool "$spool" release all >"$work/release.out" 2>&1
check "queue release all asks the relay for $hard ($(tail -c 200 "$work/release.out"))" \
  grep -q "to sanitize $hard released message(s) now" "$work/release.out"
said=$(relay_says)
check "the running relay took the released messages ('$said')" \
  test "$said" = "mugai relay: flush: 0 queued for delivery, $hard released for sanitizing"
check "all $count delivered ($(delivered))" wait_until_for 120 at_least "$count" delivered

# Exactly once each, and nothing else.
check_delivered_once mixed "$count" "$events"
spool_empty() {
  [ "$(files_in "$spool/incoming")$(files_in "$spool/outgoing")$(files_in "$spool/deferred")$(files_in "$spool/held")" = 0000 ]
}
check "the spool ends empty" wait_until spool_empty
stop_relay

echo "relay_mixed: $passes passed, $fails failed ($count messages: $hard hard, $soft soft, $lost lost)"
[ "$fails" -eq 0 ]
