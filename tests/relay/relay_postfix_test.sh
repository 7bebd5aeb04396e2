#!/usr/bin/env bash
# A real Postfix as the next hop: swaks -> `mugai relay` -> a private Postfix instance (its own
# config and queue directories under the work folder, an inet listener on a free 127.0.0.1 port)
# -> smtp-sink. Checks that the sanitized message arrives at the far end exactly once, passed
# through Postfix's queue. The system's own Postfix configuration is never read or touched.
# Exits 77 (skip) only when Postfix cannot run here: not installed, or not run as root (its
# master process must start as root to drop to mail_owner).
# Usage: relay_postfix_test.sh MUGAI_BINARY
set -uo pipefail
MUGAI=$1
for tool in postfix postqueue swaks smtp-sink python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: postfix cannot run as $(id -un): its master must be started by root"
  exit 77
fi
# shellcheck source=relay_lib.sh
. "$(dirname "$0")/relay_lib.sh"

# --- The private Postfix: relays example.jp to smtp-sink, logs to a file of its own. ---------
pf=$work/postfix
pf_port=$(free_port)
sink_port=$(free_port)
start_sink "$work/sink" "$sink_port"
start_private_postfix "$pf" "$pf_port" "$sink_port" example.jp || { echo "FAIL: no private Postfix"; exit 1; }

start_relay --next-hop "smtp://127.0.0.1:$pf_port" --spool "$work/spool" \
  --accept-domain example.jp

# --- The message: HTML with a script, and an executable. ------------------------------------
write_hostile "$work/hostile.eml" staff@example.jp "<e2e-postfix@outside.test>"
swaks --server "127.0.0.1:$relay_port" --from sender@outside.test --to staff@example.jp \
  --data "@$work/hostile.eml" >"$work/swaks.out" 2>&1
check "swaks got 250 from the relay" grep -q "<-  250 2.0.0 Ok: queued as" "$work/swaks.out"
stop_relay  # the drain delivers to Postfix before the relay exits
check "the relay delivered to Postfix" grep -q \
  "hop=smtp://127.0.0.1:$pf_port attempt=1 .* result=delivered reply=\"250 2.0.0 Ok: queued as" \
  "$work/relay.log"

# Postfix took the message (250) before the relay exited; it is delivered once its queue is empty.
queue_empty() { [ -z "$(postqueue -c "$pf/etc" -j 2>/dev/null)" ]; }
check "the Postfix queue runs empty" wait_until queue_empty
stop_private_postfix "$pf"
on_exit=()
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null

check "Postfix logged the delivery to the sink" \
  grep -q "relay=127.0.0.1\[127.0.0.1\]:$sink_port, .*status=sent" "$pf/maillog"
n=$(grep -l -i "^Message-ID: <e2e-postfix@outside.test>" "$work"/sink/m.* 2>/dev/null | wc -l)
check "the message arrived exactly once (found $n)" test "$n" -eq 1
check "nothing else arrived (no bounce)" test "$(ls "$work/sink" | wc -l)" -eq 1
dump=$(ls "$work"/sink/m.* 2>/dev/null | head -1)
check "it passed Postfix" grep -q "by lgwan.test (Postfix)" "$dump"
check "it passed Mugai" grep -q "(Mugai) with ESMTP" "$dump"
check "it carries X-Mugai-Status" grep -q -i "^X-Mugai-Status:" "$dump"
decode_parts "$dump" >"$work/parts.out" 2>&1
check "the text survives" grep -q "Please pay" "$work/parts.out"
check "the script is gone" bash -c "! grep -q -i 'alert(1)' '$work/parts.out'"
check "the executable is gone" bash -c "! grep -q 'not really a program' '$work/parts.out'"

echo "relay postfix: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
