#!/usr/bin/env bash
# End to end: swaks and Postfix's smtp-source send through a real `mugai relay` process to
# Postfix's smtp-sink (and to a maildir), all on 127.0.0.1 with free ports. Checks that the
# sanitized message arrives exactly once, that the original is kept, that foreign domains are
# refused, that 2000 messages from parallel sessions each arrive exactly once, that a refusing
# next hop loses nothing, `mugai queue`, kill -9, client networks (config and flag), SIGHUP
# reloads and connection reuse to the next hop. A next hop failing 2000 messages at a time:
# relay_sink_failures_test.sh.
# Synchronisation is by events, not time: the relay prints its port when ready, SIGTERM makes
# it drain (sanitize and deliver everything accepted) and exit, and `wait` waits for that.
# Usage: relay_e2e_test.sh MUGAI_BINARY
set -uo pipefail
MUGAI=$1
for tool in swaks smtp-source smtp-sink python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
# shellcheck source=relay_lib.sh
. "$(dirname "$0")/relay_lib.sh"

# --- 1. One hostile message via swaks arrives once, sanitized; the original is kept. ----------
sink_port=$(free_port)
start_sink "$work/sink1" "$sink_port"
start_relay --next-hop "smtp://127.0.0.1:$sink_port" --spool "$work/spool1" \
  --accept-domain city.example.lg.jp

# A multipart message: an HTML body with a script, and an executable attachment.
write_hostile "$work/hostile.eml" staff@city.example.lg.jp "<e2e-one@outside.test>"
swaks --server "127.0.0.1:$relay_port" --from sender@outside.test --to staff@city.example.lg.jp \
  --data "@$work/hostile.eml" >"$work/swaks1.out" 2>&1
check "swaks got 250 queued" grep -q "<-  250 2.0.0 Ok: queued as" "$work/swaks1.out"

# Not an open relay: a foreign recipient is refused with 550 5.7.1.
swaks --server "127.0.0.1:$relay_port" --from a@outside.test --to victim@elsewhere.test \
  --quit-after RCPT >"$work/swaks2.out" 2>&1
check "foreign recipient refused with 550 5.7.1" grep -q "<\*\* 550 5.7.1" "$work/swaks2.out"

# A message smuggled with <LF>.<CRLF> is refused, never split into two.
python3 - "$relay_port" >"$work/smuggle.out" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
def reply():
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    return line.decode().strip()
print(reply())
for cmd in [b"EHLO c\r\n", b"MAIL FROM:<a@outside.test>\r\n",
            b"RCPT TO:<staff@city.example.lg.jp>\r\n", b"DATA\r\n"]:
    s.sendall(cmd); print(reply())
s.sendall(b"Subject: a\r\n\r\nx\n.\r\nMAIL FROM:<evil@outside.test>\r\n"
          b"RCPT TO:<staff@city.example.lg.jp>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\n")
print(reply())
s.sendall(b"QUIT\r\n"); print(reply())
PY
check "smuggled message refused with 550 5.5.2" grep -q "^550 5.5.2" "$work/smuggle.out"

stop_relay
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
dumps=$(grep -l -i "^Message-ID: <e2e-one@outside.test>" "$work"/sink1/m.* 2>/dev/null | wc -l)
check "the sanitized message arrived exactly once (found $dumps)" test "$dumps" -eq 1
check "nothing else arrived (no smuggled message)" test "$(ls "$work"/sink1 | wc -l)" -eq 1
dump=$(ls "$work"/sink1/m.* 2>/dev/null | head -1)
check "it carries X-Mugai-Status" grep -q -i "^X-Mugai-Status:" "$dump"
# Decode every part: the text survives, the script and the executable do not.
decode_parts "$dump" >"$work/parts.out" 2>&1
check "the text survives" grep -q "Please pay" "$work/parts.out"
check "the script is gone" bash -c "! grep -q -i 'alert(1)' '$work/parts.out'"
check "the executable is gone" bash -c "! grep -q 'PART .* attach.exe' '$work/parts.out' && ! grep -q 'not really a program' '$work/parts.out'"
check "the notice names the executable" grep -q "attach.exe" "$work/parts.out"
check "the envelope recipient is kept" grep -q "X-Rcpt-Args: <staff@city.example.lg.jp>" "$dump"
check "one original kept" test "$(ls "$work"/spool1/originals | wc -l)" -eq 1
original=$(ls "$work"/spool1/originals)
check "the notice names the original ID" grep -q "${original%.eml}" "$dump"
check "the original still has the script" grep -q "<script>" "$work/spool1/originals/$original"
for q in incoming outgoing deferred held tmp; do
  check "spool $q/ is empty after the drain" test -z "$(ls -A "$work/spool1/$q")"
