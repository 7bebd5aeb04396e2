# Shared by the relay's end-to-end scripts (sourced, not run): a work folder removed at exit,
# pass/fail counting, free ports, smtp-sink and `mugai relay` started and stopped by PID.
# Synchronisation is by events, not time: the relay prints its port when ready and reports
# SIGHUP/SIGUSR1 outcomes on stdout, SIGTERM makes it drain and exit, and `wait` waits for that.
# The caller sets MUGAI (the binary) before sourcing.
work=$(mktemp -d)
chmod 755 "$work"
pids=()
# Commands run at exit before the processes are killed (e.g. stopping a private Postfix).
on_exit=()
cleanup() {
  local c
  for c in "${on_exit[@]}"; do eval "$c"; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP_WORK:-}" ] && trap - EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() {  # description command...
  local what=$1; shift
  if "$@"; then ok; else fail "$what"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until something accepts connections on the port (a readiness probe with a deadline:
# smtp-sink has no other way to say it is listening).
wait_listening() {
  local i
  for i in $(seq 1 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# smtp-sink: one dump file per transaction under $1.
start_sink() {  # dir port [extra smtp-sink options]
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir" && chmod 777 "$dir"
  local user=()
  [ "$(id -u)" -eq 0 ] && user=(-u nobody)
  smtp-sink "${user[@]}" "$@" -d "$dir/m." "127.0.0.1:$port" 256 2>"$dir.log" &
  sink_pid=$!
  pids+=("$sink_pid")
  wait_listening "$port" || { echo "smtp-sink did not start: $(cat "$dir.log")"; exit 1; }
}

# Starts the relay with the given arguments and sets relay_pid and relay_port from the line it
# prints when ready.
start_relay() {
  rm -f "$work/relay.out"
  mkfifo "$work/relay.out"
  "$MUGAI" relay --listen 127.0.0.1:0 --hostname mugai.test "$@" >"$work/relay.out" \
    2>>"$work/relay.log" &
  relay_pid=$!
  pids+=("$relay_pid")
  local line=""
  # Kept open until stop_relay: the relay also reports the outcome of SIGHUP and SIGUSR1 there.
  exec 3<"$work/relay.out"
  read -r -t 60 line <&3
  relay_port=$(sed -n 's/^mugai relay: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' <<<"$line")
  if [ -z "$relay_port" ]; then
    echo "relay did not start: '$line'"; cat "$work/relay.log"; exit 1
  fi
}

# The relay's next line on stdout (the event a signal's work is done), or "" after 60 s.
relay_says() {
  local line=""
  read -r -t 60 line <&3
  echo "$line"
}

# SIGTERM: the relay drains and exits 0.
stop_relay() {
  kill -TERM "$relay_pid"
  wait "$relay_pid"
  local rc=$?
  exec 3<&-
  check "relay exits 0 after SIGTERM (exit $rc)" test "$rc" -eq 0
}

# Waits until a command succeeds, checking every 0.1 s, for at most 60 s: for events no peer
# announces (a Postfix queue running empty). Never a fixed delay.
wait_until() {  # command...
  wait_until_for 60 "$@"
}

# The same with another deadline in seconds (a count of thousands of messages to reach).
wait_until_for() {  # seconds command...
  local i limit=$(($1 * 10)); shift
  for i in $(seq 1 "$limit"); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# Prints every leaf part of a message file, decoded: "PART type filename", then its text. For
# checks on what a sanitized message kept (the text) and dropped (scripts, executables).
decode_parts() {  # message-file
  python3 - "$1" <<'PY'
import email, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
for part in msg.walk():
    if part.is_multipart():
        continue
    body = part.get_payload(decode=True) or b""
    print("PART", part.get_content_type(), part.get_filename())
    print(body.decode("utf-8", "replace"))
PY
}

# A hostile message: an HTML body with a script ("Please pay" is its text) and an executable
# attachment, attach.exe (its content says "not really a program").
write_hostile() {  # file recipient message-id
  cat >"$1" <<X
From: sender@outside.test
To: $2
Subject: invoice
Message-Id: $3
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/html; charset=utf-8

<html><body><p>Please pay</p><script>alert(1)</script></body></html>
--b1
Content-Type: application/octet-stream; name="attach.exe"
Content-Disposition: attachment; filename="attach.exe"
Content-Transfer-Encoding: base64

TVogdGhpcyBpcyBub3QgcmVhbGx5IGEgcHJvZ3JhbQo=
--b1--
X
}

# Starts tests/relay/scripted_hop.py (a next hop answering as its mode says) and sets hop_port
# and hop_pid.
start_scripted_hop() {  # mode [events-file]
  rm -f "$work/hop.out"
  mkfifo "$work/hop.out"
  python3 "$(dirname "${BASH_SOURCE[0]}")/scripted_hop.py" "$@" >"$work/hop.out" \
    2>"$work/hop.err" &
  hop_pid=$!
  pids+=("$hop_pid")
  hop_port=""
  read -r -t 60 hop_port <"$work/hop.out"
  check "the scripted next hop started ($(cat "$work/hop.err"))" test -n "$hop_port"
}

# A private Postfix instance: its own config, queue and log under DIR, an smtpd on 127.0.0.1:PORT
# (no chroot), relaying DOMAIN to [127.0.0.1]:NEXT_PORT with the default disk queue and no
# filter. The system's Postfix configuration is never read or touched. Must run as root (master
# starts as root to drop to mail_owner). Stopped at exit, waiting for master to go, before the
# work folder is removed. Returns 1 (after printing the logs) when it does not start or listen.
start_private_postfix() {  # dir port next-port domain
  local dir=$1 port=$2 next=$3 domain=$4
  mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
  chmod 755 "$dir" "$dir/queue"
  chown postfix "$dir/data"
  cat >"$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = lgwan.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = $domain
relayhost = [127.0.0.1]:$next
smtp_dns_support_level = disabled
alias_maps =
alias_database =
CF
  # Only the services this flow needs, none chrooted (the queue is under a temp folder).
  cat >"$dir/etc/master.cf" <<CF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
CF
  # Postfix logs its command-line errors to syslog only unless stderr is a terminal; the file
  # maillog_file gets them once postlogd runs, so show both when the start fails.
  if ! postfix -c "$dir/etc" check >"$dir/check.log" 2>&1 ||
     ! postfix -c "$dir/etc" start >"$dir/start.log" 2>&1; then
    echo "the private Postfix did not start" >&2
    cat "$dir/check.log" "$dir/start.log" "$dir/maillog" >&2 2>/dev/null
    return 1
  fi
  on_exit+=("stop_private_postfix '$dir'")
  # `postfix start` returns once master has bound its listeners (master -w), so this succeeds
  # at once; it only bounds the wait if it did not.
  wait_listening "$port" || { echo "Postfix is not listening" >&2; cat "$dir/maillog" >&2; return 1; }
}

# Stops it; master takes a moment to exit after `postfix stop` returns.
stop_private_postfix() {  # dir
  local i
  postfix -c "$1/etc" stop >/dev/null 2>&1 || return 0
  for i in $(seq 1 100); do
    postfix -c "$1/etc" status >/dev/null 2>&1 || return 0
    sleep 0.1
  done
}

# Sends COUNT messages to the relay (relay_port), numbered 0..COUNT-1, with Message-IDs
# <PREFIX-K@outside.test>, over SESSIONS SMTP sessions (message K in session K % SESSIONS), and
# checks that every one was accepted.
send_numbered() {  # prefix count sessions
  python3 - "$relay_port" "$@" >"$work/send.out" 2>&1 <<'PY'
import smtplib, sys
port, prefix, count, sessions = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for s in range(sessions):
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=60) as c:
        for k in range(s, count, sessions):
            c.sendmail("a@outside.test", ["u@example.jp"],
                       "From: a@outside.test\r\nTo: u@example.jp\r\nSubject: %s %d\r\n"
                       "Message-ID: <%s-%d@outside.test>\r\n\r\nbody %d\r\n"
                       % (prefix, k, prefix, k, k))
PY
  check "all $2 messages accepted ($(tail -c 300 "$work/send.out"))" test ! -s "$work/send.out"
}

# Lines "delivered <Message-ID>" a scripted next hop (mixed, gated) has written to EVENTS.
delivered_in() {  # events-file
  if [ -f "$1" ]; then awk '/^delivered /{n++} END{print n+0}' "$1"; else echo 0; fi
}

# Checks that EVENTS lists each of the COUNT messages send_numbered sent exactly once.
check_delivered_once() {  # prefix count events-file
  sed -n 's/^delivered //p' "$3" | sort >"$work/got"
  local k
  for ((k = 0; k < $2; k++)); do echo "<$1-$k@outside.test>"; done | sort >"$work/want"
  check "every Message-ID delivered exactly once ($(comm -3 "$work/want" "$work/got" | head -3 | tr '\n' ' '))" \
    cmp -s "$work/want" "$work/got"
}
