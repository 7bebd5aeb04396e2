#!/usr/bin/env bash
# The README's first command, relay part: `build/mugai relay` with no flags, in an empty working
# folder, then the README's own swaks command (read from README.md, so the README stays true).
# The one change: a free port instead of 2525, given with --listen (which does not change the
# demo defaults). Checks the sanitized copy in mugai-data/maildir/new/, the original in
# mugai-data/spool/originals/, `mugai queue list` with no flags, and that the demo is no open
# relay. Usage: relay_readme_test.sh MUGAI_BINARY README.md
set -u
MUGAI=$(realpath "$1")
README=$(realpath "$2")
for tool in swaks python3; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
# shellcheck source=relay_lib.sh
. "$(dirname "$0")/relay_lib.sh"

# The README's first code block must run the relay with no flags, and its swaks command must
# talk to the default address.
first_cmd=$(awk '/^```sh$/ {getline; print; exit}' "$README")
check "the README's first command runs the relay with no flags ('$first_cmd')" \
  grep -q '^scripts/setup.sh && build/mugai relay  *#' <<<"$first_cmd"
# The swaks command: from its first line to the first line not ending in a backslash.
swaks_cmd=$(awk '/^swaks --server 127\.0\.0\.1:2525 / {on=1} on {print; if ($0 !~ /\\$/) exit}' \
  "$README")
check "the README has a swaks command for 127.0.0.1:2525" test -n "$swaks_cmd"
[ -n "$swaks_cmd" ] || { echo "relay readme: $passes passed, $fails failed"; exit 1; }

mkdir "$work/wd"
cd "$work/wd" || exit 1
port=$(free_port)
rm -f "$work/relay.out"
mkfifo "$work/relay.out"
"$MUGAI" relay --listen "127.0.0.1:$port" >"$work/relay.out" 2>"$work/relay.log" &
relay_pid=$!
pids+=("$relay_pid")
exec 3<"$work/relay.out"
read -r -t 60 line <&3
check "the relay started on the given port ('$line')" \
  grep -q "^mugai relay: listening on 127\.0\.0\.1:$port, next hop maildir:mugai-data/maildir, spool mugai-data/spool$" <<<"$line"
check "it says which domains it accepts" \
  grep -q "accepting mail for example.lg.jp, localhost (demo defaults)" "$work/relay.log"
check "it says where the originals are kept" \
  grep -q "originals are kept in mugai-data/spool/originals/" "$work/relay.log"
check "it says how to send a test" grep -q "swaks --server 127.0.0.1:$port --to user@example.lg.jp" \
  "$work/relay.log"

# The README's command, as written but for the port.
eval "${swaks_cmd//127.0.0.1:2525/127.0.0.1:$port}" >"$work/swaks.out" 2>&1
check "swaks got 250 for the README's test message" \
  grep -q "<-  250 2.0.0 Ok: queued as" "$work/swaks.out"
# No open relay, even in the demo: another domain is refused.
swaks --server "127.0.0.1:$port" --from someone@outside.test --to user@example.com \
  --quit-after RCPT >"$work/swaks-foreign.out" 2>&1
check "a recipient outside the demo domains gets 550 5.7.1" \
  grep -q "<\*\* 550 5.7.1" "$work/swaks-foreign.out"
kill -TERM "$relay_pid"
wait "$relay_pid"
rc=$?
check "the relay drains and exits 0 (exit $rc)" test "$rc" -eq 0
exec 3<&-

# The sanitized copy: one message in the maildir's new/, rebuilt, without the script and the
# executable, with the notice naming both the removed file and the original's ID.
shopt -s nullglob
copies=(mugai-data/maildir/new/*)
originals=(mugai-data/spool/originals/*.eml)
check "one sanitized copy in mugai-data/maildir/new/ (found ${#copies[@]})" test "${#copies[@]}" -eq 1
check "one original in mugai-data/spool/originals/ (found ${#originals[@]})" \
  test "${#originals[@]}" -eq 1
if [ "${#copies[@]}" -eq 1 ] && [ "${#originals[@]}" -eq 1 ]; then
  copy=${copies[0]}
  original=${originals[0]}
  id=$(basename "$original" .eml)
  check "the copy obeys the reconstruction rules" bash -c "\"$MUGAI\" verify '$copy' >/dev/null"
  check "the copy carries X-Mugai-Status" grep -q -i "^X-Mugai-Status:" "$copy"
  check "the copy names the original's ID $id" grep -q "X-Mugai-Original-Id: $id" "$copy"
  decode_parts "$copy" >"$work/parts.txt" 2>&1
  check "the HTML's text survives" grep -q "Hello" "$work/parts.txt"
  check "the script is gone" bash -c "! grep -q 'alert(1)' '$work/parts.txt'"
  check "the executable is gone" bash -c "! grep -q '^PART .* invoice.exe' '$work/parts.txt'"
  check "the notice names the executable" grep -q "invoice.exe" "$work/parts.txt"
  check "the notice names the original's ID" grep -q "$id" "$work/parts.txt"
  check "the original is the message as received (script included)" \
    grep -q "invoice.exe" "$original"
fi
# `mugai queue list` with no flags reads the default spool: delivered, so nothing is left.
"$MUGAI" queue list >"$work/queue.out" 2>&1
check "mugai queue list reads mugai-data/spool: $(tr '\n' ' ' <"$work/queue.out")" \
  grep -q "^0 message(s)$" "$work/queue.out"

# The demo defaults apply only with no --next-hop, --accept-domain or --config: given a next
# hop and no domain, the relay refuses to start.
"$MUGAI" relay --listen "127.0.0.1:0" --next-hop smtp://127.0.0.1:1 >/dev/null 2>"$work/nodomain.err"
rc=$?
check "--next-hop without --accept-domain: exit 2 ($rc)" test "$rc" -eq 2
check "and says why" grep -q "no accepted domain" "$work/nodomain.err"

echo "relay readme: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
