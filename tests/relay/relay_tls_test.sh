#!/usr/bin/env bash
# STARTTLS end to end, all on 127.0.0.1 with free ports: swaks --tls through `mugai relay` to
# smtp-sink; a STARTTLS command injection (plaintext pipelined behind STARTTLS in one packet)
# that must never be executed; no STARTTLS without a certificate; a key that cannot be loaded
# stops the start and a reload. The certificate is a throwaway self-signed one made here, in the
# work folder removed at exit: no key is ever committed.
# Usage: relay_tls_test.sh MUGAI_BINARY
set -uo pipefail
MUGAI=$1
for tool in swaks smtp-sink openssl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
# swaks speaks TLS through Net::SSLeay.
perl -MNet::SSLeay -e 1 2>/dev/null || { echo "SKIP: swaks --tls needs Net::SSLeay"; exit 77; }
# shellcheck source=relay_lib.sh
. "$(dirname "$0")/relay_lib.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=mugai.test -keyout "$work/key.pem" -out "$work/cert.pem" >"$work/openssl.log" 2>&1 ||
  { echo "openssl could not make a certificate: $(cat "$work/openssl.log")"; exit 1; }
printf 'relay.tls_cert = %s\nrelay.tls_key = %s\n' "$work/cert.pem" "$work/key.pem" \
  >"$work/tls.conf"

sink_port=$(free_port)
start_sink "$work/sink" "$sink_port"
start_relay --config "$work/tls.conf" --next-hop "smtp://127.0.0.1:$sink_port" \
  --spool "$work/spool" --accept-domain example.jp

# --- 1. swaks --tls: STARTTLS offered, the message goes over TLS and arrives once. -----------
swaks --server "127.0.0.1:$relay_port" --tls --from a@outside.test --to u@example.jp \
  --header "Message-Id: <tls-one@outside.test>" >"$work/swaks1.out" 2>&1
check "EHLO offers STARTTLS" grep -q "^<-  250-STARTTLS" "$work/swaks1.out"
check "the handshake succeeded" grep -q "^=== TLS started" "$work/swaks1.out"
check "after TLS, EHLO no longer offers STARTTLS" \
  bash -c "! grep -q '^<~  250-STARTTLS' '$work/swaks1.out'"
check "the message got 250 over TLS" grep -q "^<~  250 2.0.0 Ok: queued as" "$work/swaks1.out"

# --- 2. STARTTLS injection: MAIL and RCPT sent in the same packet as STARTTLS. -------------
python3 - "$relay_port" >"$work/inject.out" 2>&1 <<'PY'
import socket, ssl, sys

class Replies:
    """Reads replies from a socket, keeping what came after them visible (no hidden buffer)."""
    def __init__(self, sock):
        self.sock, self.buf = sock, b""
    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(4096)
                if not data:
                    raise SystemExit("closed by the relay")
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode())
            if line[3:4] != b"-":
                return lines

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
r = Replies(s)
r.reply()
s.sendall(b"EHLO injector.test\r\n")
r.reply()
s.sendall(b"STARTTLS\r\nMAIL FROM:<evil@outside.test>\r\nRCPT TO:<u@example.jp>\r\n")
print("starttls:", r.reply()[-1])
# Replies to the injected commands would follow the 220 before any TLS record.
print("plaintext after 220:", repr(r.buf))
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # a throwaway self-signed certificate
t = ctx.wrap_socket(s, server_hostname="mugai.test")
print("tls:", t.version())
r = Replies(t)
# Had the injected MAIL been executed, this RCPT would be taken.
t.sendall(b"RCPT TO:<u@example.jp>\r\n")
print("rcpt before ehlo:", r.reply()[-1])
t.sendall(b"EHLO injector.test\r\n")
ehlo = r.reply()
print("ehlo over tls:", ehlo[-1], "STARTTLS" in " ".join(ehlo))
t.sendall(b"MAIL FROM:<good@outside.test>\r\n")
print("mail:", r.reply()[-1])
t.sendall(b"RCPT TO:<u@example.jp>\r\n")
print("rcpt:", r.reply()[-1])
t.sendall(b"DATA\r\n")
print("data:", r.reply()[-1])
t.sendall(b"Message-Id: <tls-two@outside.test>\r\nSubject: after\r\n\r\nbody\r\n.\r\n")
print("dot:", r.reply()[-1])
t.sendall(b"QUIT\r\n")
print("quit:", r.reply()[-1])
PY
check "STARTTLS answered 220 2.0.0: $(head -c 300 "$work/inject.out")" \
  grep -q "^starttls: 220 2.0.0 " "$work/inject.out"