done

# --- 2. smtp-source: 2000 messages over 10 parallel sessions, each at the sink exactly once;
# then 300 more to a sink that hangs up without answering QUIT (-q QUIT): a message whose final
# dot got its 250 is delivered, so each still arrives exactly once and nothing is retried. ----
source_run() {  # name count sink-options...: smtp-source -> relay -> smtp-sink, then counts
  local name=$1 count=$2; shift 2
  sink_port=$(free_port)
  start_sink "$work/sink-$name" "$sink_port" "$@"
  start_relay --next-hop "smtp://127.0.0.1:$sink_port" --spool "$work/spool-$name" \
    --accept-domain example.jp
  smtp-source -m "$count" -s 10 -f a@outside.test -t u@example.jp -M client.test \
    "127.0.0.1:$relay_port" >"$work/source-$name.out" 2>&1
  check "$name: smtp-source finished without error: $(head -c 300 "$work/source-$name.out")" \
    test ! -s "$work/source-$name.out"
  stop_relay
  kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
  grep -h -i "^Message-ID:" "$work/sink-$name"/m.* 2>/dev/null | sort >"$work/ids-$name"
  local total unique
  total=$(wc -l <"$work/ids-$name")
  unique=$(sort -u "$work/ids-$name" | wc -l)
  check "$name: $count messages at the sink (found $total)" test "$total" -eq "$count"
  check "$name: every Message-ID exactly once ($unique unique of $total)" test "$unique" -eq "$total"
  for q in incoming outgoing deferred held corrupt; do
    check "$name: spool $q/ is empty after the drain" test -z "$(ls -A "$work/spool-$name/$q")"
  done
}
source_run load 2000
check "the relay logged 2000 queued" test "$(grep -c "queued id=" "$work/relay.log")" -ge 2001
source_run quitfail 300 -q QUIT
check "a lost QUIT reply is not a delivery failure" \
  bash -c "! grep -q 'result=deferred' '$work/relay.log'"

# --- 3. Maildir next hop, restart on the same spool. ------------------------------------------
start_relay --next-hop "maildir:$work/maildir" --spool "$work/spool-load" \
  --accept-domain example.jp
swaks --server "127.0.0.1:$relay_port" --from a@outside.test --to u@example.jp \
  --header "Message-Id: <e2e-maildir@outside.test>" >"$work/swaks3.out" 2>&1
check "swaks via maildir relay got 250" grep -q "<-  250 2.0.0 Ok: queued as" "$work/swaks3.out"
stop_relay
check "one message in the maildir" test "$(ls "$work/maildir/new" | wc -l)" -eq 1
check "the maildir message verifies" bash -c "\"$MUGAI\" verify \"$work/maildir/new/\"* >/dev/null"

