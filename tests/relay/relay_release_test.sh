#!/usr/bin/env bash
# `mugai queue release`: a held message goes through the pipeline again, never straight to the
# next hop. The message here is held by the pipeline itself (the session takes it at the size
# limit, then the Received field the relay adds puts it over), so held/ has the original, script
# and all. Released with the same config it is held again; released after the limit is raised
# it is sanitized and delivered. Both the running-relay path (SIGUSR1) and the offline one (the
# next start) are used. (Release of sanitized copies the next hop refused, 1000 at a time:
# relay_sink_failures_test.sh hard, hard-dsn.) Last, a message held twice (one recipient
# refused at each of two attempts) keeps both held entries, and a message that cannot be
# written to held/ stays deferred.
# Usage: relay_release_test.sh MUGAI_BINARY
set -uo pipefail
MUGAI=$1
for tool in swaks python3; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
# shellcheck source=relay_lib.sh
. "$(dirname "$0")/relay_lib.sh"

spool=$work/spool
maildir=$work/maildir
files_in() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
held_count() { grep -c "HELD id=" "$work/relay.log"; }

# 4000 octets of message: under the session's 4096, over it once the Received field is added.
python3 - >"$work/big.eml" <<'PY'
import sys
head = ("From: sender@outside.test\r\nTo: staff@example.jp\r\nSubject: held then released\r\n"
        "Message-Id: <release-1@outside.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><body><p>Keep this text</p><script>alert(1)</script>\r\n")
tail = "</body></html>\r\n"
pad = 4000 - len(head) - len(tail)
lines = []
while pad > 0:
    n = min(pad, 76)
    lines.append("x" * (n - 2) + "\r\n" if n >= 2 else "\r\n"[:n])
    pad -= n
sys.stdout.write(head + "".join(lines) + tail)
PY
check "the test message is 4000 octets ($(wc -c <"$work/big.eml"))" test "$(wc -c <"$work/big.eml")" -eq 4000
printf 'limit.max_message_bytes = 4096\n' >"$work/relay.conf"

start_relay --config "$work/relay.conf" --next-hop "maildir:$maildir" --spool "$spool" \
  --accept-domain example.jp
swaks --server "127.0.0.1:$relay_port" --from sender@outside.test --to staff@example.jp \
  --data "@$work/big.eml" >"$work/swaks.out" 2>&1
check "swaks got 250" grep -q "<-  250 2.0.0 Ok: queued as" "$work/swaks.out"
check "the pipeline held it" wait_until at_least 1 held_count
first_id=$(ls "$spool/held")
check "held/ has the original, script included" grep -q "<script>alert(1)</script>" "$spool/held/$first_id"
check "the held entry says why" grep -q "^note: pipeline held: limit.message_bytes" "$spool/held/$first_id"

# Running relay, same config: released, sanitized again, held again under a new ID.
"$MUGAI" queue --spool "$spool" release "$first_id" >"$work/release1.out" 2>&1
check "release names the new ID: $(head -c 200 "$work/release1.out")" \
  grep -q "^released $first_id as [0-9A-F]\{20\} (incoming/: sanitized again)$" "$work/release1.out"
check "release signals the relay" grep -q "asked the relay (process $relay_pid) to sanitize 1" \
  "$work/release1.out"
said=$(relay_says)
check "the relay sanitizes it ('$said')" \
  test "$said" = "mugai relay: flush: 0 queued for delivery, 1 released for sanitizing"
check "held again by the pipeline" wait_until at_least 2 held_count
second_id=$(ls "$spool/held")
check "one held message, under a new ID ($first_id -> $second_id)" \
  bash -c "[ \"$(files_in "$spool/held")\" -eq 1 ] && [ '$second_id' != '$first_id' ]"
check "the new held entry says why again" grep -q "^note: pipeline held: limit.message_bytes" \
  "$spool/held/$second_id"
check "nothing was delivered" test "$(files_in "$maildir/new")" -eq 0
"$MUGAI" queue --spool "$spool" release 00000000000000000000 >/dev/null 2>"$work/unknown.err"
rc=$?
check "releasing an unknown ID: exit 1 ($rc)" test "$rc" -eq 1
check "and says so" grep -q "no held message 00000000000000000000" "$work/unknown.err"
"$MUGAI" queue --spool "$spool" release ../held >/dev/null 2>&1
rc=$?
check "releasing a path: exit 2 ($rc)" test "$rc" -eq 2
stop_relay

# No relay running: the limit raised, released offline; the next start sanitizes and delivers.
printf 'limit.max_message_bytes = 65536\n' >"$work/relay.conf"
"$MUGAI" queue --spool "$spool" release all >"$work/release2.out" 2>&1
check "offline release: $(tr '\n' ' ' <"$work/release2.out")" \
  grep -q "no relay running; 1 released message(s) will be sanitized" "$work/release2.out"