check "no reply to the injected commands" grep -q "^plaintext after 220: b''$" "$work/inject.out"
check "the injected MAIL was not executed (RCPT gets 503)" \
  grep -q "^rcpt before ehlo: 503 " "$work/inject.out"
check "EHLO over TLS works and offers no STARTTLS" \
  grep -q "^ehlo over tls: 250 ENHANCEDSTATUSCODES False$" "$work/inject.out"
check "a message after the injection attempt is queued" \
  grep -q "^dot: 250 2.0.0 " "$work/inject.out"

stop_relay
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
for id in tls-one tls-two; do
  n=$(grep -l -i "^Message-ID: <$id@outside.test>" "$work"/sink/m.* 2>/dev/null | wc -l)
  check "$id arrived exactly once (found $n)" test "$n" -eq 1
done
check "nothing else arrived" test "$(ls "$work/sink" | wc -l)" -eq 2
check "nothing from the injected sender" bash -c "! grep -q -i 'evil@outside.test' '$work'/sink/m.*"
check "the Received field says ESMTPS (RFC 3848)" \
  bash -c "grep -l -i '^Message-ID: <tls-one@' '$work'/sink/m.* | xargs grep -q 'with ESMTPS'"
check "the relay logged the handshakes" test "$(grep -c "TLS started with 127.0.0.1" \
  "$work/relay.log")" -eq 2

# --- 3. Without a certificate STARTTLS is neither offered nor accepted. ----------------------
start_relay --next-hop "maildir:$work/maildir" --spool "$work/spool-plain" \
  --accept-domain example.jp
swaks --server "127.0.0.1:$relay_port" --tls --from a@outside.test --to u@example.jp \
  >"$work/swaks3.out" 2>&1
check "swaks --tls gets an EHLO reply" grep -q "^<-  250 ENHANCEDSTATUSCODES" "$work/swaks3.out"
check "without a certificate STARTTLS is not offered" \
  bash -c "! grep -q 'STARTTLS$' <(grep '^<-' '$work/swaks3.out')"
check "and no message went" bash -c "! grep -q 'queued as' '$work/swaks3.out'"

# --- 4. A certificate that cannot be loaded: a reload is refused, the old one stays. --------
printf 'relay.tls_cert = %s\nrelay.tls_key = %s\n' "$work/cert.pem" "$work/missing.pem" \
  >"$work/bad.conf"
stop_relay
start_relay --config "$work/tls.conf" --next-hop "maildir:$work/maildir" \
  --spool "$work/spool-reload" --accept-domain example.jp
cp "$work/bad.conf" "$work/tls.conf"
kill -HUP "$relay_pid"
said=$(relay_says)
check "SIGHUP with an unloadable key is refused ('$said')" \
  test "$said" = "mugai relay: config NOT reloaded"
check "the reason is logged" grep -q "missing.pem: cannot be loaded" "$work/relay.log"
swaks --server "127.0.0.1:$relay_port" --tls --from a@outside.test --to u@example.jp \
  >"$work/swaks4.out" 2>&1
check "the old certificate still serves STARTTLS" grep -q "^<~  250 2.0.0 Ok: queued as" \
  "$work/swaks4.out"
stop_relay
timeout 60 "$MUGAI" relay --listen 127.0.0.1:0 --config "$work/bad.conf" --spool "$work/spool-bad" \
  --accept-domain example.jp >/dev/null 2>"$work/bad.err"
rc=$?
check "a relay with an unloadable key does not start (exit $rc): $(cat "$work/bad.err")" \
  bash -c "[ $rc -eq 1 ] && grep -q 'missing.pem: cannot be loaded' '$work/bad.err'"

echo "relay tls: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