# --- 4. The next hop refuses: 5xx recipients are held, 4xx ones deferred; nothing is lost. ----
for mode in f r; do
  sink_port=$(free_port)
  start_sink "$work/sink4$mode" "$sink_port" -$mode RCPT
  start_relay --next-hop "smtp://127.0.0.1:$sink_port" --spool "$work/spool4$mode" \
    --accept-domain example.jp
  swaks --server "127.0.0.1:$relay_port" --from a@outside.test --to u@example.jp \
    --header "Message-Id: <e2e-refused-$mode@outside.test>" >"$work/swaks4$mode.out" 2>&1
  check "swaks got 250 (sink -$mode RCPT)" grep -q "<-  250 2.0.0" "$work/swaks4$mode.out"
  stop_relay
  kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
  if [ "$mode" = f ]; then
    check "a 5xx recipient is held" test "$(ls "$work/spool4f/held" | wc -l)" -eq 1
    check "the held entry says why" grep -q "^note: permanent failure: RCPT: 5" "$work"/spool4f/held/*
    check "nothing is left to deliver" \
      test -z "$(ls -A "$work/spool4f/deferred")$(ls -A "$work/spool4f/outgoing")"
  else
    check "a 4xx recipient is deferred" test "$(ls "$work/spool4r/deferred" | wc -l)" -eq 1
    check "the deferred entry counts the attempt" grep -q "^attempts: 1" "$work"/spool4r/deferred/*
    check "nothing is held" test -z "$(ls -A "$work/spool4r/held")"
  fi
done

# --- 4c. relay.dsn = on, next hop refusing every RCPT (smtp-sink -f RCPT): the sender gets a
# DSN (RFC 3464, null sender); the sink refuses that too, and a null-sender message is never
# answered, so it is held and there is exactly one DSN. A null-sender message itself: held.
printf 'relay.dsn = on\n' >"$work/dsn.conf"
sink_port=$(free_port)
start_sink "$work/sink4dsn" "$sink_port" -f RCPT
start_relay --config "$work/dsn.conf" --next-hop "smtp://127.0.0.1:$sink_port" \
  --spool "$work/spool4dsn" --accept-domain example.jp
swaks --server "127.0.0.1:$relay_port" --from a@outside.test --to u@example.jp \
  --header "Message-Id: <e2e-dsn@outside.test>" >"$work/swaks4dsn.out" 2>&1
check "swaks got 250 (dsn on)" grep -q "<-  250 2.0.0" "$work/swaks4dsn.out"
stop_relay
start_relay --config "$work/dsn.conf" --next-hop "smtp://127.0.0.1:$sink_port" \
  --spool "$work/spool4null" --accept-domain example.jp
swaks --server "127.0.0.1:$relay_port" --from '<>' --to u@example.jp \
  --header "Message-Id: <e2e-null@outside.test>" >"$work/swaks4null.out" 2>&1
check "swaks sent the null sender" grep -q -- "-> MAIL FROM:<>" "$work/swaks4null.out"
check "swaks got 250 (null sender)" grep -q "<-  250 2.0.0" "$work/swaks4null.out"
stop_relay
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
check "exactly one DSN was made" test "$(grep -c "dsn id=" "$work/relay.log")" -eq 1
check "the DSN names the failed message" grep -q "dsn id=.* message-id=<e2e-dsn@outside.test> to=<a@outside.test> rcpts=1" "$work/relay.log"
check "one entry held after the DSN" test "$(ls "$work/spool4dsn/held" | wc -l)" -eq 1
dsn_file=$(ls "$work"/spool4dsn/held/* | head -1)
check "the held entry is the DSN (null sender, to the sender)" bash -c \
  "grep -qx 'from: ' '$dsn_file' && grep -qx 'to: a@outside.test' '$dsn_file'"
check "the DSN was held, not answered" grep -q "^note: .*(null sender: no DSN)" "$dsn_file"
python3 - "$dsn_file" >"$work/dsn.out" 2>&1 <<'PY'
import email, sys
from email import policy
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw[raw.index(b"\n\n") + 2:], policy=policy.default)
print("TYPE", msg.get_content_type(), msg.get_param("report-type"))
parts = list(msg.iter_parts())
print("PARTS", " ".join(p.get_content_type() for p in parts))
status = parts[1]
for block in status.get_payload():
    for k in ("Final-Recipient", "Action", "Status", "Diagnostic-Code", "Reporting-MTA"):
        if block.get(k):
            print(k, "=", block.get(k))
PY
check "the DSN is a multipart/report of type delivery-status" \
  grep -q "^TYPE multipart/report delivery-status" "$work/dsn.out"
check "its parts: text, delivery-status, the original's header" \
  grep -q "^PARTS text/plain message/delivery-status text/rfc822-headers$" "$work/dsn.out"
check "it reports the failed recipient" grep -q "^Final-Recipient = rfc822; u@example.jp" \
  "$work/dsn.out"
check "with a permanent status" grep -q "^Status = 5\.[0-9]*\.[0-9]*$" "$work/dsn.out"
check "and the sink's reply" grep -q "^Diagnostic-Code = smtp; 5" "$work/dsn.out"
check "the null-sender message is held" test "$(ls "$work/spool4null/held" | wc -l)" -eq 1
check "without a DSN" grep -q "^note: .*(null sender: no DSN)" "$work"/spool4null/held/*

# --- 4b. mugai queue: list, show and delete the held one; flush the deferred one. -----------
check "queue list shows the held message" bash -c \
  "\"$MUGAI\" queue --spool '$work/spool4f' list | grep -q '^[0-9A-F]\{20\} held .*to=<u@example.jp> note=\"permanent failure: RCPT: 5'"
held_id=$(ls "$work/spool4f/held")
"$MUGAI" queue --spool "$work/spool4f" show "$held_id" >"$work/show.out"
check "queue show prints the queue file" grep -qi "^Message-Id: <e2e-refused-f@outside.test>" \
  "$work/show.out"
check "queue delete removes it" bash -c "\"$MUGAI\" queue --spool '$work/spool4f' delete $held_id | grep -q '^deleted $held_id from held/'"
check "the spool no longer has it" test -z "$(ls -A "$work/spool4f/held")"
check "a second delete fails" bash -c "! \"$MUGAI\" queue --spool '$work/spool4f' delete $held_id 2>/dev/null"
check "a path is not a queue ID" bash -c "! \"$MUGAI\" queue --spool '$work/spool4f' show ../lock 2>/dev/null"
# Flush with no relay running: the deferred message becomes due at the next start.
cp -a "$work/spool4r" "$work/spool4r-offline"
check "offline flush" bash -c "\"$MUGAI\" queue --spool '$work/spool4r-offline' flush | grep -q 'no relay running; 1 deferred'"
check "offline flush makes the message due now" grep -q "^next: 0$" "$work"/spool4r-offline/deferred/*
# Flush of a running relay: the deferred message (next retry a minute away) is delivered now.
check "queue list shows a retry time" bash -c \
  "\"$MUGAI\" queue --spool '$work/spool4r' list | grep -q ' deferred .* attempts=1 next=20'"
sink_port=$(free_port)
start_sink "$work/sink4flush" "$sink_port"
start_relay --next-hop "smtp://127.0.0.1:$sink_port" --spool "$work/spool4r" \
  --accept-domain example.jp
check "a second relay on the same spool is refused" bash -c \
  "! timeout 60 \"$MUGAI\" relay --listen 127.0.0.1:0 --spool '$work/spool4r' --accept-domain example.jp \
   >/dev/null 2>'$work/second.err' && grep -q 'in use by process $relay_pid' '$work/second.err'"
check "queue flush signals the relay" bash -c \
  "\"$MUGAI\" queue --spool '$work/spool4r' flush | grep -q 'process $relay_pid'"
said=$(relay_says)
check "the relay queued the deferred message for delivery ('$said')" \
  test "$said" = "mugai relay: flush: 1 queued for delivery, 0 released for sanitizing"
stop_relay
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
check "the flushed message arrived once" \
  test "$(grep -l -i "^Message-ID: <e2e-refused-r@outside.test>" "$work"/sink4flush/m.* | wc -l)" -eq 1
check "nothing deferred is left" test -z "$(ls -A "$work/spool4r/deferred")"
check "queue list counts zero" bash -c \
  "\"$MUGAI\" queue --spool '$work/spool4r' list | grep -qx '0 message(s)'"

# --- 5. kill -9 under load, restart on the same spool: every acknowledged message arrives. ---
sink_port=$(free_port)
start_sink "$work/sink5" "$sink_port"
start_relay --next-hop "smtp://127.0.0.1:$sink_port" --spool "$work/spool5" \
  --accept-domain example.jp
# Four clients send until the relay dies; the relay is killed right after the 80th 250, by the
# client that received it. Every Message-ID that got a 250 is written to acked.txt.
python3 - "$relay_port" "$relay_pid" "$work/acked.txt" >"$work/crash.out" 2>&1 <<'PY'
import os, signal, socket, sys, threading
port, pid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
acked, lock, killed = [], threading.Lock(), threading.Event()

def reply(f):
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    if len(line) < 3:
        raise ConnectionError("closed")
    return line

def client(n):
    i = 0
    while not killed.is_set():
        i += 1
        mid = "<crash-%d-%d@outside.test>" % (n, i)
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            f = s.makefile("rb")
            reply(f)
            for cmd in ["EHLO c", "MAIL FROM:<a@outside.test>", "RCPT TO:<u@example.jp>", "DATA"]:
                s.sendall(cmd.encode() + b"\r\n")
                reply(f)
            s.sendall(("Message-Id: %s\r\nSubject: crash\r\n\r\nbody %d\r\n.\r\n" % (mid, i)).encode())
            if reply(f).startswith(b"250"):
                with lock:
                    acked.append(mid)
                    if len(acked) == 80:
                        os.kill(pid, signal.SIGKILL)
                        killed.set()
            s.close()
        except (OSError, ConnectionError):
            if killed.is_set():
                return

threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
with open(out, "w") as f:
    f.write("\n".join(acked) + "\n")
PY
wait "$relay_pid" 2>/dev/null
acked=$(grep -c . "$work/acked.txt")
check "the clients saw at least 80 acknowledgements before the kill ($acked)" test "$acked" -ge 80
start_relay --next-hop "smtp://127.0.0.1:$sink_port" --spool "$work/spool5" \
  --accept-domain example.jp
stop_relay
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
grep -h -i "^Message-ID:" "$work"/sink5/m.* | sed 's/^[^:]*: *//' | sort -u >"$work/arrived.txt"
missing=$(sort -u "$work/acked.txt" | comm -23 - "$work/arrived.txt" | grep -c .)
check "every acknowledged message arrived after kill -9 and restart ($missing missing of $acked)" \
  test "$missing" -eq 0

