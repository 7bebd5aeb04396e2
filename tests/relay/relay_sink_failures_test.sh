#!/usr/bin/env bash
# smtp-source -> mugai relay -> smtp-sink with the sink failing commands, thousands of messages
# at a time (issue 4: "retried or reported as the RFC says, nothing lost"). smtp-sink fails
# every given command, never a fraction, so each run has two phases on one port: a failing sink
# until every message has met the failure, then a healthy sink in its place.
#   soft        smtp-sink -r RCPT (450): every message deferred once; `mugai queue flush`
#               delivers them all to the healthy sink, each exactly once.
#   disconnect  smtp-sink -q DATA (hang up, no reply): deferred; the retry schedule itself
#               (relay.retry_min_s = 1) delivers them once the healthy sink is up.
#   hard        smtp-sink -f RCPT (550), relay.dsn = off: every message held with its reason;
#               `mugai queue release all` sends them through the pipeline again to the healthy
#               sink, each exactly once.
#   hard-dsn    smtp-sink -f RCPT (550), relay.dsn = on: every message gets a DSN (RFC 3464,
#               null sender); the failing sink refuses the DSNs too, which are held, never
#               answered; released, they all reach the healthy sink.
# (-q on the final dot is left out: a message whose 250 was lost must be sent again, so the
# sink would rightly see it twice.) Synchronisation is by events with deadlines: counts of
# relay log lines, spool files and Message-IDs in the sink's dump files.
# Usage: relay_sink_failures_test.sh MUGAI_BINARY MODE [COUNT (default 2000)]
set -uo pipefail
MUGAI=$1
mode=$2
count=${3:-2000}
for tool in smtp-source smtp-sink python3; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
# shellcheck source=relay_lib.sh
. "$(dirname "$0")/relay_lib.sh"

case $mode in
  soft) sink_fails=(-r RCPT); conf='relay.retry_min_s = 3600' ;;
  disconnect) sink_fails=(-q DATA); conf=$'relay.retry_min_s = 1\nrelay.retry_max_s = 2' ;;
  hard) sink_fails=(-f RCPT); conf='relay.dsn = off' ;;
  hard-dsn) sink_fails=(-f RCPT); conf='relay.dsn = on' ;;
  *) echo "unknown mode '$mode'"; exit 2 ;;
esac
printf '%s\n' "$conf" >"$work/relay.conf"
spool=$work/spool
# Soft failures wait an hour for their retry unless flushed: the counts below are exact.
[ "$mode" = soft ] || [ "$mode" = disconnect ] || printf 'relay.retry_min_s = 3600\n' >>"$work/relay.conf"

files_in() { find "$1" -maxdepth 1 -type f | wc -l; }
# The Message-ID of each message in a sink's dump files: the first such line of each file (a
# DSN quotes the failed message's header further down).
ids_at() {
  find "$1" -maxdepth 1 -name 'm.*' -type f -exec awk 'tolower($0) ~ /^message-id:/ {print; nextfile}' {} + 2>/dev/null
}
# Distinct queue IDs with at least one delivery attempt of the given result in the relay log.
attempted() { grep "result=$1 " "$work/relay.log" | sed 's/.*delivery id=\([0-9A-F]*\) .*/\1/' | sort -u | wc -l; }
at_least() { [ "$("${@:2}")" -ge "$1" ]; }

sink_port=$(free_port)
start_sink "$work/failing" "$sink_port" "${sink_fails[@]}"
failing_pid=$sink_pid
start_relay --config "$work/relay.conf" --next-hop "smtp://127.0.0.1:$sink_port" \
  --spool "$spool" --accept-domain example.jp
smtp-source -m "$count" -s 10 -f a@outside.test -t u@example.jp -M client.test \
  "127.0.0.1:$relay_port" >"$work/source.out" 2>&1
check "smtp-source: $count messages accepted without error: $(head -c 300 "$work/source.out")" \
  test ! -s "$work/source.out"
queued=$(grep -c "queued id=" "$work/relay.log")
check "the relay queued $count ($queued)" test "$queued" -eq "$count"