check "offline release puts it in incoming/" test "$(files_in "$spool/incoming")" -eq 1
check "and takes it out of held/" test "$(files_in "$spool/held")" -eq 0
start_relay --config "$work/relay.conf" --next-hop "maildir:$maildir" --spool "$spool" \
  --accept-domain example.jp
stop_relay  # the drain sanitizes incoming/ and delivers
check "one message delivered" test "$(files_in "$maildir/new")" -eq 1
copy=$(find "$maildir/new" -type f | head -n 1)
if [ -n "$copy" ]; then
  check "the delivered message obeys the reconstruction rules" \
    bash -c "\"$MUGAI\" verify '$copy' >/dev/null"
  check "it was sanitized" grep -q -i "^X-Mugai-Status: sanitized" "$copy"
  check "it is the released message" grep -q -i "^Message-ID: <release-1@outside.test>" "$copy"
  decode_parts "$copy" >"$work/parts.txt" 2>&1
  check "its text survives" grep -q "Keep this text" "$work/parts.txt"
  check "its script is gone" bash -c "! grep -q 'alert(1)' '$work/parts.txt'"
fi
for q in incoming outgoing deferred held corrupt; do
  check "spool $q/ is empty at the end" test "$(files_in "$spool/$q")" -eq 0
done

# --- A message held twice keeps both: a next hop refuses one recipient for good at the first
# attempt and the other at the second (after a 4xx). Each refusal is held, neither overwrites
# the other (they share the message's queue ID).
start_scripted_hop refuse-twice
printf 'relay.retry_min_s = 3600\n' >"$work/twice.conf"
rm -f "$work/relay.log"
start_relay --config "$work/twice.conf" --next-hop "smtp://127.0.0.1:$hop_port" \
  --spool "$work/spool2" --accept-domain example.jp
swaks --server "127.0.0.1:$relay_port" --from sender@outside.test \
  --to a@example.jp,b@example.jp >"$work/swaks2.out" 2>&1
check "swaks got 250 for two recipients" grep -q "<-  250 2.0.0 Ok: queued as" "$work/swaks2.out"
deferred_count() { grep -c "result=deferred" "$work/relay.log"; }
check "the first attempt holds one recipient" wait_until at_least 1 held_count
check "and defers the other" wait_until at_least 1 deferred_count
"$MUGAI" queue --spool "$work/spool2" flush >/dev/null
said=$(relay_says)
check "flush retries the deferred one ('$said')" \
  test "$said" = "mugai relay: flush: 1 queued for delivery, 0 released for sanitizing"
check "the second attempt holds it too" wait_until at_least 2 held_count
stop_relay
check "two held entries ($(files_in "$work/spool2/held"))" test "$(files_in "$work/spool2/held")" -eq 2
for r in a b; do
  check "one held entry for $r@example.jp" \
    test "$(grep -l "^to: $r@example.jp$" "$work/spool2"/held/* | wc -l)" -eq 1
done
check "nothing left to deliver" \
  test "$(($(files_in "$work/spool2/deferred") + $(files_in "$work/spool2/outgoing")))" -eq 0

# --- held/ cannot be written (here: replaced by a file): a recipient refused for good is kept
# as deferred, never dropped with its outgoing/ file; once held/ works again, a flush holds it.
sink_port=$(free_port)
start_sink "$work/sink3" "$sink_port" -f RCPT
rm -f "$work/relay.log"
start_relay --config "$work/twice.conf" --next-hop "smtp://127.0.0.1:$sink_port" \
  --spool "$work/spool3" --accept-domain example.jp
rmdir "$work/spool3/held" && touch "$work/spool3/held"
swaks --server "127.0.0.1:$relay_port" --from sender@outside.test --to u@example.jp \
  --header "Message-Id: <held-broken@outside.test>" >"$work/swaks3.out" 2>&1
check "swaks got 250 (held/ broken)" grep -q "<-  250 2.0.0 Ok: queued as" "$work/swaks3.out"
unwritable() { grep -q "reason=permanent_failure.*(could not be written to held/)" "$work/relay.log"; }
check "the hold fails, loudly" wait_until unwritable
deferred_files() { files_in "$work/spool3/deferred"; }
check "the message is kept in deferred/" wait_until at_least 1 deferred_files
check "with the 5xx as its note" grep -q "^note: RCPT: 5" "$work"/spool3/deferred/*
rm "$work/spool3/held" && mkdir -m 700 "$work/spool3/held"
"$MUGAI" queue --spool "$work/spool3" flush >/dev/null
said=$(relay_says)
check "flush retries it ('$said')" \
  test "$said" = "mugai relay: flush: 1 queued for delivery, 0 released for sanitizing"
held_files() { files_in "$work/spool3/held"; }
check "now it is held" wait_until at_least 1 held_files
stop_relay
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
check "held once, nothing deferred" \
  test "$(held_files):$(deferred_files):$(files_in "$work/spool3/outgoing")" = "1:0:0"
check "the held one is the message" grep -q -i "^Message-Id: <held-broken@outside.test>" \
  "$work"/spool3/held/*

echo "relay release: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