# --- 6. Client networks: a client outside relay.client_networks gets 554 5.7.1 at connect. ---
# Every 127.x address is this machine, so binding the client to 127.0.0.2 gives a second client.
first_reply() {  # source-address: prints the relay's first reply line to a client from there
  python3 - "$relay_port" "$1" <<'PY'
import socket, sys
s = socket.socket()
s.bind((sys.argv[2], 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
print(s.makefile("rb").readline().decode().strip())
PY
}
printf 'relay.client_networks = 127.0.0.2/32\n' >"$work/nets.conf"
start_relay --config "$work/nets.conf" --next-hop "maildir:$work/maildir6" \
  --spool "$work/spool6" --accept-domain example.jp
reply=$(first_reply 127.0.0.1)
check "a client outside the networks gets 554 5.7.1 ('$reply')" grep -q "^554 5.7.1 " <<<"$reply"
reply=$(first_reply 127.0.0.2)
check "a client inside the networks gets the greeting ('$reply')" grep -q "^220 " <<<"$reply"
check "the refusal is logged" grep -q "refused connection from 127.0.0.1: not in relay" \
  "$work/relay.log"

# --- 7. SIGHUP reloads the config for new connections; a broken config keeps the old one. ----
printf 'relay.client_networks = 127.0.0.1/32\n' >"$work/nets.conf"
kill -HUP "$relay_pid"
said=$(relay_says)
check "SIGHUP: reloaded ('$said')" test "$said" = "mugai relay: config reloaded"
reply=$(first_reply 127.0.0.1)
check "after the reload 127.0.0.1 is let in ('$reply')" grep -q "^220 " <<<"$reply"
reply=$(first_reply 127.0.0.2)
check "after the reload 127.0.0.2 is refused ('$reply')" grep -q "^554 5.7.1 " <<<"$reply"
printf 'relay.client_networks = 127.0.0.2/32\nrelay.max_recipientz = 5\n' >"$work/nets.conf"
kill -HUP "$relay_pid"
said=$(relay_says)
check "SIGHUP with a typo: not reloaded ('$said')" test "$said" = "mugai relay: config NOT reloaded"
check "the typo is logged with its line" grep -q "nets.conf:2: unknown key 'relay.max_recipientz'" \
  "$work/relay.log"
reply=$(first_reply 127.0.0.1)
check "the old config stays in force ('$reply')" grep -q "^220 " <<<"$reply"
# The flags given at start survive a reload: the accepted domain came from --accept-domain.
printf 'relay.client_networks = 127.0.0.1/32\n' >"$work/nets.conf"
kill -HUP "$relay_pid"
said=$(relay_says)
check "SIGHUP: reloaded again ('$said')" test "$said" = "mugai relay: config reloaded"
swaks --server "127.0.0.1:$relay_port" --from a@outside.test --to u@example.jp \
  --quit-after RCPT >"$work/swaks7.out" 2>&1
check "the --accept-domain flag still applies after reloads" grep -q "<-  250 2.1.5" \
  "$work/swaks7.out"
stop_relay

# --- 6b. The flag: --client-network (repeatable) replaces the default (loopback) list like
# relay.client_networks; a value with host bits set is a config error, not a silent widening.
start_relay --client-network 127.0.0.2/32 --client-network ::1 \
  --next-hop "maildir:$work/maildir6b" --spool "$work/spool6b" --accept-domain example.jp
reply=$(first_reply 127.0.0.1)
check "--client-network: a client outside gets 554 5.7.1 ('$reply')" grep -q "^554 5.7.1 " <<<"$reply"
reply=$(first_reply 127.0.0.2)
check "--client-network: a client inside gets the greeting ('$reply')" grep -q "^220 " <<<"$reply"
check "--client-network: the refusal is logged" \
  test "$(grep -c "refused connection from 127.0.0.1: not in relay" "$work/relay.log")" -ge 2
stop_relay
"$MUGAI" relay --listen 127.0.0.1:0 --client-network 127.0.0.1/8 --accept-domain example.jp \
  --spool "$work/spool6c" >/dev/null 2>"$work/badnet.err"
rc=$?
check "--client-network with host bits set: exit 2 ($rc)" test "$rc" -eq 2
check "--client-network with host bits set: says why" \
  grep -q "config error: --client-network must be ADDRESS/BITS" "$work/badnet.err"

# --- 8. Connection reuse: five messages to one next hop over one SMTP session, RSET between.
# A scripted next hop records each connection and command. One delivery thread and an idle
# limit far above the test's duration make the count exact: the connection closes (QUIT) only
# at the drain.
start_scripted_hop record "$work/events"
printf 'relay.delivery_threads = 1\nrelay.connection_idle_s = 3600\n' >"$work/reuse.conf"
start_relay --config "$work/reuse.conf" --next-hop "smtp://127.0.0.1:$hop_port" \
  --spool "$work/spool8" --accept-domain example.jp
for i in 1 2 3 4 5; do
  swaks --server "127.0.0.1:$relay_port" --from a@outside.test --to u@example.jp \
    --header "Message-Id: <e2e-reuse-$i@outside.test>" >"$work/swaks8-$i.out" 2>&1
  check "reuse: message $i got 250" grep -q "<-  250 2.0.0 Ok: queued as" "$work/swaks8-$i.out"
done
stop_relay  # the drain delivers everything, then the delivery thread says QUIT
kill "$hop_pid"; wait "$hop_pid" 2>/dev/null
count() { grep -c "^$1" "$work/events"; }
check "reuse: five messages arrived ($(count message))" test "$(count message)" -eq 5
check "reuse: each once" test "$(grep "^message" "$work/events" | sort -u | wc -l)" -eq 5
check "reuse: over one connection ($(count connect))" test "$(count connect)" -eq 1
check "reuse: one EHLO ($(count EHLO))" test "$(count EHLO)" -eq 1
check "reuse: RSET between the messages ($(count RSET))" test "$(count RSET)" -eq 4
check "reuse: one QUIT, at the drain ($(count QUIT))" test "$(count QUIT)" -eq 1

echo "relay e2e: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