# --- Phase 1: every message meets the failing sink. ---------------------------------------------
case $mode in
  soft | disconnect)
    check "every message deferred at least once ($(attempted deferred) of $count)" \
      wait_until_for 240 at_least "$count" attempted deferred
    check "nothing delivered by the failing sink ($(attempted delivered))" test "$(attempted delivered)" -eq 0
    check "nothing held ($(files_in "$spool/held"))" test "$(files_in "$spool/held")" -eq 0
    ;;
  hard)
    check "every message held ($(files_in "$spool/held") of $count)" \
      wait_until_for 240 at_least "$count" files_in "$spool/held"
    check "exactly $count held ($(files_in "$spool/held"))" test "$(files_in "$spool/held")" -eq "$count"
    "$MUGAI" queue --spool "$spool" list >"$work/list.out"
    check "queue list: $count held, each with the sink's 5xx reply" test \
      "$(grep -c ' held .*to=<u@example.jp> note="permanent failure: RCPT: 5' "$work/list.out")" -eq "$count"
    ;;
  hard-dsn)
    # Each failure makes one DSN, which the sink refuses in turn: held, never answered.
    dsns() { grep -c "dsn id=" "$work/relay.log"; }
    check "a DSN for every message ($(dsns) of $count)" wait_until_for 240 at_least "$count" dsns
    check "every DSN held ($(files_in "$spool/held") of $count)" \
      wait_until_for 240 at_least "$count" files_in "$spool/held"
    about=$(grep "dsn id=" "$work/relay.log" | sed 's/.* message-id=\([^ ]*\) .*/\1/' | sort -u | wc -l)
    check "the DSNs are about $count distinct Message-IDs ($about)" test "$about" -eq "$count"
    check "each DSN goes to the envelope sender" \
      test "$(grep "dsn id=" "$work/relay.log" | grep -c " to=<a@outside.test> rcpts=1 ")" -eq "$count"
    check "held DSNs are never answered ($(grep -l '^note: .*(null sender: no DSN)' "$spool"/held/* | wc -l))" \
      test "$(grep -l '^note: .*(null sender: no DSN)' "$spool"/held/* | wc -l)" -eq "$count"
    check "no DSN about a DSN" test "$(dsns)" -eq "$count"
    ;;
esac
check "the failing sink got no message" test -z "$(ids_at "$work/failing")"
check "nothing deferred/outgoing/incoming is lost in phase 1" \
  test "$(($(files_in "$spool/deferred") + $(files_in "$spool/held")))" -eq "$count"

# --- Phase 2: a healthy sink on the same port. ----------------------------------------------
kill "$failing_pid"
wait "$failing_pid" 2>/dev/null
start_sink "$work/healthy" "$sink_port"
case $mode in
  soft)
    check "queue flush signals the relay" bash -c \
      "\"$MUGAI\" queue --spool '$spool' flush | grep -q 'process $relay_pid'"
    said=$(relay_says)
    check "the relay queued every deferred message ('$said')" \
      test "$said" = "mugai relay: flush: $count queued for delivery, 0 released for sanitizing"
    ;;
  disconnect)
    ;;  # the retry schedule does it
  hard | hard-dsn)
    "$MUGAI" queue --spool "$spool" release all >"$work/release.out" 2>&1
    check "queue release all: $count released" \
      test "$(grep -c '^released [0-9A-F]\{20\} as [0-9A-F]\{20\} ' "$work/release.out")" -eq "$count"
    check "queue release all signals the relay" \
      grep -q "asked the relay (process $relay_pid) to sanitize $count released" "$work/release.out"
    said=$(relay_says)
    check "the relay sanitizes every released message ('$said')" \
      test "$said" = "mugai relay: flush: 0 queued for delivery, $count released for sanitizing"
    ;;
esac
arrived() { ids_at "$work/healthy" | wc -l; }
check "$count messages reach the healthy sink ($(arrived))" wait_until_for 240 at_least "$count" arrived
stop_relay
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null

ids_at "$work/healthy" | sort >"$work/ids"
total=$(wc -l <"$work/ids")
unique=$(sort -u "$work/ids" | wc -l)
check "$count messages at the healthy sink (found $total)" test "$total" -eq "$count"
check "every Message-ID exactly once ($unique unique of $total)" test "$unique" -eq "$total"
# The Message-IDs smtp-source sent, as the relay logged them when it queued them, against
# those that arrived: the messages themselves, or with hard-dsn the ones the DSNs quote (the
# second Message-ID of each file).
grep "queued id=" "$work/relay.log" | sed 's/.* message-id=\(.*\)$/\1/' | sort >"$work/sent"
if [ "$mode" = hard-dsn ]; then
  find "$work/healthy" -name 'm.*' -type f \
    -exec awk 'FNR == 1 {n = 0} tolower($0) ~ /^message-id:/ && ++n == 2 {print; nextfile}' {} + \
    >"$work/arrived"
else
  cp "$work/ids" "$work/arrived"
fi
missing=$(sed 's/^[^:]*: *//' "$work/arrived" | sort -u | comm -23 "$work/sent" - | wc -l)
check "every Message-ID sent arrived$([ "$mode" = hard-dsn ] && echo ", quoted by its DSN") ($missing missing)" \
  test "$missing" -eq 0
sanitized=$(find "$work/healthy" -name 'm.*' -type f -exec grep -l -i '^X-Mugai-Status:' {} + | wc -l)
check "every delivered message was sanitized ($sanitized of $count)" test "$sanitized" -eq "$count"
for q in incoming outgoing deferred held corrupt; do
  check "spool $q/ is empty at the end" test "$(files_in "$spool/$q")" -eq 0
done

echo "relay sink failures ($mode, $count messages): $passes passed, $fails failed"
[ "$fails" -eq 0 ]
